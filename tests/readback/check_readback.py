"""The output tables and result.json read back by pandas and R, typed (DESIGN.md section 4.1).

Runs accrue's commands on shipped scenarios into a scratch folder (run with a history, a target
met before as_of, completion censored past the horizon; exact; report; compare; sweep over a
date and a number; solve for a date and a number; track), then reads every CSV file it wrote
the plain way, pandas.read_csv with parse_dates for the date columns and no converter, and
checks each column's type against the contract below: a date column is datetime64 (one value
that does not parse leaves it as text and fails), an integer column is an integer dtype, a
number column numeric, a category column holds only its values. Censored completion dates:
the date is empty exactly where its *_censored column says `before` or `after`. A column the
contract does not know, or a file it does not know, fails too, so that a new column gets a
type. result.json's tables are read into DataFrames, typed the same way, and agree with the
CSV files. Then R reads every CSV file with read.csv and as.Date against the same contract
(check_readback.R).

Usage: /usr/bin/python3 tests/readback/check_readback.py [BUILD_DIR]  (Debian's python3 with
python3-pandas; make test-readback). Exit status 0 when every check holds, 1 otherwise.
"""
import json
import os
import subprocess
import sys
import tempfile

import pandas as pd

DATE, INT, NUM, TEXT = "date", "int", "number", "text"
ANY = "as given"      # an override's value: a number, a date or a text, as typed
CENSOR = ("category", {"before", "after"})
YES_NO = ("category", {"yes", "no"})
Q7 = {q: INT for q in ("q05", "q10", "q25", "q50", "q75", "q90", "q95")}

CONTRACT = {
    "checkpoints.csv": {"date": DATE, "mean": NUM, **Q7, "mean_se": NUM,
                        "probability_target_reached": NUM},
    "fan.csv": {"date": DATE, "mean": NUM, **Q7, "mean_se": NUM, "trials": INT},
    "completion.csv": {"date": DATE, "probability_reached": NUM,
                       "probability_reached_se": NUM},
    "enrolled_at_deadline.csv": {"enrolled": INT, "probability": NUM,
                                 "probability_at_least": NUM, "probability_se": NUM,
                                 "probability_plain": NUM},
    "quantiles.csv": {"quantile": NUM, "enrolled_at_deadline": INT, "completion_date": DATE,
                      "completion_censored": CENSOR, "completion_date_low": DATE,
                      "completion_date_high": DATE},
    "sites.csv": {"site": TEXT, "mean_registered": NUM, "probability_none": NUM,
                  "mean_registered_se": NUM, "probability_none_se": NUM},
    "posterior.csv": {"parameter": TEXT, "prior": TEXT, "data": TEXT, "posterior_mean": NUM,
                      "posterior_low": NUM, "posterior_high": NUM, "posterior": TEXT},
    "compare.csv": {"scenario": TEXT, "folder": TEXT, "p_success": NUM, "p_success_se": NUM,
                    "p_success_exact": NUM, "mean_enrolled": NUM, "q10": INT, "q50": INT,
                    "q90": INT, "completion_median": DATE, "completion_censored": CENSOR},
    "sweep.csv": {"p_success": NUM, "p_success_se": NUM, "mean_enrolled": NUM,
                  "completion_median": DATE, "completion_censored": CENSOR,
                  "p_success_exact": NUM},
    "solve.csv": {"key": TEXT, "p": NUM, "p_at_value": NUM, "p_at_value_se": NUM,
                  "status": ("category", {"found", "out_of_reach"}), "exact": YES_NO},
    "track.csv": {"date": DATE, "observed": INT, "q10": INT, "q50": INT, "q90": INT,
                  "p_at_most_observed": NUM, "p_at_most_observed_se": NUM,
                  "verdict": ("category", {"behind plan", "on track", "ahead of plan"}),
                  "exact": YES_NO},
    "overrides.csv": {"option": ("category", {"set", "like"}), "key": TEXT, "value": ANY},
}
# Columns a file may lack: exact's distribution has no standard error and no plain fraction.
OPTIONAL = {"enrolled_at_deadline.csv": {"probability_se", "probability_plain"}}
# Where a date is empty exactly when the censoring column says why.
CENSORED = {"quantiles.csv": ("completion_date", "completion_censored"),
            "compare.csv": ("completion_median", "completion_censored"),
            "sweep.csv": ("completion_median", "completion_censored")}
# Keys whose values are dates (a sweep's varied column, solve's value columns).
DATE_KEYS = {"as_of", "deadline", "selfpay_from", "history_from", "active_from"}
# summary.csv, key by key.
SUMMARY = {"scenario": TEXT, "method": TEXT, "trials": INT, "seed": INT, "version": TEXT,
           "source": TEXT, "overrides": TEXT, "as_of": DATE, "target": INT, "enrolled": INT,
           "deadline": DATE, "completion_median": DATE,
           "completion_median_censored": CENSOR}

failures = []
contract_rows = []    # (file, column, kind, censoring column) of every CSV column checked, for R


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def contract_of(name, header):
    """The contract of a file, with the columns that depend on the run (a sweep's keys,
    solve's values) typed from what they hold."""
    c = dict(CONTRACT.get(name, {}))
    if name == "sweep.csv":
        for col in header[:header.index("p_success")]:
            key = col.split(".")[-1]
            c[col] = DATE if key in DATE_KEYS else NUM
    return c


def check_type(where, series, kind):
    if kind == ANY:
        ok = True
    elif kind == DATE:
        ok = pd.api.types.is_datetime64_any_dtype(series)
    elif kind == INT:
        ok = pd.api.types.is_integer_dtype(series)
    elif kind == NUM:
        ok = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    elif kind == TEXT:
        ok = series.dropna().map(lambda v: isinstance(v, str)).all() or series.isna().all()
    else:
        allowed = kind[1]
        ok = set(series.dropna().unique()) <= allowed
    if not ok:
        fail("%s: read as %s, expected %s (values %s)" %
             (where, series.dtype, kind if isinstance(kind, str) else sorted(kind[1]),
              list(series.head(3))))
    return ok


def read_table(path):
    name = os.path.basename(path)
    header = pd.read_csv(path, nrows=0).columns.tolist()
    contract = contract_of(name, header)
    if name == "solve.csv":
        key = pd.read_csv(path, usecols=["key"])["key"].iloc[0]
        for col in ("value", "value_low", "value_high"):
            contract[col] = DATE if key in DATE_KEYS else NUM
    if not contract:
        fail("%s: no contract for this file" % path)
        return None
    dates = [c for c in header if contract.get(c) == DATE]
    df = pd.read_csv(path, parse_dates=dates)
    censor_of = dict([CENSORED[name]]) if name in CENSORED else {}
    for col in header:
        if col not in contract:
            fail("%s: column %s has no type in the contract" % (path, col))
            continue
        check_type("%s column %s" % (path, col), df[col], contract[col])
        kind = contract[col] if isinstance(contract[col], str) else "category"
        contract_rows.append((path, col, kind, censor_of.get(col, "")))
    for col in contract:
        if col not in header and col not in OPTIONAL.get(name, ()):
            fail("%s: column %s missing" % (path, col))
    if name in CENSORED:
        date, why = CENSORED[name]
        empty, said = df[date].isna(), df[why].notna()
        if not (empty == said).all():
            fail("%s: %s empty where %s is not given, or the reverse" % (path, date, why))
        if name == "quantiles.csv":
            for col in ("completion_date_low", "completion_date_high"):
                if not df.loc[said, col].isna().all():
                    fail("%s: %s given for a censored quantile" % (path, col))
    return df


def check_summary(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if df.columns.tolist() != ["key", "value"]:
        fail("%s: columns %s" % (path, df.columns.tolist()))
        return {}
    values = dict(zip(df["key"], df["value"]))
    for key, value in values.items():
        kind = SUMMARY.get(key, NUM)
        where = "%s key %s" % (path, key)
        if value == "" and kind in (DATE, TEXT, CENSOR):
            continue
        if kind == DATE:
            if pd.isna(pd.to_datetime(value, format="%Y-%m-%d", errors="coerce")):
                fail("%s: %r is not a date" % (where, value))
        elif kind == INT:
            if not value.isdigit():
                fail("%s: %r is not a whole number" % (where, value))
        elif kind == NUM:
            if pd.isna(pd.to_numeric(value, errors="coerce")):
                fail("%s: %r is not a number" % (where, value))
        elif kind == CENSOR and value not in CENSOR[1]:
            fail("%s: %r" % (where, value))
    if "completion_median" in values and \
            (values["completion_median"] == "") != (values.get("completion_median_censored", "") != ""):
        fail("%s: completion_median empty without its censoring, or the reverse" % path)
    return values


def check_json(folder, tables, summary):
    """result.json's tables as DataFrames: typed like the CSV files, and the same numbers."""
    path = os.path.join(folder, "result.json")
    with open(path) as f:
        doc = json.load(f)
    res = doc["results"]
    for name, key in (("quantiles.csv", "quantiles"), ("checkpoints.csv", "checkpoints"),
                      ("fan.csv", "fan"), ("completion.csv", "completion"),
                      ("enrolled_at_deadline.csv", "enrolled_at_deadline")):
        df = pd.DataFrame(res[key])
        if "date" in df:
            try:
                df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="raise")
            except (ValueError, TypeError) as e:
                fail("%s %s: dates do not parse: %s" % (path, key, e))
                continue
        for col in df.columns:
            kind = {"date": DATE, "censored": CENSOR, "enrolled": INT,
                    "enrolled_at_deadline": INT, "trials": INT,
                    **Q7}.get(col, NUM)
            check_type("%s %s.%s" % (path, key, col), df[col], kind)
        csv = tables[name]
        # The same rows and numbers as the CSV file (which prints 6 significant digits).
        pairs = {"quantiles": [("enrolled_at_deadline", "enrolled_at_deadline"),
                               ("date", "completion_date")],
                 "checkpoints": [("date", "date"), ("mean", "mean"), ("q50", "q50")],
                 "fan": [("date", "date"), ("mean", "mean"), ("q05", "q05"), ("q95", "q95"),
                         ("trials", "trials")],
                 "completion": [("date", "date"), ("probability_reached", "probability_reached")],
                 "enrolled_at_deadline": [("enrolled", "enrolled"),
                                          ("probability", "probability")]}[key]
        if len(df) != len(csv):
            fail("%s %s: %d rows, the CSV %d" % (path, key, len(df), len(csv)))
            continue
        for j, c in pairs:
            a, b = df[j], csv[c]
            if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
                same = ((a - b).abs() <= 5e-6 * b.abs().clip(lower=1e-300)) | (a == b)
            else:
                same = (a == b) | (a.isna() & b.isna())
            if not same.all():
                fail("%s %s.%s differs from %s %s" % (path, key, j, name, c))
    p = res["p_success"]["estimate"]
    if abs(p - float(summary["p_success"])) > 5e-6 * max(p, 1e-300):
        fail("%s: p_success %r against summary.csv's %s" % (path, p, summary["p_success"]))
    if doc["settings"]["trials"] != int(summary["trials"]):
        fail("%s: settings.trials differs from summary.csv" % path)
    for d in ("as_of", "deadline"):
        pd.to_datetime(doc["inputs"][d], format="%Y-%m-%d", errors="raise")


def run(bin_, out, *args):
    subprocess.run([bin_, *args, "--out", out], check=True, stdout=subprocess.DEVNULL)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    bin_ = os.path.abspath(os.path.join(build, "accrue"))
    quick = ["--trials", "20000", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="accrue-readback-") as tmp:
        o = lambda name: os.path.join(tmp, name)
        run(bin_, o("history"), "run", "scenarios/seed-history", *quick)
        run(bin_, o("before"), "run", "scenarios/protocol-plan", "--set", "enrolled=12",
            "--set", "selfpay_consent=0.5", *quick)
        run(bin_, o("after"), "run", "scenarios/historical-pace", "--set", "horizon_years=0",
            *quick)
        run(bin_, o("exact"), "exact", "scenarios/self-pay")
        run(bin_, o("report"), "report", "scenarios/protocol-plan", "scenarios/self-pay", *quick)
        run(bin_, o("compare"), "compare", "scenarios/protocol-plan",
            "scenarios/historical-pace", *quick)
        run(bin_, o("sweep"), "sweep", "scenarios/self-pay", "--vary",
            "deadline=2029-07-18,2030-07-18", "--vary", "selfpay_consent=0.2,0.6", *quick)
        run(bin_, o("solve-date"), "solve", "scenarios/self-pay", "--for", "deadline",
            "--p", "0.5", *quick)
        run(bin_, o("solve-number"), "solve", "scenarios/self-pay", "--for",
            "selfpay_consent", "--p", "0.3", *quick)
        run(bin_, o("track"), "track", "scenarios/seed-history-tracked", *quick)
        n_files = 0
        censored_seen = set()
        for root, _, files in sorted(os.walk(tmp)):
            tables = {}
            for name in sorted(files):
                path = os.path.join(root, name)
                if name.endswith(".csv") and os.path.basename(root) == "inputs" \
                        and name != "overrides.csv":
                    continue            # copies of the scenario files, not outputs
                if name == "summary.csv":
                    summary = check_summary(path)
                    n_files += 1
                elif name.endswith(".csv"):
                    df = read_table(path)
                    n_files += 1
                    if df is not None:
                        tables[name] = df
                        for col in ("completion_censored",):
                            if col in df:
                                censored_seen |= set(df[col].dropna())
            if "result.json" in files:
                check_json(root, tables, summary)
                n_files += 1
        # The runs above were chosen to show both kinds of censoring: a test of the handling
        # that saw neither would prove nothing.
        if censored_seen != {"before", "after"}:
            fail("censored completion dates seen: %s (expected before and after)" %
                 sorted(censored_seen))
        # The same files by R's read.csv and as.Date.
        with open(os.path.join(tmp, "contract.tsv"), "w") as f:
            for row in contract_rows:
                f.write("\t".join(row) + "\n")
        r = subprocess.run(["Rscript", os.path.join(os.path.dirname(__file__),
                                                     "check_readback.R"),
                            os.path.join(tmp, "contract.tsv")])
        if r.returncode != 0:
            fail("R's read.csv: see above")
    print("readback: %d files read by pandas %s, %d failed checks" %
          (n_files, pd.__version__, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
