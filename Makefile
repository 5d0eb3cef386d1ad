# accrue: a Monte Carlo accrual forecasting engine.
#   make            build build/accrue (installs missing libraries with apt-get first)
#   make run        build and run the built-in default forecast
#   make test       build and run every test program (tests/test_*.c)
#   make test SAN=1 the same under AddressSanitizer and UndefinedBehaviorSanitizer (build/san/)
#   make bench      the benchmark (bench/)
# Variables are overridable: make CC=clang OPT=-O3 PREFIX=$$HOME/.local install

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?= 0

CSTD     = -std=c11 -D_POSIX_C_SOURCE=200809L
WARN     = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef
OPENMP   = -fopenmp
LIBS     = -lcsv -lgsl -lgslcblas -lm
TESTLIBS = -lcmocka

# Debian packages this project needs; `make deps` installs the missing ones with apt-get.
DEB_PKGS = libgsl-dev libcsv-dev libcmocka-dev
DEB_HDRS = /usr/include/gsl/gsl_rng.h /usr/include/csv.h /usr/include/cmocka.h

ifeq ($(SAN),1)
BUILD    = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD    = build
SANFLAGS =
endif

ALL_CFLAGS  = $(CSTD) $(WARN) $(OPENMP) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(OPENMP) $(SANFLAGS) $(LDFLAGS)

LIB_SRC  = $(filter-out engine/main.c,$(wildcard engine/*.c models/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/default_scenario.o
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
DEFAULT_SCENARIO = scenarios/protocol-plan

.PHONY: all deps run test check clean install
all: $(BUILD)/accrue

# Installs the libraries when a header is missing (needs root or sudo; Debian or Ubuntu).
deps:
	@missing=0; for h in $(DEB_HDRS); do [ -f $$h ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "accrue: installing $(DEB_PKGS) with apt-get"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(DEB_PKGS); \
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
	echo "test programs: $(words $(TEST_BIN)), failed: $$failed"; [ $$failed = 0 ]

check: test

install: $(BUILD)/accrue
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/accrue $(DESTDIR)$(PREFIX)/bin/accrue

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
