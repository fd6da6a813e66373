# The charts' tables: the rows each chart of scripts/plot needs, cut from
# the summary (and from gil_python.csv, CPython's GIL against the emulated
# one) into small tab-separated tables for plots/<chart>.gp, with
# settings.txt (NAME=VALUE lines for the charts' variables) and machine.txt
# (the machine, for the charts' titles); and gil_python.md, the switch
# interval and the convoy as a table.
#
# Usage: charts.py SUMMARY GIL_PYTHON GIL_PYTHON_SHOWN DATA_DIR MD_DIR
# (scripts/plot runs it). The tables go into DATA_DIR; gil_python.md into
# MD_DIR when GIL_PYTHON is not empty, naming it GIL_PYTHON_SHOWN.
#
# The tables, one line per configuration:
#   io_models.dat      per model, its best worker count at the I/O size with
#                      most rows: a label, median, min, max, ideal, speedup
#   io_workers_M.dat   workers, median, min, max, ideal
#   cpu_W_M.dat        workers, speedup, median, and the speedup of the
#                      slowest and of the fastest run (for error bars)
#   gil.dat            workload, and its sequential, threads, threads-gil and
#                      processes medians at W = cores; with gil_python.csv
#                      four more: its emulated 2, CPython 2, emulated 5 and
#                      CPython 5 threads over their own sequential run
#                      (median over median; '-': not measured)
#   manager_M.dat      chunks, sets per second, sets
#   race_MODE.dat      workers, updates lost (% of those expected), ns per
#                      increment: the medians of lost=, expected= and
#                      ns_per_increment= in the summary's extra column
# A figure is copied as the summary writes it. Those computed here: the
# CPU error bars to 6 significant digits (NaN, which gnuplot skips, for a
# division by zero), race's lost % to 3 decimals, gil.dat's CPython ratios
# to 4, gil_python.md's to 2.
#
# No field reaches gnuplot as code: a row of the summary or of
# gil_python.csv whose names are not plain words or whose figures are not
# numbers is reported with its line number and left out (common.rows); a
# race row without its extra numbers is reported too.
import os
import re
import sys
from collections import defaultdict

from common import extra_pairs, number, rows, say, write_lines

summary, gil_python, shown, data, md_dir = sys.argv[1:]
NUMBERS = ("tasks size workers latency_ms chunks ops median_s min_s max_s ideal_s speedup baseline_s"
           " ops_per_s cpus").split()
IMPLS = ("cpython", "emulated")
GIL_NUMBERS = ("workers switch_interval_us pinned median_s baseline_s gil_switches switches_est alone_ms"
               " beside_cpu_ms").split()
# What the I/O charts draw of a row (on log axes).
IO_FIGURES = ("workers", "latency_ms", "median_s", "min_s", "max_s", "ideal_s")
NOTHING = ["-", "-"]
FIRST_MODES = ("plain", "mutex", "atomic")
# The bars of io_models, in this order.
IO_LABELS = {"sync": "sequential", "threads": "threads", "multiprocessing": "processes",
             "async": "event loop (async)"}
tables = defaultdict(list)


def put(table, *fields):
    tables[table].append("\t".join(str(field) for field in fields))


def setting(name, value):
    # A figure as gnuplot reads it alike: there 010 is octal, and 09 an error.
    if isinstance(value, str) and number(value) is not None:
        value = format(float(value), ".15g")
    put("settings.txt", f"{name}={value}")


def words(names):
    return '"' + " ".join(names) + '"'


# A field's number, 0 when empty.
def num(text):
    return number(text) or 0.0


# a / b with `spec`; `none` where b is 0.
def divided(a, b, spec, none):
    return format(a / b, spec) if b else none


# The field of the row with the least or the most of it, as the summary wrote it.
def least(rows_, column):
    return min(rows_, key=lambda r: num(r[column]))[column]


def most(rows_, column):
    return max(rows_, key=lambda r: num(r[column]))[column]


def show(text):
    return text if number(text) is not None else "-"


kept = rows(summary, ["experiment", "model", "workload"], NUMBERS, required=["cpus"],
            columns=["cpu_model"])
cpus = kept[0]["cpus"] if kept else ""
put("machine.txt", f"{cpus} cores, {kept[0].get('cpu_model', '')}" if kept else "")
setting("cpus", cpus if num(cpus) > 0 else 1)

# ---- I/O: the requests and latency with most rows (the first to get there).
# Both charts are on log axes, and the ideal divides by the requests: a
# row whose figures are not all above 0 (a zero time, a count of 0) would
# stop gnuplot, and every chart after it with it.
io = []
for r in kept:
    if not r["experiment"].startswith("io_") or not r["latency_ms"] or not r["median_s"]:
        continue
    if num(r["tasks"]) < 1 or any(num(r[k]) <= 0 for k in IO_FIGURES):
        say(f'{summary}:{r["_line"]}: a figure of {r["experiment"]} is 0 or missing: row left out of the I/O charts')
        continue
    io.append(r)
count = defaultdict(int)
size = None   # the leader so far (None: counted 0)
for r in io:
    count[r["tasks"], r["latency_ms"]] += 1
    if count[r["tasks"], r["latency_ms"]] > count[size]:
        size = (r["tasks"], r["latency_ms"])
io = [r for r in io if (r["tasks"], r["latency_ms"]) == size]
if io:
    setting("requests", size[0])
    setting("latency_ms", size[1])
# Per model: the best worker count (lowest median) for the bars, and every
# worker count for the lines.
best = {}
for r in io:
    m = r["model"]
    if m not in best or num(r["median_s"]) < num(best[m]["median_s"]):
        best[m] = r
    if m == "sync":
        setting("sync_s", r["median_s"])
    else:
        put(f"io_workers_{m}.dat", r["workers"], r["median_s"], r["min_s"], r["max_s"], r["ideal_s"])
io_models = dict.fromkeys(r["model"] for r in io if r["model"] != "sync")
if io_models:
    setting("io_models", words(io_models))
for m in [m for m in IO_LABELS if m in best]:
    r = best[m]
    workers = num(r["workers"])
    label = f'"{IO_LABELS[m]}\\n{r["experiment"]}\\n{int(workers)} worker{"" if workers == 1 else "s"}"'
    put("io_models.dat", label, r["median_s"], r["min_s"], r["max_s"], r["ideal_s"], r["speedup"] or 1)

# ---- CPU: speedup per workload and model (one tasks x size per workload: the first seen).
size_of = {}
sequential = {}
cpu = []
for r in kept:
    w = r["workload"]
    if not r["experiment"].startswith("cpu_") or not r["speedup"]:
        continue
    # A workload names the chart's settings (about_W, models_W).
    if not re.fullmatch("[a-z][a-z0-9_]*", w):
        say(f'{summary}:{r["_line"]}: workload "{w}" is not a lower-case word: row left out of cpu_speedup')
        continue
    # (Its axis starts at 1 worker.)
    if num(r["workers"]) < 1:
        say(f'{summary}:{r["_line"]}: workers "{r["workers"]}" is not 1 or more: row left out of cpu_speedup')
        continue
    if size_of.setdefault(w, (r["tasks"], r["size"])) != (r["tasks"], r["size"]):
        continue
    if r["model"] == "sync":
        sequential[w] = r["median_s"]
        continue
    cpu.append(r)
    baseline = num(r["baseline_s"])
    put(f"cpu_{w}_{r['model']}.dat", r["workers"], r["speedup"], r["median_s"],
        divided(baseline, num(r["max_s"]), ".6g", "NaN"), divided(baseline, num(r["min_s"]), ".6g", "NaN"))
if cpu:
    setting("workloads", words(size_of))
    setting("cpu_models", words(dict.fromkeys(r["model"] for r in cpu)))
    setting("max_workers", most(cpu, "workers"))
    for w, (tasks, size) in size_of.items():
        seconds = num(sequential.get(w, ""))
        setting(f"about_{w}", f'"{int(num(tasks))} tasks of size {size}, sequential {seconds:.2f} s"')
        setting(f"models_{w}", words(dict.fromkeys(r["model"] for r in cpu if r["workload"] == w)))

# ---- The GIL: per workload, the sequential time and each model at W = cores.
gil_s = {}
for r in kept:
    same_size = size_of.get(r["workload"]) == (r["tasks"], r["size"])
    at_cores = r["model"] == "sync" or num(r["workers"]) == num(cpus)
    if r["experiment"].startswith("cpu_") and num(r["median_s"]) > 0 and same_size and at_cores:
        gil_s[r["workload"], r["model"]] = r["median_s"]
# (Each bar is a time over the sequential one: a workload without it has none.)
gil_workloads = [w for w, m in gil_s if m == "threads-gil" and (w, "sync") in gil_s]
if gil_workloads:
    setting("gil_workloads", words(gil_workloads))

# ---- The manager lesson: sets per second against the number of children.
# (Both axes are logarithmic: no 0 on either.)
manager = [r for r in kept if r["experiment"] == "sum_chunks_manager" and num(r["ops_per_s"]) > 0
           and num(r["chunks"]) > 0]
for r in manager:
    put(f"manager_{r['model']}.dat", r["chunks"], r["ops_per_s"], r["ops"])
if manager:
    setting("manager_models", words(dict.fromkeys(r["model"] for r in manager)))
    for name, column in (("chunks", "chunks"), ("ops", "ops_per_s")):
        setting(f"min_{name}", least(manager, column))
        setting(f"max_{name}", most(manager, column))


# ---- Race: per mode, workers ascending.
race_workers = []
for r in sorted(kept, key=lambda r: num(r["workers"])):
    if r["experiment"] != "race" or not r["median_s"]:
        continue
    # The extra column's NAME=VALUE pairs.
    extra = extra_pairs(r.get("extra", ""))
    lost, expected, ns = (number(extra.get(k)) for k in ("lost", "expected", "ns_per_increment"))
    if re.fullmatch("[a-z]+", r["model"]) and re.fullmatch("[1-9][0-9]*", r["workers"]) \
            and lost is not None and expected and ns is not None:
        lost_pct = "%.3f" % (lost / expected * 100)
        put(f"race_{r['model']}.dat", r["workers"], lost_pct, extra["ns_per_increment"])
        race_workers.append(r["workers"])
    else:
        say(f"{summary}: race {r['model']} workers={r['workers']}: no lost=, expected= or ns_per_increment="
            " in extra: row left out")
modes = sorted(t[len("race_"):-len(".dat")] for t in tables if t.startswith("race_"))
modes = [m for m in FIRST_MODES if m in modes] + [m for m in modes if m not in FIRST_MODES]
if modes:
    setting("race_modes", words(modes))
    setting("race_max_workers", max(race_workers, key=int))

# ---- CPython's GIL beside the emulated one, added to gil.dat's rows ---------------
# (Only for a gil.dat with rows; its four columns are added whenever
# gil_python.csv is not empty.)
py = None
if os.path.exists(gil_python) and os.path.getsize(gil_python) > 0:
    py = rows(gil_python, ["section", "impl", "workload"], GIL_NUMBERS)
relative = {}
for r in py if gil_workloads and py else []:
    if r["section"] != "threads" or number(r["pinned"]) != 0 or number(r["workers"]) not in (2, 5):
        continue
    median, baseline = number(r["median_s"]), number(r["baseline_s"])
    plain = re.fullmatch("[a-z0-9_]+", r["workload"]) and r["impl"] in IMPLS and r["workers"] in ("2", "5")
    if plain and median is not None and baseline:
        relative[r["workload"], r["impl"], r["workers"]] = "%.4f" % (median / baseline)
    else:
        row = f"{r['workload']} {r['impl']} {r['workers']}"
        say(f"{gil_python}: a threads row ({row}) that is not plain names and numbers: left out")
for w in gil_workloads:
    times = [gil_s.get((w, m), "") for m in ("sync", "threads", "threads-gil", "multiprocessing")]
    if py is not None:
        # emulated 2, CPython 2, emulated 5, CPython 5
        times += [relative.get((w, impl, k), "-") for k in ("2", "5") for impl in ("emulated", "cpython")]
    put("gil.dat", w, *times)
with_cpython = [w for w in gil_workloads if (w, "cpython", "2") in relative]
if with_cpython:
    setting("cpython", 1)
    say(f"gil: CPython's threads beside the emulated GIL for {' '.join(with_cpython)} (from {gil_python})")
for table, lines in tables.items():
    write_lines(os.path.join(data, table), lines)

# ---- The switch interval and the convoy, as a table (gil_python.md) ---------------
# Per workload and switch interval, 2 threads' time over the same
# implementation's sequential run and the hand-overs (counted by the
# emulation; for CPython, gil_handover.py's count a second at that interval
# times the run's seconds); the convoy's request alone and beside a
# CPU-bound thread. Only numbers are printed.
intervals = defaultdict(dict)
convoy = defaultdict(dict)
for r in py or []:
    interval = r["switch_interval_us"]
    wanted = (number(r["pinned"]) == 0 and r["section"] == "interval" or r["section"] == "convoy"
              or r["section"] == "threads" and number(r["workers"]) == 2 and number(interval) == 5000)
    plain = r["impl"] in IMPLS and number(interval) is not None and re.fullmatch("[a-z0-9_]+", r["workload"])
    if not (wanted and plain):
        continue
    if r["section"] == "convoy":
        convoy[interval][r["impl"]] = [show(r["alone_ms"]), show(r["beside_cpu_ms"])]
        continue
    median, baseline = number(r["median_s"]), num(r["baseline_s"])
    handovers = r["gil_switches"] if r["impl"] == "emulated" else r["switches_est"]
    ratio = "%.2f" % (median / baseline) if median is not None and baseline else "-"
    intervals[r["workload"], interval][r["impl"]] = [ratio, show(handovers)]
if py is not None:
    md = [f"Made by `scripts/plot` from `{shown}` (`experiments/python/gil_compare.py`): 2 threads, 10 tasks,"
          " the median of the rounds.",
          "",
          "| Workload | Switch interval | CPython: time / its sequential | Emulated: time / its sequential"
          " | CPython hand-overs (estimated) | Emulated hand-overs (counted) |",
          "|---|---:|---:|---:|---:|---:|"]
    # Workloads in the order met, intervals ascending.
    order = list(dict.fromkeys(w for w, _ in intervals))
    for w, interval in sorted(intervals, key=lambda key: (order.index(key[0]), float(key[1]))):
        cpython, emulated = (intervals[w, interval].get(impl, NOTHING) for impl in IMPLS)
        default = " (default)" if float(interval) == 5000 else ""
        cells = [w, f"{interval} us{default}", cpython[0], emulated[0], cpython[1], emulated[1]]
        md.append("| " + " | ".join(cells) + " |")
    md += ["",
           "The convoy: one thread fetching 1 ms requests from the lab server, alone and then beside a"
           " CPU-bound thread (`io_convoy.py` against `io_convoy --gil`), milliseconds per request:",
           "",
           "| Switch interval | CPython alone | CPython beside | Emulated alone | Emulated beside"
           " | Added per request, in switch intervals: CPython | Emulated |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for interval, times in convoy.items():
        cells = [f"{interval} us"] + times.get("cpython", NOTHING) + times.get("emulated", NOTHING)
        # What the CPU-bound thread adds to a request, in switch intervals.
        for alone, beside in (times.get(impl, NOTHING) for impl in IMPLS):
            ok = "-" not in (alone, beside)
            cells.append(divided(num(beside) - num(alone), num(interval) / 1000, ".2f", "-") if ok else "-")
        md.append("| " + " | ".join(cells) + " |")
    write_lines(os.path.join(md_dir, "gil_python.md"), md)
