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

# ---- Dependencies: installed by scripts/deps before anything needs them ----
# Every target but these few needs the packages (pkg-config, libcurl, ...);
# LAB_NO_DEPS=1 skips the check for those who manage packages themselves.
NO_DEPS_GOALS := deps clean help
ifeq ($(LAB_NO_DEPS),)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),build)),)
ifneq ($(shell scripts/deps --quiet >&2 && echo ok),ok)
$(error scripts/deps failed: the packages above are needed)
endif
endif
endif

PKGS         := libcurl libcrypto
LAB_CPPFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LAB_CFLAGS   := -std=gnu11 -Wall -Wextra -pthread -MMD -MP
CURL_LIBS    := $(shell pkg-config --libs libcurl 2>/dev/null)
CRYPTO_LIBS  := $(shell pkg-config --libs libcrypto 2>/dev/null)

# Every experiments/*.c is a lesson, but for the shared parts.
SHARED   := lab lab_options trace fetch fetch_multi procs workloads gil fuzz_lab
LESSONS  := $(filter-out $(SHARED),$(basename $(notdir $(wildcard experiments/*.c))))
PROGRAMS := $(LESSONS:%=$(BIN)/%)
# The emulated GIL (a lesson of its own, linked into the threaded lessons).
LAB_O    := $(O)/lab.o $(O)/lab_options.o $(O)/trace.o
GIL_O    := $(if $(wildcard experiments/gil.c),$(O)/gil.o)

.PHONY: build all plots test check deps clean help reproduce bench bench-tools sanitize valgrind fuzz
.DEFAULT_GOAL := build
# Objects are made by a pattern chain; keep them for the next build.
.SECONDARY:

build: $(PROGRAMS)

$(O) $(BIN):
	mkdir -p $@

$(O)/%.o: experiments/%.c | $(O)
	$(CC) $(LAB_CPPFLAGS) $(CPPFLAGS) $(LAB_CFLAGS) $(CFLAGS) -c $< -o $@

$(BIN)/io_%: $(O)/io_%.o $(O)/fetch.o $(LAB_O) $(GIL_O) | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(CURL_LIBS) -o $@

# io_async's handles, connection caches and retries (fetch_multi.c).
$(BIN)/io_async: $(O)/fetch_multi.o
# sum_chunks_manager's fork and wait, with care (procs.c).
$(BIN)/sum_chunks_manager: $(O)/procs.o

$(BIN)/cpu_%: $(O)/cpu_%.o $(LAB_O) $(O)/workloads.o $(GIL_O) | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(CRYPTO_LIBS) -o $@

$(BIN)/%: $(O)/%.o $(LAB_O) | $(BIN)
	$(CC) $(LAB_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ -o $@

-include $(wildcard $(O)/*.d)

# ---- Running ---------------------------------------------------------------
# PROFILE=quick|default|full picks the matrix in scripts/plan.
PROFILE ?= default

all: build
	scripts/matrix --profile $(PROFILE) --bin $(BIN)

# Redraw the charts from the CSVs already there; after `all` when both are asked.
plots: $(if $(filter all,$(MAKECMDGOALS)),all)
	scripts/plot

# Re-run every published timing with the lessons (scripts/reproduce.plan):
# results/reproduce.csv, results/reproduce.md, plots/reproduce.png. Make's
# variables reach the script: LATENCY_SCALE=f shortens every emulated wait,
# SIZE_SCALE=f every CPU task, REPEAT=R sets the runs per configuration.
reproduce: build
	LAB_BIN=$(abspath $(BIN)) scripts/reproduce

# How close each lesson comes to this machine's limits, every measurement
# side by side in one run (scripts/bench): results/bench.csv, a table, and
# plots/bench.png. BENCH_REPEAT=R rounds (default 5); BENCH_QUICK=1 tiny
# sizes, to check the bench itself. Its reference programs build into
# build/bench/.
BENCH_TOOLS := build/bench/sha256_loop build/bench/spawn_loop build/bench/raw_burst \
               build/bench/libcurl_load
build/bench/sha256_loop: bench/sha256_loop.c
	mkdir -p $(@D)
	$(CC) $(LAB_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(CFLAGS) $(LDFLAGS) $< $(CRYPTO_LIBS) -o $@
build/bench/libcurl_load: bench/libcurl_load.c
	mkdir -p $(@D)
	$(CC) $(LAB_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(CFLAGS) $(LDFLAGS) $< $(CURL_LIBS) -o $@
build/bench/%: bench/%.c
	mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(CFLAGS) $(LDFLAGS) $< -o $@
bench-tools: $(BENCH_TOOLS)
bench: build bench-tools
	LAB_BIN=$(abspath $(BIN)) LAB_BENCH_TOOLS=$(abspath build/bench) scripts/bench

# ---- Timelines -------------------------------------------------------------
# A few small traced runs (scripts/timelines.plan) drawn as Gantt charts of
# who ran and who waited: results/traces/*.json, plots/timeline_*.png and
# .svg. `make all plots` draws them too, after the matrix: one run at a time.
.PHONY: timelines
timelines: build
	scripts/timelines --bin $(abspath $(BIN))
ifneq ($(filter all,$(MAKECMDGOALS)),)
ifneq ($(filter plots,$(MAKECMDGOALS)),)
plots: timelines
timelines: all
endif
endif

# ---- Testing ---------------------------------------------------------------
# The bats suite, against the programs in $(BIN).
test check: build
	LAB_BIN=$(abspath $(BIN)) bats $(if $(BATS_FORMAT),--formatter $(BATS_FORMAT)) --print-output-on-failure tests/

# ---- Hardening ---------------------------------------------------------------
# The suite again, against programs built with AddressSanitizer and
# UndefinedBehaviorSanitizer, then ThreadSanitizer, each in its own folder.
# A sanitizer's report ends the program with its own exit status, which no
# test expects, so any report fails a test.
SAN_ENV := ASAN_OPTIONS=exitcode=86:detect_leaks=1 \
           UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1 \
           TSAN_OPTIONS=exitcode=88:halt_on_error=1
sanitize:
	$(MAKE) O=build/asan/obj BIN=build/asan/bin CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" build
	$(MAKE) O=build/tsan/obj BIN=build/tsan/bin CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" build
	$(SAN_ENV) LAB_BIN=$(abspath build/asan/bin) LAB_SANITIZED=asan bats $(if $(BATS_FORMAT),--formatter $(BATS_FORMAT)) tests/
	$(SAN_ENV) LAB_BIN=$(abspath build/tsan/bin) LAB_SANITIZED=tsan bats $(if $(BATS_FORMAT),--formatter $(BATS_FORMAT)) $(SAN_THREADED_TESTS)
# ThreadSanitizer: the files whose lessons start threads.
SAN_THREADED_TESTS := $(wildcard tests/io.bats tests/cpu.bats tests/gil.bats)

# Memcheck over every lesson at a small size: no errors, no leaks.
valgrind: build
	scripts/memcheck

# libFuzzer over lab_options.c's parsers (needs clang); FUZZ_SECONDS bounds the run.
FUZZ_SECONDS ?= 30
FUZZ_BIN := build/fuzz/fuzz_lab
$(FUZZ_BIN): tests/fuzz/fuzz_lab.c experiments/lab.c experiments/lab_options.c experiments/trace.c experiments/lab.h
	mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Iexperiments $(filter %.c,$^) -o $@
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
	@echo "  make all         build, then run the experiment matrix (PROFILE=quick|default|full)"
	@echo "  make plots       redraw the charts from results/*.csv without running anything"
	@echo "  make reproduce   re-run the articles' published timings; compare speedups (LATENCY_SCALE=0.05 SIZE_SCALE=0.05: quick)"
	@echo "  make bench       how close each lesson comes to the machine's limits: results/bench.csv, plots/bench.png (BENCH_REPEAT=5, BENCH_QUICK=1)"
	@echo "  make timelines   a few traced runs drawn as timelines of who ran and who waited: plots/timeline_*.png"
	@echo "  make deps        install the Debian packages the lab needs (apt-get, sudo if not root)"
	@echo "  make sanitize    the suite against ASan+UBSan builds, then TSan builds"
	@echo "  make valgrind    every lesson at a small size under memcheck: no errors, no leaks"
	@echo "  make fuzz        libFuzzer over lab_options.c's parsers for FUZZ_SECONDS (default 30)"
	@echo "  make clean       remove build/, bin/ and the lab server's folder"
	@echo "Variables: CC, CFLAGS, LDFLAGS (yours win), PROFILE, O (objects), BIN (programs)"
