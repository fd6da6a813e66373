# The summary step of scripts/summarize (whose header tells the columns
# and the method): summary.py RUNS DIR writes DIR/summary.csv (the runs per
# configuration), DIR/summary.md (the fastest configuration of each model)
# and DIR/text (what the numbers show, for a learner).
import csv
import math
import re
import sys

from common import die, g, markdown, number, rows, say

KEYS = "experiment model workload tasks size workers latency_ms numbers chunks ops".split()
NUMBERS = KEYS[3:] + "seconds wall_s user_s sys_s max_rss_kb vol_cs invol_cs cpu_util ops_per_s".split()
MEASURES = "seconds cpu_util vol_cs invol_cs max_rss_kb ops_per_s".split()
COLUMNS = KEYS + """runs failed median_s min_s max_s spread_pct baseline baseline_s speedup ideal_s efficiency
    cpu_util vol_cs invol_cs max_rss_kb ops_per_s extra cpus cpu_model""".split()
# The record's other numbers (extra: "lost=... ns_per_increment=...").
EXTRA_NAME = re.compile(r"[a-z][a-z0-9_]*")
EXTRA_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
IO = re.compile(r"(py_)?io_")
CPU = re.compile(r"(py_)?cpu_")
SAME_SUM = ("experiment", "numbers", "chunks")

runs, work = sys.argv[1:]
configs = {}
extra_names = {}   # every name in the extra column, in the order first seen
text = open(f"{work}/text", "w")


# A field as awk takes it: empty is 0.
def n(field):
    return number(field) or 0


# Miller's interpolated median to the last bit (stats1 -i): the lower
# middle value plus half the step to the upper one.
def median(values):
    ordered = sorted(values)
    low = ordered[(len(ordered) - 1) // 2]
    return low + (ordered[len(ordered) // 2] - low) * 0.5


def tell(line=""):
    print(line, file=text)


def fmt(x, spec):
    return "" if x is None else format(x, spec)


def secs(x):
    return f"{x:.1f} s" if x >= 10 else f"{x:.2f} s" if x >= 0.1 else f"{x:.3f} s"


def times(x):
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def rate(x):
    return f"{x / 1e6:.1f} million" if x >= 1e6 else f"{x:.0f}"


def lesson(c):
    model = c["model"]
    return c["experiment"] + (" --gil" if model.endswith("-gil") else " over " + model[4:] if model.startswith("mpi-") else "")


# ---- Check every row, then gather the runs of each configuration.
try:
    for row in rows(runs, numbers=["exit"] + NUMBERS + ["cpus"], required=["commit"]):
        if not re.fullmatch("[0-9]+", row["exit"]):
            say(f'{runs}:{row["_line"]}: exit "{row["exit"]}" is not a number: row left out')
            continue
        key = tuple(row[k] for k in KEYS)
        c = configs.setdefault(key, dict(zip(KEYS, key), runs=0, failed=0, tiny=0, values={}, extra={}))
        cpus, cpu_model = row["cpus"] or "1", row["cpu_model"]
        c["runs"] += 1
        if int(row["exit"]) != 0 or row["seconds"] == "":
            c["failed"] += 1
            continue
        c["tiny"] += number(row["seconds"]) < 0.005
        for name in MEASURES:
            if row[name] != "":
                c["values"].setdefault(name, []).append(number(row[name]))
        # Each pair split at its first "=", the last of a name kept.
        pairs = dict(pair.split("=", 1) for pair in row.get("extra", "").split(" ") if "=" in pair)
        for name, value in pairs.items():
            if EXTRA_NAME.fullmatch(name) and EXTRA_NUMBER.fullmatch(value):
                extra_names[name] = True
                c["extra"].setdefault(name, []).append(float(value))
except KeyError as column:
    die(f"{runs} has no column {column}: not a runs file")
if not configs:
    die(f"no row of {runs} can be read")
cores = number(cpus) or 1
for c in configs.values():
    for name in MEASURES:
        c[name] = median(c["values"][name]) if name in c["values"] else None
    seconds = c["values"].get("seconds", [])
    c["lo"], c["hi"] = min(seconds, default=None), max(seconds, default=None)
    c["extra"] = {name: median(c["extra"][name]) for name in extra_names if name in c["extra"]}


# ---- Baselines and ideals.
def baseline(c):
    e = c["experiment"]
    py = "py_" if e.startswith("py_") else ""
    if IO.match(e):
        return configs.get((py + "io_sync", "sync", c["workload"], c["tasks"], "", "1", c["latency_ms"], "", "", ""))
    if CPU.match(e):
        return configs.get((py + "cpu_sync", "sync", c["workload"], c["tasks"], c["size"], "1", "", "", "", ""))
    # The manager with the same numbers and chunks (the first one, if
    # several did different numbers of operations).
    for b in configs.values():
        if c["model"] == "shared-memory" and b["model"] == "manager" and all(b[k] == c[k] for k in SAME_SUM):
            return b
    return None


for c in configs.values():
    m = c["seconds"]
    b = baseline(c)
    c["base"] = b if b and b["seconds"] is not None else None
    c["speed"] = c["ideal"] = None
    if c["base"] and m:
        c["speed"] = b["seconds"] / m
    # Shared memory and the manager may do different numbers of operations
    # (each sized to be timed well): compare their rates.
    if c["base"] and c["model"] == "shared-memory" and (c["ops_per_s"] or 0) > 0 and (b["ops_per_s"] or 0) > 0:
        c["speed"] = c["ops_per_s"] / b["ops_per_s"]
    w = n(c["workers"])
    if IO.match(c["experiment"]) and c["latency_ms"] != "" and w > 0:
        c["ideal"] = math.ceil(n(c["tasks"]) / w) * n(c["latency_ms"]) / 1000
    elif CPU.match(c["experiment"]) and c["base"] and w > 0:
        c["ideal"] = b["seconds"] / min(w, cores)
    c["efficiency"] = c["ideal"] / m if c["ideal"] is not None and m else None
    c["spread"] = (c["hi"] - c["lo"]) / m * 100 if m else None


# ---- The summary, a row per configuration.
def plain(x):
    return str(int(x)) if x == int(x) else f"{x:.10g}"


summary = []
for c in configs.values():
    b = c["base"] or {}
    name = "manager" if b.get("model") == "manager" else b.get("experiment", "")
    extra = " ".join(f"{k}={plain(v)}" for k, v in c["extra"].items())
    values = [c[k] for k in KEYS] + [c["runs"], c["failed"], fmt(c["seconds"], ".6f"), fmt(c["lo"], ".6f"),
              fmt(c["hi"], ".6f"), fmt(c["spread"], ".1f"), name, fmt(b.get("seconds"), ".6f"),
              fmt(c["speed"], ".3f"), fmt(c["ideal"], ".6f"), fmt(c["efficiency"], ".3f"),
              fmt(c["cpu_util"], ".3f"), fmt(c["vol_cs"], ".0f"), fmt(c["invol_cs"], ".0f"),
              fmt(c["max_rss_kb"], ".0f"), fmt(c["ops_per_s"], ".0f"), extra, cpus, cpu_model]
    summary.append(dict(zip(COLUMNS, values)))
with open(f"{work}/summary.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary)


# ---- The reference table: the fastest configuration of each model (the
# most sets a second for the manager lesson), in the order measured.
def group(r):
    return tuple(r[k] for k in ("experiment", "model", "workload", "tasks", "size", "latency_ms"))


def rank(r):
    return -float(r["ops_per_s"]) if r["ops_per_s"] else float(r["median_s"])


def cells(r):
    e, size = r["experiment"], n(r["size"])
    size = f"{int(size / 1e6)}M" if size >= 1e6 else f"{int(size / 1000)}k" if size >= 1000 else r["size"]
    what = r["model"]
    if e.startswith("io_"):
        what = r["tasks"] + " x " + (r["latency_ms"] + " ms" if r["latency_ms"] else r["workload"])
    elif e.startswith("cpu_"):
        what = f'{r["workload"]} {r["tasks"]} x {size}'
    workers = r["chunks"] + " children" if "manager" in e else r["workers"]
    two = [fmt(number(r[k]), ".2f") for k in ("speedup", "efficiency")]
    values = [lesson(r), what, workers, f'{float(r["median_s"]):.3f}',
              f'{float(r["min_s"]):.3f}–{float(r["max_s"]):.3f}'] + two + [r["ops_per_s"]]
    return [v.replace("|", "\\|") for v in values]


best = {}
for r in summary:
    if r["median_s"] and (group(r) not in best or rank(r) < rank(best[group(r)])):
        best[group(r)] = r
table = [cells(r) for r in summary if best.get(group(r)) is r]
header = ["lesson", "workload", "workers", "median s", "min–max s", "speedup", "efficiency", "sets/s"]
with open(f"{work}/summary.md", "w") as f:
    f.write(f"Made by `make all`: {cpus} CPUs, {cpu_model}; the fastest configuration of each model, medians of"
            " its runs (every configuration is in `results/summary.csv`).\n\n")
    f.write(markdown(header, table) if table else "")


# ---- What the numbers show, for a learner.
def compared(speed):
    if speed is None or speed <= 0:
        return "not comparable with"
    if speed >= 1.05:
        return times(speed) + " faster than"
    if speed > 0.95:
        return "about as fast as"
    return times(1 / speed) + " slower than"


# The best worker count of every other model measured against baseline b.
def describe_best(b):
    best = {}
    for c in configs.values():
        if c["base"] is b and c is not b and c["seconds"] is not None and (c["model"] not in best or c["seconds"] < best[c["model"]]["seconds"]):
            best[c["model"]] = c
    for c in configs.values():
        if best.get(c["model"]) is c:
            ideal = "" if c["ideal"] is None else "; the ideal is " + secs(c["ideal"])
            tell(f'  {lesson(c)} at its best, with {int(n(c["workers"]))} worker{plural(c["workers"])}: '
                 f'{secs(c["seconds"])}, {compared(c["speed"])} {b["experiment"]}{ideal}.')


def plural(count, ending="s"):
    return "" if n(count) == 1 else ending


def heading(title):
    if title not in said:
        said.add(title)
        tell()
        tell(title)


said = set()
tell(f"{sum(c['runs'] for c in configs.values())} runs of {len(configs)} configurations on {int(cores)} CPUs ({cpu_model}).")
for c in configs.values():
    e, x, seconds = c["experiment"], c["extra"], c["seconds"]
    if seconds is None:
        continue
    if c["model"] == "sync" and IO.match(e):
        lat = c["latency_ms"]
        waiting = f' ({int(n(c["tasks"]))} x {n(lat):g} ms = {secs(c["ideal"] or 0)} of pure waiting)' if lat else ""
        tell()
        tell(f'I/O: {e} fetched {int(n(c["tasks"]))} /{c["workload"]} URLs one after another in {secs(seconds)}{waiting}.')
        describe_best(c)
    elif c["model"] == "sync" and CPU.match(e):
        tell()
        tell(f'CPU: {e} ran {int(n(c["tasks"]))} {c["workload"]} tasks (size {c["size"]}) on one core in {secs(seconds)}.')
        describe_best(c)
    elif e == "race" and x.get("expected", 0) > 0:
        heading("Race: threads adding to one counter (lost updates, and ns per increment, all threads together):")
        tell(f'  {c["model"]}, {int(n(c["workers"]))} thread{plural(c["workers"])}: {x.get("lost", 0) / x["expected"] * 100:.1f}%'
             f' of the updates lost, {g(x.get("ns_per_increment", 0), 3)} ns per increment.')
    elif c["model"] == "shared-memory" and c["speed"] is not None:
        heading("Manager process against shared memory (sets per second, all children together):")
        tell(f'  {int(n(c["chunks"]))} child{plural(c["chunks"], "ren")}: the manager {rate(c["base"]["ops_per_s"] or 0)} sets/s,'
             f' shared memory {rate(c["ops_per_s"] or 0)} sets/s, {times(c["speed"])} as many.')


# ---- Where the numbers cannot be trusted.
def label(c):
    s = c["experiment"] + (" --gil" if c["model"].endswith("-gil") else "")
    if c["workload"]:
        s += " " + c["workload"]
    if not c["workload"] and not c["chunks"] and c["model"]:
        s += " " + c["model"]
    if c["workers"]:
        s += " workers=" + c["workers"]
    if c["chunks"]:
        s += f' chunks={c["chunks"]} ({c["model"]})'
    return s


warnings = []
for c in configs.values():
    if c["failed"]:
        warnings.append(f'{label(c)}: {c["failed"]} of {c["runs"]} runs failed (see the exit column of the runs).')
    if c["tiny"]:
        warnings.append(f'{label(c)}: {c["tiny"]} run(s) took under 5 ms, too short to time well.')
    if c["spread"] is not None and c["spread"] > 10 and c["runs"] - c["failed"] > 1:
        warnings.append(f'{label(c)}: the runs spread over {c["spread"]:.0f}% of the median'
                        f' ({secs(c["lo"])} to {secs(c["hi"])}).')
if warnings:
    heading("Warnings:")
for warning in warnings[:12]:
    tell("  " + warning)
if len(warnings) > 12:
    tell(f"... and {len(warnings) - 12} more warnings (see failed and spread_pct in the summary).")
