# accrue: a Monte Carlo accrual forecasting engine.
#   make            build build/accrue (installs missing libraries with apt-get first)
#   make run        build and run the built-in default forecast
#   make test       build and run every test program (tests/test_*.c)
#   make test SAN=1 the same under AddressSanitizer and UndefinedBehaviorSanitizer (build/san/)
#   make test-browser  accrue report checked in headless Chromium (installs Debian's chromium)
#   make test-man   the manual page against --help, and make install / uninstall
#   make test-readback  the output tables and result.json read back by pandas and R, typed
#   make install    the program, man page and shipped scenarios under PREFIX; make uninstall
#   make validate   the full statistical validation (under a minute)
#   make bench      the benchmark (bench/); make bench-short, its one-minute version for CI
#   make fuzz       libFuzzer on the scenario loader and model (clang; FUZZ_SECONDS=60)
#   make deps       only install the missing Debian packages (apt-get)
#   make MPI=1      the same program for clusters, built with mpicc against Open MPI into
#                   build-mpi/ (make deps MPI=1 installs libopenmpi-dev and openmpi-bin);
#                   make test-mpi checks that mpirun -n 1, 2 and 3 write byte-identical files
# Variables are overridable: make CC=clang OPT=-O2 PREFIX=$$HOME/.local install

CC      ?= cc
# -O3: the bench's reference run took 7 % less CPU time than with -O2 (2e6 trials, medians of
# 5 interleaved runs, 0.432 against 0.463 s), with byte-identical outputs.
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?= 0
MPI     ?= 0

CSTD     = -std=c11 -D_POSIX_C_SOURCE=200809L
WARN     = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef
OPENMP   = -fopenmp
LIBS     = -ljansson -lcsv -lgsl -lgslcblas -lm
TESTLIBS = -lcmocka

# Debian packages this project needs; `make deps` installs the missing ones with apt-get.
DEB_PKGS = libgsl-dev libcsv-dev libcmocka-dev libjansson-dev
DEB_HDRS = /usr/include/gsl/gsl_rng.h /usr/include/csv.h /usr/include/cmocka.h \
           /usr/include/jansson.h

ifeq ($(SAN),1)
BUILD    = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD    = build
SANFLAGS =
endif

# MPI=1: the same program, one rank of an MPI job (engine/dist_mpi.c instead of engine/dist.c),
# compiled by Open MPI's mpicc into a build folder of its own, so the default build is untouched.
ifeq ($(MPI),1)
BUILD    := build-mpi$(patsubst build%,%,$(BUILD))
CC       = mpicc
DEB_PKGS += libopenmpi-dev openmpi-bin
DEB_HDRS += /usr/bin/mpicc /usr/bin/mpirun
DIST_SRC = engine/dist.c
else
DIST_SRC = engine/dist_mpi.c
endif

ALL_CFLAGS  = $(CSTD) $(WARN) $(OPENMP) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(OPENMP) $(SANFLAGS) $(LDFLAGS)

LIB_SRC  = $(filter-out engine/main.c $(DIST_SRC),$(wildcard engine/*.c models/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/default_scenario.o
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
DEFAULT_SCENARIO = scenarios/protocol-plan

.PHONY: all deps deps-mpi deps-browser deps-check run test test-browser test-mpi test-man \
        test-readback check clean install uninstall
all: $(BUILD)/accrue

# Installs the libraries when a header is missing (needs root or sudo; Debian or Ubuntu).
deps:
	@missing=0; for h in $(DEB_HDRS); do [ -f $$h ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "accrue: installing $(DEB_PKGS) with apt-get"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(DEB_PKGS); \
	fi

# Open MPI for the MPI build (the same as make deps MPI=1).
deps-mpi:
	@$(MAKE) --no-print-directory deps MPI=1

# Headless Chromium for the report's browser test (make test-browser): Debian's chromium.
deps-browser:
	@if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
	  echo "accrue: installing chromium with apt-get (for the browser test)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	fi

$(BUILD)/accrue: $(BUILD)/engine/main.o $(BUILD)/libaccrue.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libaccrue.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The built-in default scenario is the protocol-plan folder, compiled in as two byte arrays,
# so that its numbers live in the scenario files and nowhere in code.
$(BUILD)/gen/default_scenario.c: $(DEFAULT_SCENARIO)/trial.csv $(DEFAULT_SCENARIO)/sites.csv engine/embed.sh
	@mkdir -p $(@D)
	sh engine/embed.sh $(DEFAULT_SCENARIO) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/default_scenario.o: $(BUILD)/gen/default_scenario.c | deps
	$(CC) $(CSTD) $(SANFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libaccrue.a $(BUILD)/accrue | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DACCRUE_BIN='"$(BUILD)/accrue"' -o $@ $< $(BUILD)/libaccrue.a \
	  $(ALL_LDFLAGS) $(TESTLIBS) $(LIBS)

run: $(BUILD)/accrue
	./$(BUILD)/accrue run

# Every test program runs, even after a failure; the exit status says whether all passed.
test: $(TEST_BIN)
	@failed=0; for t in $(TEST_BIN); do \
	  echo "== $$t"; ./$$t || failed=$$((failed + 1)); \
	done; \
	echo "programs: $$(( $(words $(TEST_BIN)) - failed )) passed, $$failed failed"; [ $$failed = 0 ]

check: test

# The review board's report in a real browser (headless Chromium; installs it when missing).
test-browser: $(BUILD)/accrue deps-browser
	sh tests/browser/check_report.sh $(BUILD)

# The MPI build against the plain one (tests/mpi/check.sh): mpirun -n 1, 2 and 3 write the same
# bytes as build/accrue on every shipped scenario and a sweep, and an interrupted job leaves
# nothing behind.
test-mpi: deps-mpi
	@$(MAKE) --no-print-directory build/accrue
	@$(MAKE) --no-print-directory MPI=1 build-mpi/accrue
	sh tests/mpi/check.sh build/accrue build-mpi/accrue

# The program, its manual page (man/accrue.1) and the shipped scenarios, each folder as it is
# (PREFIX/share/accrue/scenarios/NAME/, with scenarios/README.md their index).
SHAREDIR = $(DESTDIR)$(PREFIX)/share/accrue
install: $(BUILD)/accrue
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(SHAREDIR)/scenarios
	install -m 755 $(BUILD)/accrue $(DESTDIR)$(PREFIX)/bin/accrue
	install -m 644 man/accrue.1 $(DESTDIR)$(PREFIX)/share/man/man1/accrue.1
	install -m 644 scenarios/README.md $(SHAREDIR)/scenarios/README.md
	for d in scenarios/*/; do \
	  install -d $(SHAREDIR)/$$d && install -m 644 $$d* $(SHAREDIR)/$$d || exit 1; \
	done

# Removes what install put there (the scenarios' folder whole: it is accrue's own).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/accrue $(DESTDIR)$(PREFIX)/share/man/man1/accrue.1
	rm -rf $(SHAREDIR)

# Tools of the checks beyond the C tests: man (the manual page's check), pandas and R (reading
# the outputs back: Debian's python3 and its python3-pandas, /usr/bin/python3 whatever python3
# comes first on PATH, and r-base-core without its recommends); `make deps-check` installs the
# missing ones with apt-get.
deps-check:
	@missing=; command -v man >/dev/null || missing="$$missing man-db"; \
	command -v groff >/dev/null || missing="$$missing groff-base"; \
	/usr/bin/python3 -c 'import pandas' 2>/dev/null || missing="$$missing python3-pandas"; \
	command -v Rscript >/dev/null || missing="$$missing r-base-core"; \
	if [ -n "$$missing" ]; then \
	  echo "accrue: installing$$missing with apt-get"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The manual page renders without warnings, matches --help, and install / uninstall are clean.
test-man: $(BUILD)/accrue deps-check
	sh tests/man/check_man.sh $(BUILD)

# Every output table and result.json read back by pandas, and every table by R's read.csv, with
# typed columns (dates as dates, numbers as numbers, censored completion dates empty with their
# reason).
test-readback: $(BUILD)/accrue deps-check
	/usr/bin/python3 tests/readback/check_readback.py $(BUILD)

clean:
	rm -rf build build-mpi

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- bench (bench/) ----
# make bench        the full benchmark on bench/reference: accrue at 1e6 and 1e7 trials with 1
#                   and 2 threads, 5 repetitions each, the event-by-event baseline, the memory
#                   check (1e6 and 1e8 trials) and bench/schedule-10 beside the reference (10
#                   rate changes per site); a table on standard output, figures in
#                   bench/results.json
# make bench-short  3 repetitions at 1e6 trials plus one 1e7 run with 2 threads, no memory
#                   check: under a minute, for CI
# make bench also builds the scaling table (bench/scale/README.md): the reference grown one way
# at a time (expected counts 100 to 10,000, 50 to 5,000 sites, 32 in screening), each with
# trials per second, time to SE 1e-4 and the exact mode's time; with BASELINE, beside it.
# Neither judges speed: they fail only when a run fails or outputs differ across thread counts.
BENCH_BIN  = $(BUILD)/bench/bench $(BUILD)/bench/naive $(BUILD)/bench/whatif
# BASELINE=PATH also runs another accrue build (say, of the main branch before a change) beside
# this one at 1e6 trials, 1 thread, and prints its speed over this one's.
BASELINE  ?=
BENCH_ARGS = --accrue $(BUILD)/accrue --naive $(BUILD)/bench/naive --scenario bench/reference \
             --also bench/schedule-10 --model scenarios/seed-pools \
             --model scenarios/seed-actions --json bench/results.json \
             $(if $(BASELINE),--baseline $(BASELINE))
# The compiler's first line of --version, for the JSON; characters that could break the C
# string literal are dropped.
BENCH_CC_VERSION = $(shell $(CC) --version 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9 ._()+:/-')

.PHONY: bench bench-short bench-whatif bench-ranks
bench: $(BUILD)/accrue $(BENCH_BIN)
	./$(BUILD)/bench/bench $(BENCH_ARGS) --reps 5 --memory-check --scale bench/scale
	./$(BUILD)/bench/whatif $(WHATIF_ARGS)
	@$(MAKE) --no-print-directory bench-ranks

# Rank scaling (bench/ranks.sh, bench/ranks.c against the MPI build's library): 1 rank x 1
# thread, 1 x 2 and 2 x 1 on bench/reference, and the exchange's cost per round; about a minute.
bench-ranks: deps-mpi
	@$(MAKE) --no-print-directory MPI=1 build-mpi/bench/ranks
	sh bench/ranks.sh build-mpi/bench/ranks bench/reference

build-mpi/bench/ranks: bench/ranks.c build-mpi/libaccrue.a | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< build-mpi/libaccrue.a $(ALL_LDFLAGS) $(LIBS)

# The what-if timings and the common random numbers of a sweep (bench/whatif.c), on the seed's
# self-pay scenario; about a minute.
WHATIF_ARGS = --accrue $(BUILD)/accrue --scenario scenarios/self-pay --like new-site-1
bench-whatif: $(BUILD)/accrue $(BUILD)/bench/whatif
	./$(BUILD)/bench/whatif $(WHATIF_ARGS)

bench-short: $(BUILD)/accrue $(BENCH_BIN)
	./$(BUILD)/bench/bench $(BENCH_ARGS) --reps 3 --short

$(BUILD)/bench/bench: bench/bench.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DBENCH_CC='"$(BENCH_CC_VERSION)"' -o $@ $< $(ALL_LDFLAGS) -lm

$(BUILD)/bench/whatif: bench/whatif.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) -lm

$(BUILD)/bench/naive: bench/naive.c $(BUILD)/libaccrue.a | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libaccrue.a $(ALL_LDFLAGS) $(LIBS)
# ---- end bench ----

# ---- fuzz (tests/fuzz) ----
# make fuzz                   builds the libFuzzer harness tests/fuzz/fuzz_scenario.c with clang
#                             (fuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) and runs it
#                             for FUZZ_SECONDS on build/fuzz/corpus, seeded from tests/fuzz/seeds;
#                             a crash leaves its input in build/fuzz/ (crash-*, timeout-*, oom-*)
# make fuzz FUZZ_SECONDS=600  a longer run; the generated corpus grows in build/fuzz/corpus and
#                             is kept between runs, never written into tests/
# make fuzz FUZZ_OPTS='-fork=1 -ignore_crashes=1'
#                             goes on after a crash (each is saved), to collect several at once
# Replay one input: build/fuzz/fuzz_scenario FILE. Refresh the seeds after adding a
# tests/bad-input or tests/odd-input case: sh tests/fuzz/make_seeds.sh
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
# Every model file (a new model joins the harness by being in models/), and the engine files
# the models use; not the block loop or the command line, which need the OpenMP runtime.
FUZZ_SRC  = tests/fuzz/fuzz_scenario.c $(wildcard models/*.c) engine/csvtab.c engine/date.c \
            engine/sample.c engine/rng.c engine/quantile.c
# -fopenmp-simd: rng.c's simd pragma without the OpenMP runtime (the harness runs no threads).
# -Wno-pass-failed: the sanitizers' checks keep that simd loop from vectorising; no matter here.
# -D__SANITIZE_ADDRESS__: GCC defines it under AddressSanitizer; rng.c skips its AVX2 clones
# for clang and for the sanitizers either way.
FUZZ_FLAGS = $(CSTD) $(WARN) -fopenmp-simd -g -O2 -fno-omit-frame-pointer \
             -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
             -Wno-pass-failed -D__SANITIZE_ADDRESS__=1
FUZZ_OPTS    ?=
FUZZ_ARGS  = -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
             -dict=tests/fuzz/scenario.dict -artifact_prefix=build/fuzz/ -print_final_stats=1 \
             $(FUZZ_OPTS)

.PHONY: fuzz
fuzz: build/fuzz/fuzz_scenario
	@mkdir -p build/fuzz/corpus
	cp tests/fuzz/seeds/* build/fuzz/corpus/
	./build/fuzz/fuzz_scenario $(FUZZ_ARGS) build/fuzz/corpus

build/fuzz/fuzz_scenario: $(FUZZ_SRC) $(wildcard engine/*.h models/*.h) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_SRC) $(LIBS)
# ---- end fuzz ----

# ---- validate ----
# make validate  the long statistical validation (README.md, "How we know the numbers are
#                right"): the program that
#                `make test` runs as a fast subset, here with --full: every configuration,
#                ten times the trials, other seeds. About a minute on two cores.
.PHONY: validate
validate: $(BUILD)/tests/test_validation
	./$(BUILD)/tests/test_validation --full
# ---- end validate ----
