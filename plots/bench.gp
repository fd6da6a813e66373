# bench.gp - every target of `make bench` as one horizontal bar: how far the
# measurement is from its target (measured / target, turned so that more is
# better), with the rounds' spread (min to max) as a whisker. Right of the
# line at 1 the target is met. Log x: twice too slow and twice as fast as
# needed sit equally far from the line. scripts/bench sets the variables:
#   data     a tab-separated file, in the table's order: name score
#            score_min score_max verdict (pass|miss) text (the median and
#            the target, printed right of the plot) limit (the best this
#            machine did another way in the same run, turned like score;
#            NaN where there is none), and a line "SECTION NaN NaN NaN head
#            (empty) NaN" before each group. A limit left of the line at 1
#            says the target cannot be met here.
#   machine  the subtitle; fmt, out  as plots/style.gp says
set datafile separator tab
stats data using 0 nooutput
rows = STATS_records
# The x range: 0.4 to 3, widened to take every score, whisker and limit. A
# column with no number at all (no target has a limit, every score was
# infinite) leaves STATS_min undefined: the range stays as it was.
lo = 0.4
hi = 3
stats data using 2 nooutput
if (exists("STATS_min")) {
    lo = STATS_min < 0.5 ? STATS_min / 1.3 : lo
    hi = STATS_max > 2.5 ? STATS_max * 1.3 : hi
}
stats data using 3 nooutput
if (exists("STATS_min")) {
    lo = STATS_min > 0 && STATS_min / 1.2 < lo ? STATS_min / 1.2 : lo
}
stats data using 4 nooutput
if (exists("STATS_min")) {
    hi = STATS_max * 1.15 > hi ? STATS_max * 1.15 : hi
}
stats data using 7 nooutput
if (exists("STATS_min")) {
    lo = STATS_min / 1.2 < lo ? STATS_min / 1.2 : lo
}

width = 1250
height = 170 + 24 * rows
load "style.gp"
color_of(v) = v eq "pass" ? pass_color : miss_color
is_head(v) = v eq "head"
half = 0.36

set logscale x 2
set xrange [lo:hi]
set yrange [rows - 0.5:-0.5]
set xtics nomirror format "%g"
set ytics nomirror scale 0 font ",10"
set grid xtics lc rgb "#e0e0e0"
set xlabel "measured / target, turned so that more is better (log scale); right of 1: target met"
set arrow 1 from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "#333333" front
set key horizontal maxcols 3 width -1 font ",10" center top at screen 0.5, screen 1 - 58.0 / (170 + 24 * rows) samplen 2
set label 2 "make bench: each lesson against the limit this machine sets for it" \
    at screen 0.5, screen 1 center offset 0, -1.2 font ",14" front
set label 1 machine at screen 0.5, screen 1 center offset 0, -2.6 font ",10" front
set tmargin 6
set lmargin 46
set rmargin 26
set style fill solid 0.85 noborder

plot data using (sqrt($2 * lo)):0:(lo):2:($0 - half):($0 + half):(color_of(strcol(5))):ytic(is_head(strcol(5)) ? "" : strcol(1)) \
         with boxxyerror lc rgb variable notitle, \
     data using 2:0:3:4 with xerrorbars pt -1 lw 1.2 lc rgb "#333333" notitle, \
     data using 7:0 with points pt 13 ps 1.4 lc rgb "#1f1f1f" title "the machine's limit (same run)", \
     data using (hi):0:6 with labels left offset 1, 0 font ",9" noenhanced notitle, \
     data using (lo):0:(is_head(strcol(5)) ? strcol(1) : "") with labels left offset 0.5, 0 font ",10:Bold" noenhanced notitle, \
     NaN with boxes lc rgb pass_color title "target met", \
     NaN with boxes lc rgb miss_color title "missed"
