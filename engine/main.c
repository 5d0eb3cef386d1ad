/* accrue's entry point: checks the standard streams, installs the signal handlers, finds the
 * command and hands it the parsed options. The only place that decides how the program ends.
 * Exit status: 0 done; 1 failure while running (memory, writing the report or the tables);
 * 2 bad arguments, scenario or --out folder; 130 / 143 interrupted by SIGINT / SIGTERM (the
 * --out folder left as it was). The commands live in engine/cmd_*.c. Under MPI (make MPI=1,
 * engine/dist.h) every rank runs the same command and the job ends with rank 0's status. */
#include <stdio.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include "cli.h"
#include "dist.h"
#include "process.h"

static const char usage[] =
    "usage: accrue run [SCENARIO] [--trials N] [--seed S] [--threads T] [--out DIR]\n"
    "                  [--target-se X] [--quiet] [--verbose | --json]\n"
    "                  [--set KEY=VALUE]... [--like SITE]\n"
    "       accrue exact [SCENARIO] [--out DIR] [--set KEY=VALUE]...\n"
    "       accrue sweep [SCENARIO] --vary KEY=VALUES [--vary KEY=VALUES]\n"
    "                    [run's options]\n"
    "       accrue solve [SCENARIO] --for KEY --p X [--range LO:HI] [run's options]\n"
    "       accrue track SCENARIO [run's options]\n"
    "       accrue report SCENARIO... --out DIR [run's options]\n"
    "       accrue compare SCENARIO... [run's options]\n"
    "       accrue --help | --version\n"
    "\n"
    "  SCENARIO        a folder holding trial.csv and sites.csv (default: the\n"
    "                  built-in protocol-plan scenario)\n"
    "  --trials N      simulated trials (default 1000000; with --target-se, the most)\n"
    "  --seed S        random seed, 0 to 2^64-1 (default 20260718)\n"
    "  --threads T     threads (default: all cores); results do not depend on it\n"
    "  --out DIR       also write the tables into DIR (created if missing)\n"
    "  --target-se X   run until the standard error of P(success) is at most X\n"
    "  --quiet         no progress line on standard error\n"
    "  --verbose       the report's long tables and the estimators' details\n"
    "  --json          print result.json instead of the report (run)\n"
    "  --set KEY=VALUE override a value: a trial key (selfpay_consent=0.4), a site's\n"
    "                  column (new-site-1.rate=1), rate_factor=1.5 (every rate times\n"
    "                  1.5) or extra_sites=N (N copies of the --like SITE);\n"
    "                  repeatable\n"
    "  --vary KEY=V    a sweep's values: V1,V2,... or FROM:TO:STEP; two for a grid\n"
    "  --for KEY --p X the smallest (for a key that lowers P: largest) value with\n"
    "                  P >= X\n"
    "  --range LO:HI   where solve searches (default: grows from a range per key)\n"
    "  -h, --help      this text; --version the program's version\n"
    "\n"
    "run simulates; exact computes the distribution of registrations at the\n"
    "deadline without simulation; sweep and solve run the scenario at many values\n"
    "of a key on one seed; track compares the history's registrations at each\n"
    "review with the forecast; report writes the review board's bundle\n"
    "(report.html, its figures and each scenario's tables); compare puts several\n"
    "scenarios in one table.\n"
    "See man accrue, or README.md, for the scenario format and every output.\n";

/* The commands: name, what they do, how many scenarios they take. */
typedef struct command {
    const char *name;
    int (*run)(const options *o);
    size_t max_scenarios;
} command;

static const command commands[] = {
    {"run", cmd_run, 1},
    {"exact", cmd_exact, 1},
    {"sweep", cmd_sweep, 1},
    {"solve", cmd_solve, 1},
    {"track", cmd_track, 1},
    {"report", cmd_report, CLI_MAX_SCENARIOS},
    {"compare", cmd_compare, CLI_MAX_SCENARIOS},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* The command line's command, run; its exit status. */
static int run_command(int argc, char **argv)
{
    options o;
    char err[ERRLEN] = "";
    int rc;
    exact_set_stop(&process_stop);   /* a long exact computation polls the signal flag too */
    const char *name = argc > 1 ? argv[1] : "";
    const command *cmd = find_command(name);
    if (argc < 2)
        return cli_usage_error("%s", "no command given: expected run, exact, sweep, solve, track, report, compare or --help");
    if (!strcmp(name, "--version")) {
        printf("accrue %s\n", CLI_VERSION);
        rc = 0;
    } else if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        fputs(usage, stdout);
        rc = 0;
    } else if (!cmd) {
        return cli_usage_error("unknown command '%s': expected run, exact, sweep, solve, track, report, compare or --help", name);
    } else if ((rc = cli_parse_args(argc, argv, &o, cmd->max_scenarios)) != 0) {
        return rc;
    } else if (!strcmp(o.command, "--help")) {
        fputs(usage, stdout);
    } else {
        gsl_set_error_handler_off();
        rc = cmd->run(&o);
    }
    /* A report lost on the way is an error (after another error, already said, not again). */
    if (process_close_stdout(err, sizeof err) != 0 && rc == 0) {
        fprintf(stderr, "accrue: %s\n", err);
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    char err[ERRLEN] = "";
    /* Descriptors 0 to 2 are made sure of before MPI opens any of its own. */
    if (process_check_std_streams(err, sizeof err) != 0) {
        fprintf(stderr, "accrue: %s\n", err);
        return 1;
    }
    if (dist_init(&argc, &argv) != 0)
        return 1;
    process_signals_install();
    int rc = run_command(argc, argv);
    cli_forget_folders();
    return dist_finish(rc);
}
