# What the report steps share: messages, CSV rows checked as they are read,
# numbers, and Markdown tables.
#
# The report steps (scripts/report/*.py) turn run files into tables; the
# bash scripts around them run the lessons, hold the results lock and place
# the files the steps write (scripts/lib.sh: report NAME ARG...). CSV is read
# with Python's csv module (RFC 4180: quotes, commas and line breaks inside
# fields), never split by hand, and a field becomes a number only when it
# looks like one.
import csv
import os
import re
import sys

# The script whose step this is, for messages (lib.sh's report() sets it).
ME = os.environ.get("LAB_ME", "scripts/report")
# Up to 15 digits before the point: every figure of the lab, and nothing
# that becomes infinite as a float.
PLAIN_NUMBER = re.compile(r"[0-9]{1,15}(\.[0-9]+)?")
PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]*")
CONTROL = re.compile("[\x00-\x1f\x7f]")


def say(message):
    print(f"{ME}: {message}", file=sys.stderr)


def die(message, status=1):
    say(message)
    sys.exit(status)


# The value of a plain decimal (digits, a point, digits), else None: no
# sign, exponent, nan, hex or thousand-digit number, all of which float()
# would take.
def number(text):
    return float(text) if text is not None and PLAIN_NUMBER.fullmatch(text) else None


# The rows of a CSV file as dicts, each with the line it starts on in
# row["_line"]. A row is left out, with one line on stderr naming the file
# and line, when it has too few or too many fields, a control character (a
# line break, a tab) in a field, an empty field among `required`, a field
# of `names` that is not a plain name, or one of `numbers` that is neither
# empty nor a plain number. A file without one
# of those columns, or of `columns`, or with one twice, is refused (exit
# 2). A byte-order mark is skipped. A row with bytes that are not UTF-8
# (read as U+FFFD) is left out too, not the whole file; and a long field
# (a record of 1 MB) is read: csv's limit of 128 kB would refuse the file.
def rows(path, names=(), numbers=(), required=(), columns=()):
    csv.field_size_limit(1 << 30)
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f)
            header = next(reader, None) or []
            for k in (*columns, *names, *numbers, *required):
                if k not in header:
                    die(f"{path} has no column {k}: not the file this step reads", 2)
                if header.count(k) > 1:
                    die(f"{path} has the column {k} twice", 2)
            kept = []
            line = reader.line_num + 1
            for fields in reader:
                row = dict(zip(header, fields))
                problem = None
                if any("\ufffd" in field for field in fields):
                    problem = "bytes that are not UTF-8"
                elif len(fields) < len(header):
                    problem = "a short row (torn, or a column missing)"
                elif len(fields) > len(header):
                    problem = "more fields than columns"
                # No file the lab reads has one: scripts/run writes a line
                # break or a tab as a space. One would break a line of the
                # text, a Markdown table or a chart's data file.
                for k, field in row.items():
                    if problem is None and CONTROL.search(field):
                        problem = f"{k} holds a tab, a line break or another control character"
                for k in required:
                    if problem is None and row[k] == "":
                        problem = f"no {k} (a torn row?)"
                for k in names:
                    if problem is None and not PLAIN_NAME.fullmatch(row[k]):
                        problem = f'{k} "{row[k]}" is not a plain name'
                for k in numbers:
                    if problem is None and row[k] != "" and number(row[k]) is None:
                        problem = f'{k} "{row[k]}" is not a number'
                if problem:
                    say(f"{path}:{line}: {problem}: row left out")
                else:
                    row["_line"] = line
                    kept.append(row)
                line = reader.line_num + 1
            return kept
    except (OSError, csv.Error) as e:
        die(f"cannot read {path}: {e}")


# Miller's interpolated median (stats1 -i) to the last bit: the lower
# middle value plus half the step to the upper one; None for no values.
def median(values):
    if not values:
        return None
    ordered = sorted(values)
    low = ordered[(len(ordered) - 1) // 2]
    return low if len(ordered) % 2 else low + (ordered[len(ordered) // 2] - low) * 0.5


# x / y; None when either is None or y is 0.
def divide(x, y):
    return x / y if x is not None and y else None


# The NAME=VALUE pairs of a record's extra column, each split at its first
# "=" (the last of a name kept).
def extra_pairs(text):
    return dict(pair.split("=", 1) for pair in text.split(" ") if "=" in pair)


def write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        die(f"cannot write {path}: {e}")


def write_lines(path, lines):
    write(path, "".join(line + "\n" for line in lines))


# x with `digits` significant digits (printf's %g); '' for None.
def g(x, digits):
    return "" if x is None else f"{x:.{digits}g}"


# A Markdown table (laid out as miller's --omd): a | in a cell shown as \|.
def markdown(header, table):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in table]
    return "\n".join(lines) + "\n"
