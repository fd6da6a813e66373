# The plan and the report of scripts/reproduce, two steps with the same
# arguments:
#   reproduce.py jobs|tables WORK PLAN PUBLISHED RUNS BIN CPUS LATENCY_SCALE
#       SIZE_SCALE REPEAT REPORT_ONLY [CASE...]
# Both read the plan joined with published.csv (a bad line: one message,
# exit 2) into its rows, each a C job and its Python twin's job, and decide
# which jobs run now (REPORT_ONLY 0, and CASE among the --only CASEs if any
# are given), under which tag, and which share the run of an identical
# command. `jobs` writes WORK/run-jobs, the job list for lib.sh's run_jobs
# (@base stands for the server's URL), says what cannot run and exits 3 when
# a lesson is missing (1 is a failure of its own); an --only CASE the plan
# does not have is printed instead; with --only, WORK/kept.csv holds the
# runs of the other cases.
# `tables` writes WORK/reproduce.csv, WORK/reproduce.md and
# WORK/caption (the chart's subtitle) from the runs in RUNS: a row of RUNS
# that is torn or has text for a number is said with its line and left out,
# and runs made under other scales are refused (exit 1).
import csv
import math
import os
import re
import subprocess
import sys

from common import PLAIN_NAME, die, divide, g, median, number, rows, say

step, work, plan, published, runs_csv, bin_dir = sys.argv[1:7]
cpus, latency_scale, size_scale, repeat, report_only = sys.argv[7:12]
only = sys.argv[12:]
# A case line's settings and the values they take (noextra takes none).
SETTINGS = {"urls": "delay|cats|none", "bytes": "[0-9]{1,9}(,[0-9]{1,9})*", "repeat": "[1-9][0-9]{0,3}",
            "py-size": "[0-9]{1,6}([.][0-9]{0,6})?|[.][0-9]{1,6}", "base": "[0-9.]+"}


def check(ok, message):
    if not ok:
        die(message, 2)


# Each option of a command line and the word after it (the last, if given twice).
def options_of(args):
    w = args.split()
    return dict(zip(w, w[1:]))


# A published row's seconds per task.
def per_task(p):
    return float(p["seconds"]) / float(p["tasks"])


# ---- 1. The plan, joined with published.csv ---------------------------------
pub = {}
for p in rows(published, columns=("source", "year", "experiment", "model", "workers", "tasks", "seconds",
                                  "machine")):
    pub.setdefault((p["year"] or "-", p["experiment"], p["seconds"]), []).append(p)
cases = {}
nopython = {}
extras = []
plan_rows = []
with open(plan, newline="", errors="replace") as f:
    lines = f.read().split("\n")
for line_number, line in enumerate(lines, 1):
    at = f"{plan}:{line_number}: "
    # A CRLF file's CR goes; any other control character (NUL, the job
    # list's \x1f) would break the job list or the messages.
    line = line.removesuffix("\r")
    check(not re.search("[\x00-\x08\x0a-\x1f\x7f]", line), at + "a control character in the line")
    if re.match(r"[ \t]*(#|$)", line):
        continue
    # A | parts the words from the machine reason, a second | that from the language reason.
    words, _, reason = line.partition("|")
    reason, _, lang_reason = reason.partition("|")
    reason = reason.strip(" \t").replace("{cpus}", cpus)
    lang_reason = lang_reason.strip(" \t").replace("{cpus}", cpus)
    w = re.split(r"[ \t]+", words.lstrip(" \t"))
    if w[0] == "case":
        check(len(w) >= 3, at + "a case needs an id and urls=")
        # The id begins each tag, CASE/MODEL (--only takes the part before the first /).
        check(PLAIN_NAME.fullmatch(w[1]), at + f"case id {w[1]} is not a plain name (letters, digits, _ . -)")
        check(w[1] not in cases, at + f"case {w[1]} is given twice")
        case = cases[w[1]] = {"id": w[1], "urls": "", "bytes": "", "repeat": "1", "py-size": "1",
                              "base": None, "noextra": False, "base_row": None, "base_tasks": -1}
        for setting in w[2:]:
            name, _, value = setting.partition("=")
            known = name in SETTINGS and re.fullmatch(SETTINGS[name], value)
            check(setting == "noextra" or known and (name != "py-size" or float(value) > 0),
                  at + "unknown setting " + setting)
            case[name] = value if known else True
        check(case["urls"], at + f"case {w[1]} says no urls=")
        check(case["urls"] != "delay" or case["bytes"], at + f"case {w[1]} needs bytes=")
    elif w[0] == "nopython":
        check(len(w) >= 3 and reason, at + "a nopython line needs ID MODEL[:VARIANT] | REASON")
        nopython[w[1], w[2]] = (reason, line_number)
    elif w[0] == "extra":
        check(len(w) >= 5, at + "an extra line needs MODEL NEW-MODEL PROGRAM OPTION...")
        extras.append({"model": w[1], "new": w[2], "program": w[3], "options": " " + " ".join(w[4:]),
                       "reason": reason, "lang_reason": lang_reason, "line": line_number})
    else:
        check(len(w) >= 6, at + "a row needs ID YEAR EXPERIMENT SECONDS MODEL PROGRAM")
        check(w[0] in cases, at + "row before its case line: " + w[0])
        found = pub.get(tuple(w[1:4]), [])
        check(len(found) == 1, at + f"published.csv has {len(found)} rows of year {w[1]}, experiment {w[2]}, "
              f"seconds {w[3]}")
        p = found[0]
        # Its seconds and tasks are divided by below: plain numbers above 0 (not 1e3, nan, 0x10 or 0).
        for k in ("seconds", "tasks"):
            check((number(p[k]) or 0) > 0, f"{published}:{p['_line']}: {k} \"{p[k]}\" is not a number above 0 "
                  f"(line {line_number} of {plan} uses the row)")
        model, _, variant = w[4].partition(":")
        check(model in ("", p["model"]), at + f"model {model} but published.csv says {p['model']}")
        check(w[5] != "-" or reason, at + "a row without a program must say why")
        row = {"case": w[0], "p": p, "model": model, "variant": variant,
               "name": model + (":" + variant if variant else ""), "program": w[5], "args": " ".join(w[6:]),
               "reason": reason, "lang_reason": lang_reason, "line": line_number}
        plan_rows.append(row)
        # The case's base= names its base row; otherwise the sequential row with the most tasks is.
        case = cases[w[0]]
        tasks = number(p["tasks"]) or 0
        most_tasks = p["model"] == "sync" and tasks > case["base_tasks"]
        if case["base"] == w[3] or (case["base"] is None and most_tasks):
            case["base_row"] = row
            case["base_tasks"] = tasks
for (case_id, name), (reason, line_number) in nopython.items():
    check(any(r["case"] == case_id and r["name"] == name for r in plan_rows),
          f"{plan}:{line_number}: nopython {case_id} {name} matches no row")
for case in cases.values():
    check(case["base"] is None or case["base_row"], f"case {case['id']}: no row has its base={case['base']}")
check(plan_rows, f"{plan}: no row to reproduce")


# The --size among the options scaled by `scale`: times it, or for fib(n),
# which costs about phi^n, k terms fewer divide it by phi^k.
def scaled(program, args, scale):
    w = args.split()
    i = w.index("--size") + 1 if "--size" in w[:-1] else 0
    # A size that is not a plain number goes as it is, for the lesson to refuse.
    size = number(w[i].replace("_", "")) if i else None
    if size is not None and program.startswith("cpu_") and scale != 1:
        if options_of(args).get("--workload") == "fib":
            w[i] = str(max(2, int(size) - int(math.log(1 / scale) / math.log((1 + math.sqrt(5)) / 2) + 0.5)))
        else:
            w[i] = str(max(1, int(size * scale + 0.5)))
    return " ".join(w).replace("@cpus", cpus)


# A row's job in one language: the C lesson, or its Python twin (the same
# options, its CPU work scaled by the case's py-size= as well), tagged
# CASE/MODEL[:VARIANT], the twin's .../py. A /delay case waits what its base
# row's seconds per task imply (whole milliseconds: nginx's echo_sleep
# takes three decimals).
def job(row, model, args, is_extra, lang, reason="", lang_reason=""):
    case = cases[row["case"]]
    latency = "-"
    if case["urls"] == "delay":
        check(case["base_row"], f"case {case['id']} has no sequential row to derive its latency from")
        latency = str(max(1, round(per_task(case["base_row"]["p"]) * 1000 * float(latency_scale))))
    program = row["program"]
    scale = float(size_scale)
    tag = f"{row['case']}/{model}" + (":" + row["variant"] if row["variant"] else "")
    if lang == "py":
        scale *= float(case["py-size"])
        tag += "/py"
        no_twin = nopython.get((row["case"], row["name"]))
        if no_twin:
            program, reason = "-", "Python not run here: " + no_twin[0]
        elif program == "-":
            reason = "Python not run here: no Python twin either: " + row["reason"]
        else:
            program = "py_" + program
    return {"row": row, "case": case, "tag": tag, "model": model, "program": program, "latency": latency,
            "args": scaled(row["program"], args, scale), "reason": reason, "lang_reason": lang_reason,
            "is_extra": is_extra}


# Each row's C job and its twin's, then the same for each extra line of its
# model (whose twin is the row's own: CPython always has its GIL; so is its
# machine reason, unless the extra line gives one).
pairs = []
for row in plan_rows:
    pairs.append((job(row, row["model"], row["args"], 0, "c", row["reason"], row["lang_reason"]),
                  job(row, row["model"], row["args"], 0, "py")))
    for e in extras:
        if (row["model"], row["program"]) == (e["model"], e["program"]) and not cases[row["case"]]["noextra"]:
            extra = job(row, e["new"], row["args"] + e["options"], 1, "c", e["reason"] or row["reason"],
                        e["lang_reason"])
            pairs.append((extra, job(row, e["new"], row["args"], 1, "py")))
            extra["line"] = e["line"]
# A job's runs are found by its tag: a second job with the same tag (the
# same row twice, or an extra line's new model that a row has already)
# would mix its runs with the first's.
line_of = {}
for j in [c for c, py in pairs]:
    line = j.get("line", j["row"]["line"])
    check(j["tag"] not in line_of, f"{plan}:{line}: the tag {j['tag']} again (line {line_of.get(j['tag'])} has it)")
    line_of[j["tag"]] = line
unknown = [case_id for case_id in only if case_id not in {row["case"] for row in plan_rows}]
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
    options = [word.split("=")[0] for word in words if word.startswith("--")]
    return all(re.search("^ *" + re.escape(option) + r"\b", text, re.M) for option in options)


# The --url options of a job: one per size on /delay, or the 20 cats.
def url_options(j):
    urls = []
    if j["case"]["urls"] == "delay":
        ms = int(j["latency"])
        sizes = j["case"]["bytes"].split(",")
        urls = [f"@base/delay?s={ms // 1000}.{ms % 1000:03d}&bytes={size}" for size in sizes]
    if j["case"]["urls"] == "cats":
        urls = [f"@base/cats/{i}.jpg" for i in range(1, 21)]
    return "".join(" --url " + url for url in urls)


# ---- 2. What runs now: identical commands once, under the tag of the first
# job that needs it; a job reported from earlier runs looks for its own tag
# first.
first_tag = {}
ran_tag = {}
note_of = {}
run_jobs = []
messages = []
for j in [j for pair in pairs for j in pair]:
    j["key"] = (j["latency"], j["program"], j["args"])
    first_tag.setdefault(j["key"], j["tag"])
    runs_now = report_only == "0" and (not only or j["row"]["case"] in only)
    if not runs_now or j["program"] == "-" or j["key"] in ran_tag:
        continue
    path = f"{bin_dir}/{j['program']}"
    if not os.access(path, os.X_OK):
        messages.append(f"{path} is missing (make build): {j['tag']} not measured")
        note_of[j["tag"]] = f"not measured: {j['program']} is not built"
    elif j["is_extra"] and not accepts(path, j["args"].split()):
        messages.append(f"{j['program']} does not take '{j['args']}' yet: {j['tag']} skipped")
    else:
        ran_tag[j["key"]] = j["tag"]
        words = [j["tag"], j["latency"], repeat or j["case"]["repeat"], path]
        run_jobs.append("\x1f".join(words + j["args"].replace("@urls", url_options(j)).split()) + "\n")
if step == "jobs":
    for message in messages:
        say(message)
    with open(f"{work}/run-jobs", "w") as f:
        f.writelines(run_jobs)
    # With --only, the runs of the other cases stay: WORK/kept.csv, put in
    # place of RUNS before the new runs are added (a torn row is left out).
    if only and report_only == "0" and os.path.exists(runs_csv) and os.path.getsize(runs_csv) > 0:
        # Read whole first (a file it cannot read stops here), its header as rows() reads it (after a BOM).
        runs = [run for run in rows(runs_csv) if run.get("tag", "").split("/")[0] not in only]
        with open(runs_csv, newline="", encoding="utf-8-sig", errors="replace") as f:
            header = next(csv.reader(f), [])
        with open(f"{work}/kept.csv", "w", newline="") as f:
            kept = csv.writer(f, lineterminator="\n")
            kept.writerow(header)
            for run in runs:
                kept.writerow([run[k] for k in header])
    sys.exit(3 if note_of else 0)

# ---- 3. The comparison: per tag, the median seconds and CPU use over the
# runs that exited 0, and what the runs were (its last run); then per row,
# speedups per task against its case's sequential row, and a reason where
# shapes differ.
last = {}
seconds_of = {}
util_of = {}
for run in rows(runs_csv, numbers=("seconds", "cpu_util", "tasks"),
               columns=("tag", "exit", "experiment", "cpu_model", "cpus", "latency_ms", "size", "workers")):
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
    return ran_tag.get(j["key"], first_tag[j["key"]])


# Runs made under other settings (another LATENCY_SCALE or SIZE_SCALE) must
# not be reported as these.
def check_settings(j, latency):
    size = options_of(j["args"]).get("--size", "").replace("_", "")
    ran = last.get(j["run"]) if j["run"] else None
    # A run that failed before its record has no size: its latency alone tells.
    if ran and (ran["latency_ms"], ran["size"] or size) != (latency, size):
        die(f"{j['run']} ran with latency_ms={md(ran['latency_ms'])} size={md(ran['size'])}, not latency_ms="
            f"{md(latency)} size={md(size)}: give the LATENCY_SCALE and SIZE_SCALE of the run")
    return size


table = []
base_of = {}
for c, py in pairs:
    c["run"] = run_tag(c)
    py["run"] = run_tag(py)
    # An extra model the lesson did not take was never run: no row.
    if c["is_extra"] and c["run"] and c["tag"] not in note_of and c["run"] not in last:
        continue
    latency = "" if c["latency"] == "-" else c["latency"]
    table.append((c, py, latency, check_settings(c, latency), check_settings(py, latency)))
    base = c["case"]["base_row"]
    if base and c["row"]["p"] is base["p"]:
        base_of.setdefault(c["row"]["case"], (base["p"], c["run"], py["run"]))


# The runs of a tag against the base row's: seconds (median), tasks,
# workers, runs, speedup per task, and how much of a CPU the sequential CPU
# run had when that was much less than one.
def measure(tag, base):
    if not tag or tag not in seconds_of:
        return None, "", "", 0, None, ""
    s = median(seconds_of[tag])
    speed = None
    busy = ""
    if base and base in seconds_of:
        base_s = median(seconds_of[base])
        if s > 0 and number(last[base]["tasks"]) and number(last[tag]["tasks"]):
            speed = (base_s / float(last[base]["tasks"])) / (s / float(last[tag]["tasks"]))
        # Other programs were running: every speedup of the case is suspect
        # (time(1) counts in 10 ms: only longer runs tell).
        util = median(util_of.get(base, [0]))
        if re.match("(py_)?cpu_", last[base]["experiment"]) and base_s >= 0.1 and util < 0.85:
            busy = f"{util * 100:.0f}%"
    return s, last[tag]["tasks"], last[tag]["workers"], len(seconds_of[tag]), speed, busy


# Outside a quarter either way: a different shape.
def differs(x):
    return x is not None and (x < 0.8 or x > 1.25)


# What could not run in one language, and why.
def missing(j, runs, language):
    if j["run"] == "":
        return j["reason"]
    if j["run"] in note_of:
        return note_of[j["run"]]
    return f"{language} not measured: its runs failed (see reproduce-runs.csv)" if runs == 0 else ""


python = "CPython " + sys.version.split()[0]
csv_file = open(f"{work}/reproduce.csv", "w", newline="")
out = csv.writer(csv_file, lineterminator="\n")
out.writerow("""case source year experiment model variant published_workers workers published_tasks tasks
    published_s published_speedup measured_s measured_speedup ratio runs python_workers python_tasks
    python_s python_speedup python_runs python_ratio c_over_python size python_size latency_ms
    published_machine machine reason""".split())
md_out = open(f"{work}/reproduce.md", "w")
print(f"Made by `make reproduce LATENCY_SCALE={latency_scale} SIZE_SCALE={size_scale}`: the C lessons and "
      f"their Python twins ({python}) on {machine}, in the same interleaved rounds; the median of each "
      "configuration's runs.\nSpeedup: the source's sequential time per task over this row's, each language "
      "against its own sequential run here. Python here / published: the machine and the network (the same "
      "programs elsewhere); C here / Python here: the language (the same machine). A ratio outside 0.8 to "
      "1.25 is a different shape and says why.\n\n| Case | Model | Workers (article → here) | Published s "
      "| Published speedup | Python here s | Python here speedup | C here s | C here speedup "
      "| Python here / published | C here / Python here | Why they differ |\n"
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|", file=md_out)
legend = {}
for c, py, latency, size, py_size in table:
    row = c["row"]
    p = row["p"]
    base, base_tag, base_py_tag = base_of.get(row["case"], (None, "", ""))
    published_speedup = None
    if base and (number(p["tasks"]) or 0) > 0:
        published_speedup = per_task(base) / per_task(p)
    ys, yt, yw, yn, yspeed, ybusy = measure(py["run"], base_py_tag)
    ms, mt, mw, n, mspeed, busy = measure(c["run"], base_tag)
    ratio = divide(mspeed, published_speedup)
    python_ratio = divide(yspeed, published_speedup)
    c_over_python = divide(mspeed, yspeed)
    why = [f"busy machine: the sequential C run had {busy} of a CPU" if busy else "",
           f"busy machine: the sequential Python run had {ybusy} of a CPU" if ybusy else "",
           missing(c, n, "C"), missing(py, yn, "Python")]
    # The machine and network: Python here against published, or C against
    # published where Python could not run.
    if c["run"] and (differs(python_ratio) or (python_ratio is None and differs(ratio))):
        why.append("machine and network: " + (c["reason"] or "differs; the plan gives no reason"))
    if differs(c_over_python):
        why.append("language: " + (c["lang_reason"] or "differs; the plan gives no reason"))
    why = "; ".join(part for part in why if part)
    out.writerow([row["case"], p["source"], p["year"], p["experiment"], c["model"], row["variant"],
                  p["workers"], mw, p["tasks"], mt, p["seconds"], g(published_speedup, 4), g(ms, 6),
                  g(mspeed, 4), g(ratio, 3), n, yw, yt, g(ys, 6), g(yspeed, 4), yn, g(python_ratio, 3),
                  g(c_over_python, 3), size, py_size, latency, p["machine"],
                  machine if c["run"] or py["run"] else "", why])
    label = c["model"] + (f" ({row['variant']})" if row["variant"] else "")
    workers = f"{md(p['workers'] or 'default')} → {md(mw or yw)}"
    cells = [row["case"], label, workers, g(float(p["seconds"]), 4)]
    cells += [md(g(x, 3)) for x in (published_speedup, ys, yspeed, ms, mspeed, python_ratio, c_over_python)]
    print("| " + " | ".join(cells + [why.replace("|", "\\|")]) + " |", file=md_out)
    legend.setdefault(row["case"], f"\n- {row['case']}: {p['source']}, {p['year'] or 'undated'}")
print("".join(legend.values()), file=md_out)
with open(f"{work}/caption", "w") as f:
    print(f"measured: the C lessons and {python} on {machine}; emulated waits x{latency_scale}, CPU work "
          f"x{size_scale} (Python's also x each case's py-size)", file=f)
