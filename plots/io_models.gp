# io_models.gp - the I/O models side by side: one bar per model at its best
# worker count (the lowest median over the worker counts tried), the spread
# of its runs (min to max) as an error bar, and its ideal ceil(N/W) x latency
# as a red tick. scripts/plot sets the variables and cuts the table:
#   dir/io_models.dat   label median_s min_s max_s ideal_s speedup  (tab-separated)
#   requests, latency_ms, machine, fmt, out
load "style.gp"
set datafile separator tab
file = dir . "/io_models.dat"
stats file using 3 name "RUNS" nooutput
stats file using 5 name "IDEAL" nooutput
stats file using 4 name "TOP" nooutput
bottom = (RUNS_min < IDEAL_min ? RUNS_min : IDEAL_min) / 2

set style fill solid 0.85 border -1
set boxwidth 0.6
set logscale y
set format y "%g"
set yrange [bottom:TOP_max * 3]
set offsets 0.4, 0.4, 0, 0
set xtics nomirror scale 0 font ",10"
set ytics nomirror
set grid noxtics ytics
set ylabel "time for all requests (seconds, log scale)"
set xlabel "model (each at the worker count where it was fastest)" offset 0, -2
set bmargin 7
set tmargin 5
set key top right box opaque
set title sprintf("%d downloads, each answered after %g ms: the fastest run of each model", requests, latency_ms) font ",14"
set label 1 machine at graph 0.5, 1.0 center offset 0, 0.8 font ",10" front

plot file using 0:2:xtic(1) with boxes lc rgb model_color("threads") title "median of the runs", \
     ''   using 0:2:3:4 with yerrorbars lc rgb "#222222" pt 7 ps 0.5 lw 1.5 title "min to max", \
     ''   using 0:5:(0.3) with xerrorbars lc rgb ideal_color pt 7 ps 0.01 lw 2.5 title "ideal: ceil(requests / workers) x latency", \
     ''   using 0:4:($6 == 1 ? sprintf("%.3g s", $2) : sprintf("%.3g s, %.1fx faster", $2, $6)) with labels offset 0, 1 font ",11" notitle
