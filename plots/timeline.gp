# timeline.gp - a Gantt chart of one or more traced runs (--trace FILE),
# stacked as panels on one time axis: a row per lane (thread, child process,
# transfer slot), a box per event coloured by its category, the emulated
# GIL's moments as marks. scripts/timelines runs the lessons and
# scripts/trace2gantt cuts each trace into tables (tab-separated):
#   d_I/lanes.dat     row label
#   d_I/events.dat    row start_ms end_ms kind half_height
#   d_I/instants.dat  row t_ms kind
#   d_I/stats.dat     row text      (the GIL's numbers per lane, if any)
# and sets the variables: panels, d_I, t_I (title), r_I (rows), s_I (1 when
# the panel has stats), x0_I and x1_I (its time axis, ms), width,
# chart_title, machine, the kinds
# and marks present, for the key: span_kinds, mark_kinds), stats_px (room
# for the stats at the right), and fmt and out as plots/style.gp wants them.
set datafile separator tab

# The kinds trace2gantt writes, and their colours (the house palette).
array kind_name[13] = ["request (one download)", "task (one unit of CPU work)", \
    "set (a child's round trip to the manager)", "serve (the manager answering one)", \
    "block: computing without awaiting", "gil: held the lock", "gil-wait: wanted the lock, waited", \
    "other", "drop request: a waiter asks the holder to let go", \
    "woke up, lock still taken: a failed acquisition", "other moment", \
    "work in progress (under the GIL it runs only while its thread holds the lock)", \
    "compute (a CPU loop, until told to stop)"]
array kind_color[13] = ["#4e79a7", "#59a14f", "#f28e2b", "#76b7b2", "#ff9da7", "#e15759", "#f1ce63", \
    "#9c9c9c", "#222222", "#b07aa1", "#222222", "#59a14f", "#59a14f"]
do for [k = 1:13] { set linetype k lc rgb kind_color[k] lw 1.5 }

# Layout, in pixels: a title band, then per panel a heading, its rows and
# its time tics, then the axis label and the key.
row_px = 22
head_px = 30
tics_px = 40
top_px = 62
key_entries = words(span_kinds) + words(mark_kinds)
foot_px = 46 + 22 * int((key_entries + 1) / 2) + (stats_px > 0 ? 26 : 0)
rows_total = 0
do for [i = 1:panels] { rows_total = rows_total + value(sprintf("r_%d", i)) }
height = top_px + foot_px + panels * (head_px + tics_px) + rows_total * row_px
load "style.gp"
left = 170.0 / width
right = 1 - (stats_px + 25.0) / width

set xtics nomirror out font ",10"
set mxtics 5
set ytics scale 0 font ",10"
set grid xtics mxtics lc rgb "#e6e6e6", lc rgb "#f3f3f3"
set border 3 lc rgb "#888888"
set tics textcolor rgb "#222222"
set lmargin at screen left
set rmargin at screen right

work(k) = (k <= 5 || k == 8 || k >= 12)
# Half a box's width, less half a pixel when it is wider than two.
half_width(start, end) = (end - start > 2 * pixel_ms) ? (end - start - pixel_ms) / 2 : (end - start) / 2

set multiplot
set label 10 chart_title at screen 0.5, screen 1 - 22.0 / height center font ",14"
set label 99 machine at screen 0.5, screen 1 - 44.0 / height center font ",10"
top = 1 - top_px * 1.0 / height
do for [i = 1:panels] {
    d = value(sprintf("d_%d", i))
    rows = value(sprintf("r_%d", i))
    set tmargin at screen top - head_px * 1.0 / height
    set bmargin at screen top - (head_px + rows * row_px) * 1.0 / height
    set label 1 value(sprintf("t_%d", i)) at screen left, screen top - 14.0 / height left font ",11"
    x0 = value(sprintf("x0_%d", i))
    x1 = value(sprintf("x1_%d", i))
    set xrange [x0:x1]
    # A pixel, in ms: consecutive units of work are set one pixel apart
    # (a white border would swallow the ones narrower than itself).
    pixel_ms = (x1 - x0) / ((right - left) * width)
    set yrange [rows + 0.6:0.4]
    set y2range [rows + 0.6:0.4]
    unset key
    if (value(sprintf("s_%d", i))) {
        set y2tics scale 0 font ",10" textcolor rgb "#222222"
        plot d."/events.dat" using (work($4) ? ($2 + $3) / 2 : NaN):1:(half_width($2, $3)):5:4 \
                 with boxxyerror fs solid 0.85 noborder lc variable, \
             ''  using (work($4) ? NaN : ($2 + $3) / 2):1:(($3 - $2) / 2):5:4 \
                 with boxxyerror fs solid 0.9 noborder lc variable, \
             d."/instants.dat" using 2:($1 - ($3 == 9 ? 0.3 : -0.3)):($3 == 9 ? 11 : 2):3 \
                 with points pt variable ps 0.7 lc variable, \
             d."/lanes.dat" using (NaN):1:ytic(2), \
             d."/stats.dat" using (NaN):1:y2tic(2) axes x1y2
        unset y2tics
    } else {
        plot d."/events.dat" using (work($4) ? ($2 + $3) / 2 : NaN):1:(half_width($2, $3)):5:4 \
                 with boxxyerror fs solid 0.85 noborder lc variable, \
             ''  using (work($4) ? NaN : ($2 + $3) / 2):1:(($3 - $2) / 2):5:4 \
                 with boxxyerror fs solid 0.9 noborder lc variable, \
             d."/instants.dat" using 2:($1 - ($3 == 9 ? 0.3 : -0.3)):($3 == 9 ? 11 : 2):3 \
                 with points pt variable ps 0.7 lc variable, \
             d."/lanes.dat" using (NaN):1:ytic(2)
    }
    unset label 10
    unset label 99
    top = top - (head_px + tics_px + rows * row_px) * 1.0 / height
}
unset label 1
# The foot: the time axis's name and one key for every panel.
set label 2 "time since the program started (ms)" at screen (left + right) / 2, screen top - 6.0 / height center font ",11"
if (stats_px > 0) {
    set label 3 "At the right, over the whole run: each thread's share of the time holding the lock and waiting for it, the times it took the lock over, and its badness (failed / successful acquisitions)" \
        at screen 0.5, screen top - 30.0 / height center font ",10"
    top = top - 26.0 / height
}
set tmargin at screen top - 20.0 / height
set bmargin at screen 0
set lmargin at screen 0.02
set rmargin at screen 0.98
unset border
unset tics
unset grid
set yrange [0:1]
set key center center horizontal maxcols 2 Left reverse width 2 samplen 2 font ",10"
# (A plot of key entries alone trips gnuplot 5.4: hence the NaN; and an
# empty list cannot be iterated: hence the two cases.)
if (strlen(mark_kinds) > 0) {
    plot NaN notitle, \
         for [k in span_kinds] keyentry with boxes fs solid 0.85 lc int(k) title kind_name[int(k)], \
         for [k in mark_kinds] keyentry with points pt (int(k) == 9 ? 11 : 2) ps 0.9 lc int(k) title kind_name[int(k)]
} else {
    plot NaN notitle, \
         for [k in span_kinds] keyentry with boxes fs solid 0.85 lc int(k) title kind_name[int(k)]
}
unset multiplot
