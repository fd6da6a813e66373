# reproduce.gp - published speedups against the same programs' here: the
# Python twins and the C lessons, per case and model.
#
# Speedup = the sequential time per task / the row's time per task, each
# against its own language's sequential run, so the two languages' speeds
# cancel and only the shape is compared. Bars start at 1 (no change): up is
# faster than the sequential run, down slower. "no Py" or "no C" marks a row
# that one language cannot run here (the table says why).
#
# scripts/reproduce sets the variables (these are the defaults):
#   csv       results/reproduce.csv (read by column name)
#   out       reproduce (the file name without .png/.svg), fmt png or svg
#   machine   what measured, and at which scales: the subtitle

if (!exists("csv")) csv = "../results/reproduce.csv"
if (!exists("out")) out = "reproduce"
if (!exists("machine")) machine = ""
width = 1600
height = 820
load "style.gp"

set datafile separator comma
set datafile columnheaders
set datafile missing ""

# One slot per row, and one empty slot between cases. gnuplot reads the file
# afresh for each plot clause, so the counter restarts at row 0; gap also
# counts the cases so far, which staggers their names.
gap = 0
prev = ""
slot(row, c) = (row == 0 ? (gap = 0, prev = c, 0) : (c ne prev ? (gap = gap + 1, prev = c, 0) : 0), row + gap)
first_of_case(row, c) = (row == 0 || c ne prev)
name_height(row) = gap % 2 ? 250 : 500
label(m, v) = (v eq "" ? m : m . " (" . v . ")")
# A bar from 1 to the speedup, as xlow xhigh ylow yhigh.
low(s) = (s < 1 ? s : 1)
high(s) = (s < 1 ? 1 : s)
width = 0.27

set style fill solid 0.85 noborder
set logscale y
set format y "%gx"
set yrange [0.05:1000]
set offsets 0.6, 1.6, 0, 0
set xtics rotate by 60 right nomirror scale 0 font ",9"
set ytics nomirror
set grid ytics lc rgb "#dddddd"
set ylabel "speedup over the sequential run (log scale)"
set xlabel "model (and the Python library, where several) of each published timing, grouped by case" offset 0, 1.5
set bmargin 13
set tmargin 5
set key bottom left inside vertical box opaque samplen 2
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#444444" dt 2 front
set title "The articles' speedups (published), their Python programs' here and the C lessons' here" font ",14"
set label 1 machine at graph 0.5, 1.0 center offset 0, 0.8 font ",10" front

plot csv using (slot($0, strcol("case"))):(NaN):xticlabels(label(strcol("model"), strcol("variant"))) notitle, \
     ''  using (x = slot($0, strcol("case")), x - width):(column("published_speedup")):(x - 1.5 * width):(x - 0.5 * width):(low(column("published_speedup"))):(high(column("published_speedup"))) with boxxyerror lc rgb model_color("sync") title "published (Python, the article's machine)", \
     ''  using (x = slot($0, strcol("case")), x):(column("python_speedup")):(x - 0.5 * width):(x + 0.5 * width):(low(column("python_speedup"))):(high(column("python_speedup"))) with boxxyerror lc rgb model_color("threads") title "Python here (the twins, CPython on this machine)", \
     ''  using (x = slot($0, strcol("case")), x + width):(column("measured_speedup")):(x + 0.5 * width):(x + 1.5 * width):(low(column("measured_speedup"))):(high(column("measured_speedup"))) with boxxyerror lc rgb model_color("multiprocessing") title "C here (the lessons)", \
     ''  using (c = strcol("case"), f = first_of_case($0, c), slot($0, c) - 0.45):(name_height($0)):(f ? c : "") with labels left font ",10" tc rgb "#333333" notitle, \
     ''  using (slot($0, strcol("case"))):(1.25):(column("python_speedup") > 0 ? "" : "no Py") with labels rotate by 90 left font ",8" tc rgb "#888888" notitle, \
     ''  using (slot($0, strcol("case")) + width):(1.25):(column("measured_speedup") > 0 ? "" : "no C") with labels rotate by 90 left font ",8" tc rgb "#888888" notitle
