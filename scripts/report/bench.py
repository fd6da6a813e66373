# The report of `make bench` (scripts/bench runs it after the rounds): each
# round's values, each target evaluated per round, the statistics of the
# rounds, and the table in every form the bench writes.
#
# Usage: bench.py WORK TARGETS [RUNS_CSV REPEAT LOAD_BEFORE LOAD_AFTER]
# With WORK and TARGETS alone it checks the targets before any run: every
# expression and target, and every name against the plan's runs (WORK/ids,
# one a line), or exit 2 with each bad one's line.
# Reads TARGETS (plans/bench-targets.csv, each {size} of WORK/sizes.tsv put
# in),
# RUNS_CSV (scripts/run's rows, the round in "repeat"), WORK/samples.csv
# (round, name x_ID, value: the numbers scripts/bench took itself),
# WORK/skipped.tsv (ID, why) and $LAB_MACHINE (scripts/run --machine).
# Writes into WORK: bench.csv, bench.md, table.txt (the table for stdout),
# chart.dat and subtitle (plots/bench.gp's data and its subtitle).
#
# A round's values, by name: s_ID the seconds of run ID, m_ID its max RSS in
# MB, o_ID its operations a second, e_ID_KEY a number KEY=V of its record's
# extra, x_ID a sample. A round "best" holds each value at its best round:
# the most for o_ names and x_wrk (requests a second), else the least. A
# target's value, detail and limit are expressions over one round's values:
# numbers, $NAME, + - * /, unary minus, parentheses, ceil() and max().
# Anything else is refused with the file's line, and so is a name of no run
# of the plan; a name whose run failed or was skipped gives no value. The
# estimate is the median of the rounds (common.median), or "best", the
# expression over the best round.
import ast
import csv
import math
import operator
import os
import re
import sys

from common import divide, extra_pairs, g, markdown, median, number, rows, say, write, write_lines

CHARACTERS = re.compile(r"[-+*/()., 0-9a-z_$]*")
NAME = re.compile(r"\$([a-z][a-z0-9_]*)")
TARGET_COLUMNS = ("section measurement lesson args metric value target better unit detail detail_unit limit"
                  " estimate").split()
COLUMNS = ("section measurement lesson args metric estimate value min max limit target better unit verdict"
           " score detail detail_unit rounds host cpus cpu_model kernel cc libcurl openssl commit"
           " load_before load_after note").split()


# An infinity (a product too large) stays one rather than stop the report,
# and so a float: math.ceil's int times another is an int no float can hold.
def ceil(x):
    return float(math.ceil(x)) if math.isfinite(x) else x


OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: divide,
             ast.USub: operator.neg, "ceil": ceil, "max": max}


# Each round's values by name, and the round "best".
def values_of(runs_csv, samples_csv):
    rounds = {}
    numbers = ("exit", "errors", "seconds", "max_rss_kb", "ops_per_s")
    for row in rows(runs_csv, numbers=numbers) if os.path.exists(runs_csv) else []:
        if number(row["exit"]) != 0 or number(row["errors"]) not in (None, 0):
            continue
        tag = row["tag"]
        found = {"s_" + tag: row["seconds"], "m_" + tag: row["max_rss_kb"], "o_" + tag: row["ops_per_s"]}
        # KEY=V pairs; a KEY that is not a name cannot be asked for.
        found.update({f"e_{tag}_{key}": value for key, value in extra_pairs(row["extra"]).items()})
        for name, text in found.items():
            if number(text) is not None:
                rounds.setdefault(row["repeat"], {})[name] = number(text) / (1024 if name[0] == "m" else 1)
    for row in rows(samples_csv, numbers=("value",), required=("value",)):
        rounds.setdefault(row["round"], {})[row["name"]] = number(row["value"])
    best = {}
    for values in rounds.values():
        for name, value in values.items():
            better = max if name.startswith("o_") or name == "x_wrk" else min
            best[name] = better(best.get(name, value), value)
    return rounds, best


# An expression of the targets as a tree, or None when empty or refused
# (then with a line naming the targets file and its line). A trial
# over ones finds the calls with the wrong number of arguments.
def expression(text, line, column):
    try:
        if not CHARACTERS.fullmatch(text) or len(text) > 500:
            raise ValueError
        tree = ast.parse(NAME.sub(r"V_\1", text.strip()), mode="eval").body
        walk(tree, None)
    except (SyntaxError, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        if text != "":
            say(f"{targets}:{line}: {column} is not an expression")
            refused.append(line)
        return None
    unknown = [name for name in NAME.findall(text) if run_of(name) is None]
    if unknown:
        say(f"{targets}:{line}: {column} names ${unknown[0]}, which no run of the plan makes")
        refused.append(line)
        return None
    return tree


# The run of the plan a value's name belongs to ($s_ID, $m_ID, $o_ID, $x_ID
# or $e_ID_KEY: the longest ID that fits), or None.
def run_of(name):
    if name[:2] in ("s_", "m_", "o_", "x_") and name[2:] in ids:
        return name[2:]
    return max((i for i in ids if name.startswith(f"e_{i}_")), key=len, default=None)


# The value of the tree over one round's values (None: every name is 1);
# None when a value it needs is missing. Only numbers,
# $NAME (V_NAME here: no capital comes from the file) and OPERATORS pass.
def walk(node, values):
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id.startswith("V_"):
        return 1.0 if values is None else values.get(node.id[2:])
    if isinstance(node, ast.UnaryOp) and type(node.op) is ast.USub:
        function, args = OPERATORS[ast.USub], [node.operand]
    elif isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        function, args = OPERATORS[type(node.op)], [node.left, node.right]
    elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("ceil", "max") and not node.keywords:
        function, args = OPERATORS[node.func.id], node.args
    else:
        raise ValueError
    args = [walk(arg, values) for arg in args]
    return None if None in args else function(*args)


# A number as the table prints it: 0 to 3 decimals by its size.
def fmt(x):
    if x is None:
        return ""
    return "%.*f" % (0 if abs(x) >= 1000 else 1 if abs(x) >= 100 else 2 if abs(x) >= 10 else 3, x)


# The value as printed: one more digit where rounding would make a miss
# look like its target (0.97997 against 0.98).
def shown(x, target):
    if None not in (x, target) and x != target and float(fmt(x)) == target:
        return g(x, 5)
    return fmt(x)


# x against its target, higher better (None where less is better and x <= 0,
# and for an infinity or NaN, which would stretch the chart's axis past 1e300).
def score(x, target, better):
    if x is None or not math.isfinite(x) or better != ">=" and x <= 0:
        return None
    return divide(x, target) if better == ">=" else divide(target, x)


# A target's numbers: its value over the rounds that have one, then the
# value, the limit and the detail as the row gives them.
def estimate(row, rounds, best):
    trees = {k: expression(row[k], row["_line"], k) for k in ("value", "detail", "limit")}
    have = {}
    for k, tree in trees.items():
        values = [walk(tree, round_values) for round_values in rounds.values()] if tree else []
        have[k] = [x for x in values if x is not None]
    value = median(have["value"])
    limit = median(have["limit"])
    if row["estimate"] == "best":
        value = walk(trees["value"], best) if trees["value"] and have["value"] else None
        limit = walk(trees["limit"], best) if trees["limit"] else None
    return have["value"], value, limit, median(have["detail"])


# The targets, each {size} put in (sizes hold only names and numbers).
def targets_of():
    with open(f"{work}/sizes.tsv") as f:
        sizes = dict(line.rstrip("\n").split("\t", 1) for line in f)
    kept = []
    for row in rows(targets, columns=TARGET_COLUMNS):
        for k, text in row.items():
            if k != "_line":
                row[k] = re.sub(r"\{([a-z_]+)\}", lambda m: sizes.get(m[1], m[0]), text)
        at = f'{targets}:{row["_line"]}: '
        # A target says which way is better; an information row says neither.
        directions = (">=", "<=") if row["target"] else ("",)
        if number(row["target"]) is None and row["target"] != "":
            say(at + f'target "{row["target"]}" is not a number: row left out')
        elif row["better"] not in directions:
            say(at + f'better "{row["better"]}" is not {" or ".join(directions) or "empty"}: row left out')
        elif row["estimate"] not in ("median", "best"):
            say(at + f'estimate "{row["estimate"]}" is not median or best: row left out')
        else:
            kept.append(row)
    return kept


# Every expression and target of the targets file: exit 2 if one is bad.
def check():
    # rows() first: a file it cannot read (a folder) is one line; the count
    # reads the file as rows() does.
    kept = targets_of()
    with open(targets, newline="", encoding="utf-8-sig", errors="replace") as f:
        count = sum(1 for _ in csv.reader(f)) - 1
    for row in kept:
        for k in ("value", "detail", "limit"):
            expression(row[k], row["_line"], k)
    if count < 1:
        say(f"{targets} has no target")
    if refused or len(kept) < count or count < 1:
        sys.exit(2)


def main():
    runs_csv, repeat, load_before, load_after = sys.argv[3:7]
    rounds, best = values_of(runs_csv, f"{work}/samples.csv")
    with open(f"{work}/skipped.tsv") as f:
        skipped = dict(line.rstrip("\n").split("\t", 1) for line in f)
    machine = next(csv.reader([os.environ.get("LAB_MACHINE", "")]), []) + [""] * 7
    host, cpus, cpu_model, cc, libcurl, openssl, commit = machine[:7]
    kernel = f"{os.uname().sysname} {os.uname().release}"
    s = "" if repeat == "1" else "s"
    subtitle = (f"{cpus} CPUs, {cpu_model}; {kernel}; libcurl {libcurl}, OpenSSL {openssl}; "
                f"load average {load_before} before; {repeat} round{s}")
    table = [f"Machine: {cpus} CPUs, {cpu_model}, {kernel}; libcurl {libcurl}, OpenSSL {openssl}; {cc}; "
             f"load average {load_before} before, {load_after} after",
             f"{repeat} round{s}, interleaved; each ratio computed per round: median (min .. max);",
             "*: each program at its best round, not the median (CPU-bound work: noise only adds time)"]
    chart = []
    bench = []
    md = []
    charted = ""
    section = ""
    for row in targets_of():
        values, value, limit, detail = estimate(row, rounds, best)
        low = min(values, default=None)
        high = max(values, default=None)
        target = number(row["target"])
        better = row["better"]
        printed = shown(value, target)
        note = ""
        points = None
        if value is None:
            # Skipped when a run or sample it needs was skipped, else an error.
            gone = [run_of(name) for name in NAME.findall(row["value"]) if run_of(name) in skipped]
            verdict = "skip" if gone else "error"
            note = f"{gone[0]} skipped: {skipped[gone[0]]}" if gone else "no value: a run it needs failed"
        elif target is None:
            verdict = "info"
        else:
            met = value >= target if better == ">=" else value <= target
            verdict = "pass" if met else "miss"
            points = score(value, target, better)
            if row["section"] != charted:
                chart.append(f"{row['section']}\tNaN\tNaN\tNaN\thead\t\tNaN")
                charted = row["section"]
            worst, most = (low, high) if better == ">=" else (high, low)
            unit = "" if row["unit"] == "ratio" else " " + row["unit"]
            sign = "≥" if better == ">=" else "≤"
            chart.append("\t".join([row["measurement"], g(points, 6), g(score(worst, target, better), 6),
                                    g(score(most, target, better), 6), verdict,
                                    f"{printed}{unit} ({sign} {row['target']})",
                                    g(score(limit, target, better), 6) or "NaN"]))
        if row["section"] != section:
            table.append(f"\n{row['section']}")
            section = row["section"]
        star = "*" if row["estimate"] == "best" and value is not None else ""
        goal = "" if target is None else f"{better} {row['target']}"
        spread = "" if value is None else f"({fmt(low)} .. {fmt(high)})"
        said = note if detail is None else f"{fmt(detail)} {row['detail_unit']}"
        said += "" if limit is None else f"; the machine's limit {fmt(limit)}"
        table.append(f"  {row['measurement']:<54} {printed + star or '-':>9} {spread:<22} {goal:<9} "
                     f"{verdict:<5} {said}")
        bench.append([row["section"], row["measurement"], row["lesson"], row["args"], row["metric"],
                      row["estimate"], printed, fmt(low), fmt(high), fmt(limit), row["target"], better, row["unit"],
                      verdict, "" if points is None else "%.4f" % points, fmt(detail), row["detail_unit"],
                      len(values), host, cpus, cpu_model, kernel, cc, libcurl, openssl, commit,
                      load_before, load_after, note])
        spread = "" if low is None else f"{fmt(low)}–{fmt(high)}"
        md.append([row["measurement"], printed + star, spread, goal, verdict, row["unit"], fmt(limit)])
    verdicts = [row[COLUMNS.index("verdict")] for row in bench]
    passed = verdicts.count("pass")
    missed = verdicts.count("miss")
    table.append(f"\n{passed} of {passed + missed} targets met, {missed} missed.")
    write_lines(f"{work}/table.txt", table)
    write(f"{work}/subtitle", subtitle + "\n")
    write_lines(f"{work}/chart.dat", chart)
    with open(f"{work}/bench.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([COLUMNS] + bench)
    header = ["measurement", "value", "min–max", "target", "verdict", "unit", "limit"]
    write(f"{work}/bench.md", f"Made by `make bench`: {subtitle}. The median of the rounds, or (*) each "
          "program at its best round; the limit is what this machine did another way in the same round.\n\n"
          + markdown(header, md))


work, targets = sys.argv[1:3]
refused = []
with open(f"{work}/ids") as f:
    ids = set(f.read().split())
if len(sys.argv) == 3:
    check()
else:
    main()
