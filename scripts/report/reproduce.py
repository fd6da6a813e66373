# The plan and the report of scripts/reproduce, as two steps that take the
# same arguments:
#   reproduce.py jobs|tables WORK PLAN PUBLISHED RUNS BIN CPUS LATENCY_SCALE
#       SIZE_SCALE REPEAT REPORT_ONLY [CASE...]
# Both read the plan joined with published.csv (a bad line: one message,
# exit 2) into its rows, each row a C job and its Python twin's, and decide
# which jobs run now (REPORT_ONLY 0, and CASE among the --only CASEs when
# some are given), under which tag, and which share the run of an identical
# command. `jobs` writes WORK/run-jobs, the job list for lib.sh's run_jobs
# (@base stands for the server's URL), says what cannot run, and exits 1
# when a lesson is missing; an --only CASE the plan does not have is printed
# instead. `tables` writes WORK/reproduce.csv, WORK/reproduce.md and
# WORK/caption (the chart's subtitle) from the runs in RUNS.
import csv
import math
import os
import platform
import re
import statistics
import subprocess
import sys

from common import die, g, number, rows, say

step, work, plan, published, runs_csv, bin_dir, cpus, latency_scale, size_scale, repeat, report_only = sys.argv[1:12]
only = sys.argv[12:]
# A case line's settings and the values they take.
SETTINGS = {"urls": "delay|cats|none", "bytes": "[0-9]+(,[0-9]+)*", "repeat": "[1-9][0-9]*",
            "py-size": "([0-9]*[.])?[0-9]+", "base": "[0-9.]+"}


def fail(line, message):
    die(f"{plan}:{line}: {message}", 2)


# ---- 1. The plan, joined with published.csv ---------------------------------
count = {}
pub = {}
for p in rows(published):
    key = (p["year"] or "-", p["experiment"], p["seconds"])
    count[key] = count.get(key, 0) + 1
    pub[key] = p
cases = {}
nopython = {}
extras = []
plan_rows = []
with open(plan, newline="", errors="replace") as f:
    lines = f.read().split("\n")
for line_number, line in enumerate(lines, 1):
    if re.match(r"[ \t]*(#|$)", line):
        continue
    # A | parts the words from the machine reason, a second | that from the language reason.
    line, _, reason = line.partition("|")
    reason, _, lang_reason = reason.partition("|")
    reason = reason.strip(" \t").replace("{cpus}", cpus)
    lang_reason = lang_reason.strip(" \t").replace("{cpus}", cpus)
    w = re.split(r"[ \t]+", line)
    if w[0] == "":
        del w[0]
    if w[0:1] == ["case"]:
        if len(w) < 3:
            fail(line_number, "a case needs an id and urls=")
        case = cases[w[1]] = {"urls": "", "bytes": "", "repeat": "1", "py-size": "1", "base": None,
                              "noextra": False, "base_key": None}
        for setting in w[2:]:
            name, _, value = setting.partition("=")
            if setting == "noextra":
                case["noextra"] = True
            elif re.fullmatch(SETTINGS.get(name, "(?!)"), value) and (name != "py-size" or float(value) > 0):
                case[name] = value
            else:
                fail(line_number, "unknown setting " + setting)
        if case["urls"] == "":
            fail(line_number, f"case {w[1]} says no urls=")
        if case["urls"] == "delay" and case["bytes"] == "":
            fail(line_number, f"case {w[1]} needs bytes=")
    elif w[0:1] == ["nopython"]:
        if len(w) < 3 or reason == "":
            fail(line_number, "a nopython line needs ID MODEL[:VARIANT] | REASON")
        nopython[w[1], w[2]] = (reason, line_number)
    elif w[0:1] == ["extra"]:
        if len(w) < 5:
            fail(line_number, "an extra line needs MODEL NEW-MODEL PROGRAM OPTION...")
        extras.append({"model": w[1], "new": w[2], "program": w[3], "options": " " + " ".join(w[4:]),
                       "reason": reason, "lang_reason": lang_reason})
    else:
        if len(w) < 6:
            fail(line_number, "a row needs ID YEAR EXPERIMENT SECONDS MODEL PROGRAM")
        if w[0] not in cases:
            fail(line_number, "row before its case line: " + w[0])
        key = (w[1], w[2], w[3])
        if count.get(key, 0) != 1:
            where = f"year {w[1]}, experiment {w[2]}, seconds {w[3]}"
            fail(line_number, f"published.csv has {count.get(key, 0)} rows of {where}")
        model, _, variant = w[4].partition(":")
        if model != pub[key]["model"] and model != "":
            fail(line_number, f"model {model} but published.csv says {pub[key]['model']}")
        if w[5] == "-" and reason == "":
            fail(line_number, "a row without a program must say why")
        plan_rows.append({"case": w[0], "key": key, "model": model, "variant": variant,
                          "program": w[5], "args": " ".join(w[6:]), "reason": reason, "lang_reason": lang_reason})
        # The case's base= names its base row; otherwise the sequential row with the most tasks is.
        case = cases[w[0]]
        tasks = number(pub[key]["tasks"]) or 0
        if case["base"] is not None:
            if w[3] == case["base"]:
                case["base_key"] = key
        elif pub[key]["model"] == "sync" and (case["base_key"] is None or tasks > case["base_tasks"]):
            case["base_key"] = key
            case["base_tasks"] = tasks


def named(model, variant):
    return model + (":" + variant if variant else "")


for (case_id, model), (reason, line_number) in nopython.items():
    if not any(r["case"] == case_id and named(r["model"], r["variant"]) == model for r in plan_rows):
        fail(line_number, f"nopython {case_id} {model} matches no row")
for case_id, case in cases.items():
    if case["base"] is not None and case["base_key"] is None:
        die(f"case {case_id}: no row has its base={case['base']}", 2)


# The --size among the options scaled by `scale`: times it, or for fib(n),
# which costs about phi^n, k terms fewer divide it by phi^k.
def scaled(program, args, scale):
    w = args.split()
    workload = None
    for i in range(len(w) - 1):
        if w[i] == "--workload":
            workload = w[i + 1]
    for i in range(len(w) - 1):
        if w[i] == "--size" and program.startswith("cpu_") and scale != 1:
            size = number(w[i + 1].replace("_", "")) or 0
            if workload == "fib":
                drop = int(math.log(1 / scale) / math.log((1 + math.sqrt(5)) / 2) + 0.5)
                w[i + 1] = str(max(2, int(size) - drop))
            else:
                w[i + 1] = str(max(1, int(size * scale + 0.5)))
    return " ".join(w).replace("@cpus", cpus)


# A row's job in one language: the C lesson, or its Python twin (the same
# options, its CPU work scaled by the case's py-size= as well), tagged
# CASE/MODEL[:VARIANT], the twin's .../py.
def job(row, model, args, reason, lang_reason, is_extra, lang):
    case = cases[row["case"]]
    latency = "-"
    if case["urls"] == "delay":
        if case["base_key"] is None:
            die(f"case {row['case']} has no sequential row to derive its latency from", 2)
        base = case["base_key"]
        # nginx echo_sleep takes at most three decimals: whole milliseconds.
        ms = float(base[2]) / float(pub[base]["tasks"]) * 1000 * float(latency_scale)
        latency = str(max(1, int(f"{ms:.0f}")))
    program = row["program"]
    scale = float(size_scale) * (float(case["py-size"]) if lang == "py" else 1)
    tag = f"{row['case']}/{named(model, row['variant'])}"
    if lang == "py":
        tag += "/py"
        lang_reason = ""
        no_twin = nopython.get((row["case"], named(row["model"], row["variant"])))
        if no_twin:
            program, reason = "-", no_twin[0]
        elif program == "-":
            reason = "no Python twin either: " + row["reason"]
        else:
            program, reason = "py_" + program, ""
    return {"row": row, "tag": tag, "model": model, "program": program, "args": scaled(row["program"], args, scale),
            "reason": reason, "lang_reason": lang_reason, "is_extra": is_extra, "latency": latency,
            "repeat": repeat or case["repeat"], "urls": case["urls"], "bytes": case["bytes"]}


# Each row in order: its C job and its twin's, then the same for each extra
# line of its model (its twin is the row's own: CPython always has its GIL;
# so is its machine reason, unless the extra line gives one).
pairs = []
for row in plan_rows:
    pairs.append((job(row, row["model"], row["args"], row["reason"], row["lang_reason"], 0, "c"),
                  job(row, row["model"], row["args"], "", "", 0, "py")))
    for e in extras:
        if row["model"] == e["model"] and row["program"] == e["program"] and not cases[row["case"]]["noextra"]:
            pairs.append((job(row, e["new"], row["args"] + e["options"], e["reason"] or row["reason"],
                              e["lang_reason"], 1, "c"),
                          job(row, e["new"], row["args"], "", "", 1, "py")))
jobs = [j for pair in pairs for j in pair]
unknown = [c for c in only if not any(j["row"]["case"] == c for j in jobs)]
if unknown:
    print(unknown[0])
    sys.exit(0)


# Does the program at `path` take every --option among `words`? Its --help must name it.
def accepts(path, words):
    try:
        text = subprocess.run([path, "--help"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, errors="replace").stdout
    except OSError:
        text = ""
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    return all(re.search("^ *" + re.escape(o) + r"\b", text, re.M) for o in options)


# The --url options of a job: one per size on /delay, or the 20 cats.
def url_options(j):
    if j["urls"] == "delay":
        seconds = f"{int(j['latency']) // 1000}.{int(j['latency']) % 1000:03d}"
        return "".join(f" --url @base/delay?s={seconds}&bytes={size}" for size in j["bytes"].split(","))
    if j["urls"] == "cats":
        return "".join(f" --url @base/cats/{i}.jpg" for i in range(1, 21))
    return ""


# ---- 2. What runs now: identical commands once, under the tag of the first
# job that needs it; a job reported from earlier runs looks for its own tag
# first.
first_tag = {}
ran_tag = {}
note_of = {}
run_jobs = []
messages = []
for j in jobs:
    key = (j["latency"], j["program"], j["args"])
    first_tag.setdefault(key, j["tag"])
    runs_now = report_only == "0" and (not only or j["row"]["case"] in only)
    if not runs_now or j["program"] == "-" or key in ran_tag:
        continue
    path = f"{bin_dir}/{j['program']}"
    if not os.access(path, os.X_OK):
        messages.append(f"{path} is missing (make build): {j['tag']} not measured")
        note_of[j["tag"]] = f"not measured: {j['program']} is not built"
        continue
    if j["is_extra"] and not accepts(path, j["args"].split()):
        messages.append(f"{j['program']} does not take '{j['args']}' yet: {j['tag']} skipped")
        continue
    ran_tag[key] = j["tag"]
    words = [j["tag"], j["latency"], j["repeat"], path] + j["args"].replace("@urls", url_options(j)).split()
    run_jobs.append("\x1f".join(words) + "\n")
if step == "jobs":
    for message in messages:
        say(message)
    with open(f"{work}/run-jobs", "w") as f:
        f.writelines(run_jobs)
    sys.exit(1 if note_of else 0)

# ---- 3. The comparison: per tag, the median seconds and CPU use over the
# runs that exited 0, and what the runs were (its last run); then per row,
# speedups per task against its case's sequential row, and a reason where
# shapes differ.
last = {}
seconds_of = {}
util_of = {}
for run in rows(runs_csv, numbers=("seconds", "cpu_util", "tasks")):
    last[run["tag"]] = run
    if number(run["exit"]) == 0 and run["seconds"] != "":
        seconds_of.setdefault(run["tag"], []).append(float(run["seconds"]))
    if number(run["exit"]) == 0 and run["cpu_util"] != "":
        util_of.setdefault(run["tag"], []).append(float(run["cpu_util"]))
# The machine of the C tag whose last run came first (one machine made them all, normally).
machine = ""
for run in sorted(last.values(), key=lambda run: -run["_line"]):
    if not run["experiment"].startswith("py_"):
        machine = f"{run['cpu_model']} ({run['cpus']} CPUs)"


def md(x):
    return x if x != "" else "-"


# The tag whose runs stand for a job: '' for no program; its own when it has
# runs or could not run, else the tag its command ran under.
def run_tag(j):
    if j["program"] == "-":
        return ""
    if j["tag"] in note_of or j["tag"] in last:
        return j["tag"]
    key = (j["latency"], j["program"], j["args"])
    return ran_tag.get(key, first_tag[key])


def size_of(args):
    w = args.split()
    return w[w.index("--size") + 1].replace("_", "") if "--size" in w[:-1] else ""


# Runs made under other settings (another LATENCY_SCALE or SIZE_SCALE) must
# not be reported as these.
def check_settings(tag, latency, size):
    if tag in last and (last[tag]["latency_ms"], last[tag]["size"]) != (latency, size):
        ran = f"latency_ms={md(last[tag]['latency_ms'])} size={md(last[tag]['size'])}"
        die(f"{tag} ran with {ran}, not latency_ms={md(latency)} size={md(size)}: "
            "give the LATENCY_SCALE and SIZE_SCALE of the run")


table = []
base_of = {}
for c, py in pairs:
    c["run"] = run_tag(c)
    # An extra model the lesson did not take was never run: no row.
    if c["is_extra"] and c["run"] and c["tag"] not in note_of and c["run"] not in last:
        continue
    py["run"] = run_tag(py)
    c["latency_ms"] = "" if c["latency"] == "-" else c["latency"]
    check_settings(c["run"], c["latency_ms"], size_of(c["args"]))
    check_settings(py["run"], c["latency_ms"], size_of(py["args"]))
    table.append((c, py))
    if c["row"]["key"] == cases[c["row"]["case"]]["base_key"]:
        base_of.setdefault(c["row"]["case"], (c, py))


# The runs of a tag against the base row's: seconds (median), tasks,
# workers, runs, speedup per task, and how much of a CPU the sequential CPU
# run had when that was much less than one.
def measure(tag, base):
    if not tag or tag not in seconds_of:
        return None, "", "", 0, None, ""
    s = statistics.median(seconds_of[tag])
    speed = None
    busy = ""
    if base and base in seconds_of:
        base_s = statistics.median(seconds_of[base])
        if s > 0 and number(last[base]["tasks"]) and number(last[tag]["tasks"]):
            speed = (base_s / float(last[base]["tasks"])) / (s / float(last[tag]["tasks"]))
        # Other programs were running: every speedup of the case is suspect
        # (time(1) counts in 10 ms: only longer runs tell).
        util = statistics.median(util_of.get(base, [0]))
        if re.match("(py_)?cpu_", last[base]["experiment"]) and base_s >= 0.1 and util < 0.85:
            busy = f"{util * 100:.0f}%"
    return s, last[tag]["tasks"], last[tag]["workers"], len(seconds_of[tag]), speed, busy


# Outside a quarter either way: a different shape.
def differs(x):
    return x is not None and (x < 0.8 or x > 1.25)


def divide(x, y):
    return x / y if x is not None and y is not None else None


python = "CPython " + platform.python_version()
out = open(f"{work}/reproduce.csv", "w", newline="")
csv_out = csv.writer(out, lineterminator="\n")
csv_out.writerow("""case source year experiment model variant published_workers workers published_tasks tasks
    published_s published_speedup measured_s measured_speedup ratio runs python_workers python_tasks python_s
    python_speedup python_runs python_ratio c_over_python size python_size latency_ms published_machine machine
    reason""".split())
md_out = open(f"{work}/reproduce.md", "w")
print(f"Made by `make reproduce LATENCY_SCALE={latency_scale} SIZE_SCALE={size_scale}`: the C lessons and their"
      f" Python twins ({python}) on {machine}, in the same interleaved rounds; the median of each"
      " configuration's runs.", file=md_out)
print("Speedup: the source's sequential time per task over this row's, each language against its own sequential"
      " run here. Python here / published: the machine and the network (the same programs elsewhere); C here /"
      " Python here: the language (the same machine). A ratio outside 0.8 to 1.25 is a different shape and says"
      " why.\n", file=md_out)
print("| Case | Model | Workers (article → here) | Published s | Published speedup | Python here s | Python here"
      " speedup | C here s | C here speedup | Python here / published | C here / Python here | Why they differ |",
      file=md_out)
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|", file=md_out)
legend = {}
for c, py in table:
    row = c["row"]
    p = pub[row["key"]]
    base = base_of.get(row["case"])
    published_speedup = None
    if base and (number(p["tasks"]) or 0) > 0:
        base_p = pub[base[0]["row"]["key"]]
        published_speedup = (float(base_p["seconds"]) / float(base_p["tasks"])) / (float(p["seconds"]) / float(p["tasks"]))
    ys, yt, yw, yn, yspeed, ybusy = measure(py["run"], base[1]["run"] if base else "")
    ms, mt, mw, n, mspeed, busy = measure(c["run"], base[0]["run"] if base else "")
    ratio = divide(mspeed, published_speedup)
    python_ratio = divide(yspeed, published_speedup)
    c_over_python = divide(mspeed, yspeed)
    why = []
    if busy:
        why.append(f"busy machine: the sequential C run had {busy} of a CPU")
    if ybusy:
        why.append(f"busy machine: the sequential Python run had {ybusy} of a CPU")
    # What could not run here, and why.
    if c["run"] == "":
        why.append(c["reason"])
    elif c["run"] in note_of:
        why.append(note_of[c["run"]])
    elif n == 0:
        why.append("C not measured: its runs failed (see reproduce-runs.csv)")
    if py["run"] == "":
        why.append("Python not run here: " + py["reason"])
    elif py["run"] in note_of:
        why.append(note_of[py["run"]])
    elif yn == 0:
        why.append("Python not measured: its runs failed (see reproduce-runs.csv)")
    # The machine and network: Python here against published, or C against
    # published where Python could not run.
    if c["run"] and (differs(python_ratio) or (python_ratio is None and differs(ratio))):
        why.append("machine and network: " + (c["reason"] or "differs; the plan gives no reason"))
    if differs(c_over_python):
        why.append("language: " + (c["lang_reason"] or "differs; the plan gives no reason"))
    why = "; ".join(part for part in why if part)
    csv_out.writerow([row["case"], p["source"], p["year"], p["experiment"], c["model"], row["variant"], p["workers"],
                      mw, p["tasks"], mt, p["seconds"], g(published_speedup, 4), g(ms, 6), g(mspeed, 4), g(ratio, 3),
                      n, yw, yt, g(ys, 6), g(yspeed, 4), yn, g(python_ratio, 3), g(c_over_python, 3),
                      size_of(c["args"]), size_of(py["args"]), c["latency_ms"], p["machine"],
                      machine if c["run"] or py["run"] else "", why])
    label = c["model"] + (f" ({row['variant']})" if row["variant"] else "")
    workers = f"{md(p['workers'] or 'default')} → {md(mw or yw)}"
    numbers = [md(g(x, 3)) for x in (published_speedup, ys, yspeed, ms, mspeed, python_ratio, c_over_python)]
    print("| " + " | ".join([row["case"], label, workers, g(float(p["seconds"]), 4)] + numbers + [why]) + " |",
          file=md_out)
    legend.setdefault(row["case"], f"{row['case']}: {p['source']}, {p['year'] or 'undated'}")
print(file=md_out)
for line in legend.values():
    print("- " + line, file=md_out)
with open(f"{work}/caption", "w") as f:
    print(f"measured: the C lessons and {python} on {machine}; emulated waits x{latency_scale}, CPU work"
          f" x{size_scale} (Python's also x each case's py-size)", file=f)
