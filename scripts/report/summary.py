# The summary step of scripts/summarize (whose header tells the columns
# and the method): summary.py RUNS DIR writes DIR/summary.csv (a row per
# configuration), DIR/summary.md (the fastest configuration of each model
# per lesson, workload, tasks, size and latency) and DIR/text (what the
# numbers show, for a learner).
import csv
import math
import re
import sys
from collections import defaultdict

from common import die, extra_pairs, g, markdown, median, number, rows, say, write_lines

KEYS = "experiment model workload tasks size workers latency_ms numbers chunks ops".split()
NUMBERS = KEYS[3:] + "seconds wall_s user_s sys_s max_rss_kb vol_cs invol_cs cpu_util ops_per_s cpus".split()
# The summary's columns: a median is named as the runs' column, but seconds.
MEDIANS = {"seconds": "median_s", "cpu_util": "cpu_util", "vol_cs": "vol_cs", "invol_cs": "invol_cs",
           "max_rss_kb": "max_rss_kb", "ops_per_s": "ops_per_s"}
COLUMNS = KEYS + """runs failed median_s min_s max_s spread_pct baseline baseline_s speedup ideal_s efficiency
    cpu_util vol_cs invol_cs max_rss_kb ops_per_s extra cpus cpu_model""".split()
FORMATS = {"median_s": ".6f", "min_s": ".6f", "max_s": ".6f", "spread_pct": ".1f", "baseline_s": ".6f",
           "speedup": ".3f", "ideal_s": ".6f", "efficiency": ".3f", "cpu_util": ".3f", "vol_cs": ".0f",
           "invol_cs": ".0f", "max_rss_kb": ".0f", "ops_per_s": ".0f"}
# A name and a number of the extra column ("lost=... ns_per_increment=...").
EXTRA_NAME = re.compile(r"[a-z][a-z0-9_]*")
EXTRA_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]+)?")
IO = re.compile(r"(py_)?io_")
CPU = re.compile(r"(py_)?cpu_")

runs, work = sys.argv[1:]
configs = {}
extras = {}   # the names of the extra column, in the order first seen
lines = []    # the text
machines = {}  # each machine of the runs, with its first line


# A field's number: 0 when empty.
def n(field):
    return number(field) or 0


def fmt(x, spec=""):
    return "" if x is None else format(x, spec)


def secs(x):
    return f"{x:.1f} s" if x >= 10 else f"{x:.2f} s" if x >= 0.1 else f"{x:.3f} s"


def times(x):
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def rate(x):
    return f"{x / 1e6:.1f} million" if x >= 1e6 else f"{x:.0f}"


def plural(count, ending="s"):
    return "" if n(count) == 1 else ending


def lesson(c):
    model = c["model"]
    variant = " --gil" if model.endswith("-gil") else " over " + model[4:] if model.startswith("mpi-") else ""
    return c["experiment"] + variant


# ---- Check every row, then gather the runs of each configuration.
# The columns read as text (the others are checked as numbers).
READ = KEYS[:3] + ["host", "cpu_model", "extra"]
for row in rows(runs, numbers=["exit"] + NUMBERS, required=["commit"], columns=READ):
    if not re.fullmatch("[0-9]{1,3}", row["exit"]):
        say(f'{runs}:{row["_line"]}: exit "{row["exit"]}" is not a number: row left out')
        continue
    key = tuple(row[k] for k in KEYS)
    c = configs.setdefault(key, dict(zip(KEYS, key), runs=0, failed=0, tiny=0, values=defaultdict(list)))
    cpus, cpu_model = row["cpus"] or "1", row["cpu_model"]
    machines.setdefault(f'{row["host"]} ({cpus} CPUs, {cpu_model})', row["_line"])
    c["runs"] += 1
    if int(row["exit"]) != 0 or row["seconds"] == "":
        c["failed"] += 1
        continue
    c["tiny"] += number(row["seconds"]) < 0.005
    for name in MEDIANS:
        if row[name] != "":
            c["values"][name].append(number(row[name]))
    # The record's other numbers: each pair split at its first "=", the
    # last of a name kept.
    for name, value in extra_pairs(row["extra"]).items():
        if EXTRA_NAME.fullmatch(name) and EXTRA_NUMBER.fullmatch(value):
            extras[name] = True
            c["values"]["x_" + name].append(float(value))
if not configs:
    die(f"no row of {runs} can be read", 2)
cores = number(cpus) or 1
for c in configs.values():
    for name, column in MEDIANS.items():
        c[column] = median(c["values"][name])
    c["min_s"] = min(c["values"]["seconds"], default=None)
    c["max_s"] = max(c["values"]["seconds"], default=None)
    # The medians of the other numbers (%.10g: a median of two large
    # counts, 1234567.5, stays a plain number).
    c["x"] = {name: median(c["values"]["x_" + name]) for name in extras if c["values"]["x_" + name]}
    plain = {k: int(v) if v == int(v) else format(v, ".10g") for k, v in c["x"].items()}
    c["extra"] = " ".join(f"{k}={v}" for k, v in plain.items())
    c["cpus"], c["cpu_model"] = cpus, cpu_model


# ---- Baselines and ideals.
def baseline(c):
    e = c["experiment"]
    py = "py_" if e.startswith("py_") else ""
    if IO.match(e):
        key = (py + "io_sync", "sync", c["workload"], c["tasks"], "", "1", c["latency_ms"], "", "", "")
        return configs.get(key)
    if CPU.match(e):
        key = (py + "cpu_sync", "sync", c["workload"], c["tasks"], c["size"], "1", "", "", "", "")
        return configs.get(key)
    # The manager of the same numbers and chunks.
    if c["model"] == "shared-memory":
        return managers.get((e, c["numbers"], c["chunks"]))
    return None


# Each manager configuration by its lesson, numbers and chunks (the first,
# if several did different numbers of operations), found in one pass: a
# pass per configuration took minutes for 20,000 of them.
managers = {}
for b in configs.values():
    if b["model"] == "manager":
        managers.setdefault((b["experiment"], b["numbers"], b["chunks"]), b)
for c in configs.values():
    m = c["median_s"]
    b = baseline(c)
    b = c["base"] = b if b and b["median_s"] is not None else {}
    c["baseline"] = "manager" if b.get("model") == "manager" else b.get("experiment", "")
    c["baseline_s"] = b.get("median_s")
    c["speedup"] = c["baseline_s"] / m if b and m else None
    # Shared memory and the manager may do different numbers of operations
    # (each sized to be timed well): compare their rates.
    if b and c["model"] == "shared-memory" and (c["ops_per_s"] or 0) > 0 and (b["ops_per_s"] or 0) > 0:
        c["speedup"] = c["ops_per_s"] / b["ops_per_s"]
    w = n(c["workers"])
    c["ideal_s"] = None
    if IO.match(c["experiment"]) and c["latency_ms"] != "" and w > 0:
        c["ideal_s"] = math.ceil(n(c["tasks"]) / w) * n(c["latency_ms"]) / 1000
    elif CPU.match(c["experiment"]) and b and w > 0:
        c["ideal_s"] = b["median_s"] / min(w, cores)
    c["efficiency"] = c["ideal_s"] / m if c["ideal_s"] is not None and m else None
    c["spread_pct"] = (c["max_s"] - c["min_s"]) / m * 100 if m else None

# ---- The summary, and the reference table from it: the fastest
# configuration of each model per lesson, workload, tasks, size and latency
# (the most sets a second for the manager lesson), in the order measured.
summary = [{k: fmt(c[k], FORMATS.get(k, "")) for k in COLUMNS} for c in configs.values()]
with open(f"{work}/summary.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary)
fastest = {}
for i, r in enumerate(summary):
    group = tuple(r[k] for k in ("experiment", "model", "workload", "tasks", "size", "latency_ms"))
    rank = -float(r["ops_per_s"]) if r["ops_per_s"] else number(r["median_s"])
    if r["median_s"] and (group not in fastest or rank < fastest[group][0]):
        fastest[group] = (rank, i)
table = []
for i in sorted(i for rank, i in fastest.values()):
    r = summary[i]
    size = n(r["size"])
    size = f"{int(size / 1e6)}M" if size >= 1e6 else f"{int(size / 1000)}k" if size >= 1000 else r["size"]
    what = r["model"]
    if r["experiment"].startswith("io_"):
        what = r["tasks"] + " x " + (r["latency_ms"] + " ms" if r["latency_ms"] else r["workload"])
    elif r["experiment"].startswith("cpu_"):
        what = f'{r["workload"]} {r["tasks"]} x {size}'
    workers = r["chunks"] + " children" if "manager" in r["experiment"] else r["workers"]
    low, middle, high = (float(r[k]) for k in ("min_s", "median_s", "max_s"))
    cells = [lesson(r), what, workers, f"{middle:.3f}", f"{low:.3f}–{high:.3f}",
             fmt(number(r["speedup"]), ".2f"), fmt(number(r["efficiency"]), ".2f"), r["ops_per_s"]]
    table.append(cells)
header = ["lesson", "workload", "workers", "median s", "min–max s", "speedup", "efficiency", "sets/s"]
with open(f"{work}/summary.md", "w") as f:
    f.write(f"Made by `make all`: {cpus} CPUs, {cpu_model}; the fastest configuration of each model,"
            " medians of its runs (every configuration is in `results/summary.csv`).\n\n")
    f.write(markdown(header, table) if table else "")


# ---- What the numbers show, for a learner.
# "3.1x faster than", "about as fast as" or "1.2x slower than".
def compared(speed):
    if speed is None or speed <= 0:
        return "not comparable with"
    if speed >= 1.05:
        return times(speed) + " faster than"
    return "about as fast as" if speed > 0.95 else times(1 / speed) + " slower than"


# The best worker count of every other model measured against baseline b,
# in the order measured.
def describe_best(b):
    for c in sorted(best_of.get(id(b), {}).values(), key=lambda c: position[id(c)]):
        ideal = "" if c["ideal_s"] is None else "; the ideal is " + secs(c["ideal_s"])
        workers = f'{int(n(c["workers"]))} worker{plural(c["workers"])}'
        lines.append(f'  {lesson(c)} at its best, with {workers}: {secs(c["median_s"])},'
                     f' {compared(c["speedup"])} {b["experiment"]}{ideal}.')


# A title above the first line of its kind.
def heading(title):
    if title not in lines:
        lines.extend(["", title])


measured = [c for c in configs.values() if c["median_s"] is not None]
# The fastest configuration of each model against each baseline, in one
# pass (a pass per baseline took minutes for 20,000 configurations).
best_of = {}
for c in sorted(measured, key=lambda c: c["median_s"]):
    if c["base"] and c is not c["base"]:
        best_of.setdefault(id(c["base"]), {}).setdefault(c["model"], c)
position = {id(c): i for i, c in enumerate(configs.values())}
total = sum(c["runs"] for c in configs.values())
lines.append(f"{total} runs of {len(configs)} configurations on {int(cores)} CPUs ({cpu_model}).")
for c in measured:
    e, t, x, m = c["experiment"], int(n(c["tasks"])), c["x"], c["median_s"]
    if c["model"] == "sync" and IO.match(e):
        lat = c["latency_ms"]
        waiting = f" ({t} x {n(lat):g} ms = {secs(c['ideal_s'] or 0)} of pure waiting)" if lat else ""
        lines += ["", f'I/O: {e} fetched {t} /{c["workload"]} URLs one after another in {secs(m)}{waiting}.']
        describe_best(c)
    elif c["model"] == "sync" and CPU.match(e):
        lines += ["", f'CPU: {e} ran {t} {c["workload"]} tasks (size {c["size"]}) on one core in {secs(m)}.']
        describe_best(c)
    elif e == "race" and x.get("expected", 0) > 0:
        heading("Race: threads adding to one counter"
                " (lost updates, and ns per increment, all threads together):")
        lost = x.get("lost", 0) / x["expected"] * 100
        threads = f'{int(n(c["workers"]))} thread{plural(c["workers"])}'
        lines.append(f'  {c["model"]}, {threads}: {lost:.1f}% of the updates lost,'
                     f' {g(x.get("ns_per_increment", 0), 3)} ns per increment.')
    elif c["model"] == "shared-memory" and c["speedup"] is not None:
        heading("Manager process against shared memory (sets per second, all children together):")
        manager, shared = rate(c["base"]["ops_per_s"] or 0), rate(c["ops_per_s"] or 0)
        children = f'{int(n(c["chunks"]))} child{plural(c["chunks"], "ren")}'
        lines.append(f"  {children}: the manager {manager} sets/s, shared memory {shared} sets/s,"
                     f' {times(c["speedup"])} as many.')

# ---- Where the numbers cannot be trusted.
# A file of runs from two machines (runs appended by hand) would pool them.
warnings = []
if len(machines) > 1:
    seen = ", ".join(f"{m} from line {line}" for m, line in machines.items())
    warnings.append(f"the runs come from {len(machines)} machines ({seen}): the medians mix them;"
                    " summarize one machine's runs.")
    say(warnings[0])
for c in configs.values():
    words = [c["experiment"] + (" --gil" if c["model"].endswith("-gil") else ""),
             c["workload"] or ("" if c["chunks"] else c["model"]),
             c["workers"] and "workers=" + c["workers"],
             c["chunks"] and f'chunks={c["chunks"]} ({c["model"]})']
    label = " ".join(word for word in words if word)
    if c["failed"]:
        warnings.append(f'{label}: {c["failed"]} of {c["runs"]} runs failed'
                        " (see the exit column of the runs).")
    if c["tiny"]:
        warnings.append(f'{label}: {c["tiny"]} run(s) took under 5 ms, too short to time well.')
    if (c["spread_pct"] or 0) > 10 and c["runs"] - c["failed"] > 1:
        warnings.append(f'{label}: the runs spread over {c["spread_pct"]:.0f}% of the median'
                        f' ({secs(c["min_s"])} to {secs(c["max_s"])}).')
if warnings:
    heading("Warnings:")
lines += ["  " + warning for warning in warnings[:12]]
if len(warnings) > 12:
    lines.append(f"... and {len(warnings) - 12} more warnings"
                 " (see failed and spread_pct in the summary).")
write_lines(f"{work}/text", lines)
