# The concurrency lab: one non-recursive Makefile.  `make help` lists the targets.
#
# Building may run in parallel (make -j); experiments never do: every target
# that measures runs one script that runs the lessons one after another.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
# Where objects and programs go (make sanitize builds into another pair).
O       ?= build/obj
BIN     ?= bin

# ---- Dependencies ------------------------------------------------------------
# `make deps` installs the Debian packages the lab needs (scripts/deps). The
# targets that need them run the same script first, as a recipe: it installs
# only what is missing and says nothing when all is there, and `make -n`
# only prints it. LAB_NO_DEPS=1 skips it, for those who manage packages
# themselves. The flags are read from pkg-config when a recipe runs (=, not
# :=), so that a first build finds what deps-check has just installed.
deps-check:
	@[ -n "$(LAB_NO_DEPS)" ] || scripts/deps --quiet

PKGS         := libcurl libcrypto
LAB_CPPFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LAB_CFLAGS   := -std=gnu11 -Wall -Wextra -pthread -MMD -MP
CURL_LIBS     = $(shell pkg-config --libs libcurl 2>/dev/null)
CRYPTO_LIBS   = $(shell pkg-config --libs libcrypto 2>/dev/null)

# Every experiments/*.c is a lesson (a program), but gil.c, which the
# threaded lessons link; the shared parts they are built on are in lab/.
LESSONS  := $(filter-out gil,$(basename $(notdir $(wildcard experiments/*.c))))
# cpu_mpi needs Open MPI (pkg-config ompi-c), which scripts/deps installs.
MPI_CFLAGS  = $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS    = $(shell pkg-config --libs ompi-c 2>/dev/null)
PROGRAMS := $(LESSONS:%=$(BIN)/%)
# The emulated GIL (a lesson of its own, linked into the threaded lessons).
LAB_O    := $(O)/lab.o $(O)/lab_options.o $(O)/trace.o
GIL_O    := $(if $(wildcard experiments/gil.c),$(O)/gil.o)

.PHONY: build python all plots test check deps deps-check clean help reproduce bench bench-tools sanitize valgrind fuzz
.DEFAULT_GOAL := build
# Objects are made by a pattern chain; keep them for the next build.
.SECONDARY:

build: $(PROGRAMS)

$(O) $(BIN):
	mkdir -p $@

$(O)/%.o: experiments/%.c | $(O) deps-check
	$(CC) -Ilab $(LAB_CPPFLAGS) $(CPPFLAGS) $(LAB_CFLAGS) $(CFLAGS) -c $< -o $@

$(O)/%.o: lab/%.c | $(O) deps-check
	$(CC) -Ilab $(LAB_CPPFLAGS) $(CPPFLAGS) $(LAB_CFLAGS) $(CFLAGS) -c $< -o $@

$(BIN)/io_%: $(O)/io_%.o $(O)/fetch.o $(LAB_O) $(GIL_O) | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(CURL_LIBS) -o $@

# io_async's handles, connection caches and retries (fetch_multi.c).
$(BIN)/io_async: $(O)/fetch_multi.o
# sum_chunks_manager's fork and wait, with care (procs.c), and its dict (dict.c).
$(BIN)/sum_chunks_manager: $(O)/procs.o $(O)/dict.o

$(BIN)/cpu_%: $(O)/cpu_%.o $(LAB_O) $(O)/workloads.o $(GIL_O) | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(CRYPTO_LIBS) -o $@

# io_hybrid's processes (procs.c) and files written whole (outfile.c).
$(BIN)/io_hybrid: $(O)/procs.o $(O)/outfile.o

$(O)/cpu_mpi.o: experiments/cpu_mpi.c | $(O) deps-check
	$(CC) -Ilab $(LAB_CPPFLAGS) $(MPI_CFLAGS) $(CPPFLAGS) $(LAB_CFLAGS) $(CFLAGS) -c $< -o $@

$(BIN)/cpu_mpi: $(O)/cpu_mpi.o $(LAB_O) $(O)/workloads.o | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(CRYPTO_LIBS) $(MPI_LIBS) -o $@

$(BIN)/%: $(O)/%.o $(LAB_O) | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ -o $@

-include $(wildcard $(O)/*.d)

# ---- The Python twins ------------------------------------------------------
# experiments/python/<lesson>.py, linked into $(BIN) as py_<lesson> so the
# matrix finds them like the lessons (make all PYTHON=1). lab.py and
# workloads.py are their shared parts, gil_compare.py and gil_handover.py
# measurements.
PY_SHARED := lab workloads gil_compare gil_handover
PY_TWINS  := $(filter-out $(PY_SHARED:%=$(BIN)/py_%), \
               $(patsubst experiments/python/%.py,$(BIN)/py_%,$(wildcard experiments/python/*.py)))

$(BIN)/py_%: experiments/python/%.py | $(BIN)
	ln -sf $(abspath $<) $@

python: $(PY_TWINS)

# ---- Running ---------------------------------------------------------------
# Three plans on one core (scripts/lib.sh): plans/matrix.plan (make all),
# plans/reproduce.plan (make reproduce), plans/bench.plan with
# plans/bench-targets.csv (make bench).
# PROFILE=quick|default|full picks the lines of plans/matrix.plan; PYTHON=1
# adds the python profile (the Python twins) to it.
PROFILE ?= default
comma   := ,
PROFILES = $(PROFILE)$(if $(PYTHON),$(comma)python)

all: build $(if $(PYTHON),python) | deps-check
	scripts/matrix --profile $(PROFILES) --bin $(BIN)

# Redraw the charts from the CSVs already there; after `all` when both are asked.
plots: $(if $(filter all,$(MAKECMDGOALS)),all) | deps-check
	scripts/plot

# Re-run every published timing with the lessons and their Python twins
# (plans/reproduce.plan): results/reproduce.csv, results/reproduce.md,
# plots/reproduce.png. Make's variables reach the script: LATENCY_SCALE=f
# shortens every emulated wait, SIZE_SCALE=f every CPU task, REPEAT=R sets
# the runs per configuration.
reproduce: build python | deps-check
	LAB_BIN=$(abspath $(BIN)) scripts/reproduce

# How close each lesson comes to this machine's limits, every measurement
# side by side in one run (scripts/bench, plans/bench.plan): results/bench.csv,
# results/bench.md, a table, and plots/bench.png; the targets are the rows of
# plans/bench-targets.csv. BENCH_REPEAT=R rounds (default 5); BENCH_QUICK=1 tiny
# sizes, to check the bench itself. Its reference programs build into
# build/bench/.
BENCH_TOOLS := build/bench/sha256_loop build/bench/spawn_loop build/bench/raw_burst \
               build/bench/libcurl_load
build/bench/sha256_loop: bench/sha256_loop.c | deps-check
	mkdir -p $(@D)
	$(CC) $(LAB_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(CFLAGS) $(LDFLAGS) $< $(CRYPTO_LIBS) -o $@
build/bench/libcurl_load: bench/libcurl_load.c | deps-check
	mkdir -p $(@D)
	$(CC) $(LAB_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(CFLAGS) $(LDFLAGS) $< $(CURL_LIBS) -o $@
build/bench/%: bench/%.c | deps-check
	mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(CFLAGS) $(LDFLAGS) $< -o $@
bench-tools: $(BENCH_TOOLS)
bench: build bench-tools | deps-check
	LAB_BIN=$(abspath $(BIN)) LAB_BENCH_TOOLS=$(abspath build/bench) scripts/bench

# ---- Timelines -------------------------------------------------------------
# A few small traced runs (plans/timelines.plan) drawn as Gantt charts of
# who ran and who waited: results/traces/*.json, plots/timeline_*.png and
# .svg. `make all plots` draws them too, after the matrix: one run at a time.
.PHONY: timelines
timelines: build | deps-check
	scripts/timelines --bin $(abspath $(BIN))
ifneq ($(filter all,$(MAKECMDGOALS)),)
ifneq ($(filter plots,$(MAKECMDGOALS)),)
plots: timelines
timelines: all
endif
endif

# ---- Testing ---------------------------------------------------------------
# The bats suite, against the programs in $(BIN).
test check: build | deps-check
	LAB_BIN=$(abspath $(BIN)) bats $(if $(BATS_FORMAT),--formatter $(BATS_FORMAT)) --print-output-on-failure tests/

# ---- Hardening ---------------------------------------------------------------
# The suite again, against programs built with AddressSanitizer and
# UndefinedBehaviorSanitizer, then ThreadSanitizer, each in its own folder.
# A sanitizer's report ends the program with its own exit status, which no
# test expects, so any report fails a test.
SAN_ENV := ASAN_OPTIONS=exitcode=86:detect_leaks=1 \
           UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1 \
           TSAN_OPTIONS=exitcode=88:halt_on_error=1:suppressions=$(abspath tests/tsan.supp)
sanitize:
	$(MAKE) O=build/asan/obj BIN=build/asan/bin CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" build
	$(MAKE) O=build/tsan/obj BIN=build/tsan/bin CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" build
	$(SAN_ENV) LAB_BIN=$(abspath build/asan/bin) LAB_SANITIZED=asan bats $(if $(BATS_FORMAT),--formatter $(BATS_FORMAT)) tests/
	$(SAN_ENV) LAB_BIN=$(abspath build/tsan/bin) LAB_SANITIZED=tsan bats $(if $(BATS_FORMAT),--formatter $(BATS_FORMAT)) $(SAN_THREADED_TESTS)
# ThreadSanitizer: the files whose lessons start threads.
# (race --mode plain is a deliberate data race: tests/tsan.supp excuses it.)
SAN_THREADED_TESTS := $(wildcard tests/io.bats tests/cpu.bats tests/gil.bats tests/race.bats tests/hybrid.bats)

# Memcheck over every lesson at a small size: no errors, no leaks.
valgrind: build | deps-check
	scripts/memcheck

# libFuzzer over lab_options.c's parsers (needs clang); FUZZ_SECONDS bounds the run.
FUZZ_SECONDS ?= 30
FUZZ_BIN := build/fuzz/fuzz_lab
$(FUZZ_BIN): tests/fuzz/fuzz_lab.c lab/lab.c lab/lab_options.c lab/trace.c lab/lab.h | deps-check
	mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilab $(filter %.c,$^) -o $@
fuzz: $(FUZZ_BIN)
	mkdir -p build/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=3 -artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz/corpus

deps:
	scripts/deps

clean:
	rm -rf build bin .lab

help:
	@echo "The concurrency lab: make targets"
	@echo "  make all plots   build, run every lesson under time(1), write results/ and plots/"
	@echo "  make test        run the test suite (bats) against bin/"
	@echo "  make build       compile every lesson into bin/ (the default)"
	@echo "  make all         build, then run the experiment matrix (PROFILE=quick|default|full; PYTHON=1 adds the Python twins)"
	@echo "  make plots       redraw the charts from results/*.csv without running anything"
	@echo "  make reproduce   re-run the articles' published timings; compare speedups (LATENCY_SCALE=0.05 SIZE_SCALE=0.05: quick)"
	@echo "  make bench       how close each lesson comes to the machine's limits: results/bench.csv, plots/bench.png (BENCH_REPEAT=5, BENCH_QUICK=1)"
	@echo "  make timelines   a few traced runs drawn as timelines of who ran and who waited: plots/timeline_*.png"
	@echo "  make python      link the Python twins (experiments/python) into bin/ as py_<lesson>"
	@echo "  make deps        install the Debian packages the lab needs (apt-get, sudo if not root);"
	@echo "                   the other targets run the same check first, installing what is missing"
	@echo "  make sanitize    the suite against ASan+UBSan builds, then TSan builds"
	@echo "  make valgrind    every lesson at a small size under memcheck: no errors, no leaks"
	@echo "  make fuzz        libFuzzer over lab_options.c's parsers for FUZZ_SECONDS (default 30)"
	@echo "  make clean       remove build/, bin/ and the lab server's folder"
	@echo "Variables: CC, CFLAGS, LDFLAGS (yours win), PROFILE, O (objects), BIN (programs)"
