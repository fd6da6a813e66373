#!/usr/bin/python3
"""gil_compare.py - CPython's own GIL against the C lessons' emulated one.

Runs, on this machine, in interleaved rounds (every configuration once,
then all again), each under /usr/bin/time:
  threads   per workload (sumsq, fib, sha256): cpu_sync.py and cpu_threads.py
            with 1, 2 and 5 threads; bin/cpu_sync and bin/cpu_threads --gil
            with 1, 2 and 5 threads. Sizes make each sequential run 1-2 s.
  interval  sumsq and sha256 on 2 threads at switch intervals of 200 us to
            1 s (sys.setswitchinterval / --switch-interval-us): at 1 s the
            threads hardly ever hand over.
  pinned    each workload, sequential and 2 threads, all on one CPU
            (taskset -c 0): every hand-over stays on that CPU.
  handover  gil_handover.py: CPython's hand-overs counted from inside, and
            the time neither thread ran at each: per workload at every
            interval above (on 2 CPUs), and at 5 ms on one CPU.
  convoy    io_convoy.py against bin/io_convoy --gil (1 ms requests), at
            5 ms and 1 ms switch intervals.
and writes one CSV row per configuration: the median time, the sequential
baseline of the same implementation, speed_vs_sequential (baseline /
median: below 1, the threads lose; speed_of_mins, the same from the best
runs; speed_paired, the median of the round-by-round ratios, the steadiest
on a busy machine), the CPU time (user + sys: when it
grows with the wall time, the work itself ran slower; when it does not,
the threads waited), context switches, the emulation's
counted hand-overs (gil_switches) and, for CPython, an estimate of them:
the hand-overs a second gil_handover.py counts for the same workload and
interval, times the run's median seconds (fib, not in that section but
at 5 ms, from sumsq's rate), and the cost of one hand-over:
(median - baseline) / hand-overs.

Usage: experiments/python/gil_compare.py [--rounds R] [--out FILE] [--bin DIR] [--quick]
                                         [--sections LIST] [--workloads LIST]
  make build && experiments/python/gil_compare.py            (about 12 minutes)
  --quick: tiny sizes and one round, to check the script itself.
Writes results/gil_python.csv by default (through a temporary file and a
rename). Starts and stops its own lab server for the convoy rows.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"

# Sizes: CPython's sequential run and C's each take about 1.5-2 s for 10 tasks.
SIZES = {"python": {"sumsq": 4_500_000, "fib": 30, "sha256": 400_000},
         "c": {"sumsq": 300_000_000, "fib": 39, "sha256": 2_000_000}}
QUICK = {"python": {"sumsq": 200_000, "fib": 20, "sha256": 20_000},
         "c": {"sumsq": 5_000_000, "fib": 27, "sha256": 50_000}}
TASKS = 10
INTERVALS = (200, 1000, 5000, 20000, 1_000_000)
COLUMNS = ["section", "impl", "workload", "workers", "switch_interval_us", "pinned",
           "tasks", "size", "runs", "median_s", "min_s", "max_s", "cpu_s", "baseline_s",
           "speed_vs_sequential", "speed_of_mins", "speed_paired", "vol_cs", "invol_cs", "gil_switches", "switches_est",
           "cost_per_switch_us", "alone_ms", "beside_cpu_ms", "handovers_per_s",
           "dead_us_median", "lost_pct"]


def config(section, impl, workload, workers, interval=5000, pinned=False, sizes=SIZES):
    """One configuration: its key fields and the command that runs it."""
    lang = "python" if impl == "cpython" else "c"
    size = sizes[lang][workload]
    if impl == "cpython":
        program = [PY, os.path.join(HERE, "cpu_sync.py" if workers == 0 else "cpu_threads.py")]
    else:
        program = [os.path.join(BIN, "cpu_sync" if workers == 0 else "cpu_threads")]
    args = ["--workload", workload, "--tasks", str(TASKS), "--size", str(size)]
    if workers:
        args += ["--workers", str(workers), "--switch-interval-us", str(interval)]
        args += ["--gil"] if impl == "emulated" else []
    command = (["taskset", "-c", "0"] if pinned else []) + program + args
    return {"section": section, "impl": impl, "workload": workload, "workers": workers,
            "switch_interval_us": interval if workers else "", "pinned": int(pinned),
            "tasks": TASKS, "size": size, "command": command, "runs": []}


def plan(quick):
    sizes = QUICK if quick else SIZES
    configs = []
    for workload in ("sumsq", "fib", "sha256"):
        for impl in ("cpython", "emulated"):
            for workers in (0, 1, 2, 5):
                configs.append(config("threads", impl, workload, workers, sizes=sizes))
    for workload in ("sumsq", "sha256"):
        for impl in ("cpython", "emulated"):
            for interval in INTERVALS:
                if interval == 5000:
                    continue        # the threads section's own run
                configs.append(config("interval", impl, workload, 2, interval, sizes=sizes))
    for workload in ("sumsq", "fib", "sha256"):
        for impl in ("cpython", "emulated"):
            for workers in (0, 2):
                configs.append(config("pinned", impl, workload, workers, pinned=True,
                                      sizes=sizes))
    handovers = [(w, i, False) for w in ("sumsq", "sha256") for i in INTERVALS]
    handovers += [(w, 5000, p) for w in ("sumsq", "fib", "sha256") for p in (False, True)
                  if (w, 5000, p) not in handovers]
    for workload, interval, pinned in handovers:
        configs.append({"section": "handover", "impl": "cpython", "workload": workload,
                        "workers": 2, "switch_interval_us": interval, "pinned": int(pinned),
                        "tasks": "", "size": "", "runs": [],
                        "command": (["taskset", "-c", "0"] if pinned else [])
                        + [PY, os.path.join(HERE, "gil_handover.py"), "--workload", workload,
                           "--switch-interval-us", str(interval),
                           "--seconds", "0.5" if quick else "2"]})
    return configs


def convoy_configs(url, quick):
    configs = []
    requests = "20" if quick else "300"
    for interval in (5000, 1000):
        for impl in ("cpython", "emulated"):
            program = ([PY, os.path.join(HERE, "io_convoy.py")] if impl == "cpython"
                       else [os.path.join(BIN, "io_convoy"), "--gil"])
            configs.append({"section": "convoy", "impl": impl, "workload": "delay_1ms",
                            "workers": 1, "switch_interval_us": interval, "pinned": 0,
                            "tasks": int(requests), "size": "", "runs": [],
                            "command": program + ["--url", url + "/delay?s=0.001&bytes=100",
                                                  "--requests", requests,
                                                  "--switch-interval-us", str(interval)]})
    return configs


def run_once(c):
    """Run c's command under time(1): the record's pairs and time's counts."""
    with tempfile.NamedTemporaryFile("r") as timing:
        done = subprocess.run(["/usr/bin/time", "-o", timing.name, "-f", "%e %U %S %w %c"]
                              + c["command"], capture_output=True, text=True)
        wall, user, system, vol, invol = timing.read().split()[-5:]
    if done.returncode != 0:
        sys.exit(f"gil_compare.py: {' '.join(c['command'])} failed "
                 f"(exit {done.returncode}): {done.stderr.strip()[-300:]}")
    pairs = dict(p.split("=", 1) for p in done.stdout.splitlines()[-1].split() if "=" in p)
    pairs.update(vol_cs=int(vol), invol_cs=int(invol), cpu_s=float(user) + float(system))
    return pairs


def median_of(c, key):
    values = [float(r[key]) for r in c["runs"] if r.get(key) not in (None, "")]
    return statistics.median(values) if values else None


def summarize(configs):
    """The rows: medians, baselines, hand-overs and their cost."""
    rows = []
    baseline, baseline_min, baseline_runs = {}, {}, {}
    for c in configs:
        if c["workers"] == 0:
            key = (c["impl"], c["workload"], c["pinned"])
            baseline[key] = median_of(c, "seconds")
            baseline_min[key] = min(float(r["seconds"]) for r in c["runs"])
            baseline_runs[key] = [float(r["seconds"]) for r in c["runs"]]
    # CPython's hand-overs a second, counted by gil_handover.py, per
    # workload, interval and pinning.
    rate = {(c["workload"], c["switch_interval_us"], c["pinned"]): median_of(c, "per_s")
            for c in configs if c["section"] == "handover"}
    for c in configs:
        seconds = median_of(c, "seconds")
        base = baseline.get((c["impl"], c["workload"], c["pinned"]))
        base_min = baseline_min.get((c["impl"], c["workload"], c["pinned"]))
        base_runs = baseline_runs.get((c["impl"], c["workload"], c["pinned"]))
        vol = median_of(c, "vol_cs")
        counted = median_of(c, "gil_switches") if c["impl"] == "emulated" else None
        switches = counted
        if c["impl"] == "cpython" and c["workers"] >= 2 and c["section"] in ("threads", "interval", "pinned"):
            per_s = rate.get((c["workload"], c["switch_interval_us"], c["pinned"]),
                             rate.get(("sumsq", c["switch_interval_us"], c["pinned"])))
            switches = per_s * seconds if per_s is not None else None
        cost = None
        if c["section"] in ("convoy", "handover"):
            base = base_min = None
        if base and switches and c["workers"] >= 2:
            cost = (seconds - base) / switches * 1e6
        times = [float(r["seconds"]) for r in c["runs"]]
        # Round by round: the sequential run and this one ran minutes apart
        # at most, under much the same load from the rest of the machine.
        paired = (statistics.median(b / t for b, t in zip(base_runs, times))
                  if base and base_runs and c["workers"] else None)

        def fmt(value, spec):
            return "" if value is None else format(value, spec)
        rows.append({
            "section": c["section"], "impl": c["impl"], "workload": c["workload"],
            "workers": c["workers"], "switch_interval_us": c["switch_interval_us"],
            "pinned": c["pinned"], "tasks": c["tasks"], "size": c["size"],
            "runs": len(times), "median_s": fmt(seconds, ".4f"), "min_s": fmt(min(times), ".4f"),
            "max_s": fmt(max(times), ".4f"), "cpu_s": fmt(median_of(c, "cpu_s"), ".2f"),
            "baseline_s": fmt(base, ".4f"),
            "speed_vs_sequential": fmt(base / seconds if base and c["workers"] else None, ".3f"),
            "speed_of_mins": fmt(base_min / min(times) if base_min and c["workers"] else None,
                                 ".3f"),
            "speed_paired": fmt(paired, ".3f"),
            "vol_cs": fmt(vol, ".0f"), "invol_cs": fmt(median_of(c, "invol_cs"), ".0f"),
            "gil_switches": fmt(counted, ".0f"),
            "switches_est": fmt(switches if c["impl"] == "cpython" else None, ".0f"),
            "cost_per_switch_us": fmt(cost, ".1f"),
            "alone_ms": fmt(median_of(c, "alone_ms"), ".3f"),
            "beside_cpu_ms": fmt(median_of(c, "beside_cpu_ms"), ".3f"),
            "handovers_per_s": fmt(median_of(c, "per_s"), ".0f"),
            "dead_us_median": fmt(median_of(c, "dead_us_median"), ".1f"),
            "lost_pct": fmt(median_of(c, "lost_pct"), ".2f")})
    return rows


def main():
    global BIN
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default=os.path.join(TOP, "results", "gil_python.csv"))
    p.add_argument("--bin", default=os.path.join(TOP, "bin"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sections", default="threads,interval,pinned,handover,convoy",
                   help="which sections to run, comma-separated")
    p.add_argument("--workloads", default="sumsq,fib,sha256",
                   help="which CPU workloads, comma-separated")
    o = p.parse_args()
    BIN = os.path.abspath(o.bin)
    if o.rounds < 1:
        p.error("--rounds wants a whole number from 1")
    url = subprocess.run([os.path.join(TOP, "scripts", "labserver"), "start"],
                         capture_output=True, text=True, check=True).stdout.strip()
    try:
        configs = [c for c in plan(o.quick) + convoy_configs(url, o.quick)
                   if c["section"] in o.sections.split(",")
                   and (c["section"] == "convoy" or c["workload"] in o.workloads.split(","))]
        total = len(configs) * o.rounds
        n = 0
        for _ in range(o.rounds):
            for c in configs:
                n += 1
                c["runs"].append(run_once(c))
                print(f"[{n}/{total}] {c['section']} {c['impl']} {c['workload']} "
                      f"workers={c['workers']} interval={c['switch_interval_us']} "
                      f"pinned={c['pinned']}: {c['runs'][-1]['seconds']} s", file=sys.stderr)
    finally:
        subprocess.run([os.path.join(TOP, "scripts", "labserver"), "stop"], check=False)
    rows = summarize(configs)
    os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
    tmp = o.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, o.out)
    print(f"gil_compare.py: {len(rows)} rows in {o.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
