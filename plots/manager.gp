# manager.gp - sets per second (all children together) against the number of
# child processes: a manager process that owns the dict and answers every
# set over a Unix-domain socket, against one table in shared memory behind a
# lock. Log y: they differ by well over ten times. scripts/plot sets the
# variables and cuts the tables:
#   dir/manager_<model>.dat   chunks ops_per_s ops  (tab-separated)
#   manager_models, min_chunks, max_chunks, min_ops, max_ops (the ranges),
#   machine, fmt, out
load "style.gp"
set datafile separator tab
title_of(m) = m eq "manager" ? "manager process (a round trip per set)" : \
              m eq "shared-memory" ? "shared memory (--shared-memory: lock, store, unlock)" : m

set logscale x 2
set logscale y
set format y "%.0s%c"
set xtics 2 nomirror format "%g"
set xrange [min_chunks / 1.4:max_chunks * 1.4]
set yrange [min_ops / 4:max_ops * 4]
set ytics nomirror
set xlabel "child processes doing sets at once (--chunks, log scale)"
set ylabel "sets per second, all children together (log scale)"
set key center right box opaque
set title "sum_chunks_manager: a manager process against shared memory" font ",14"
set label 1 machine at graph 0.5, 1.0 center offset 0, 0.8 font ",10" front
set tmargin 5

plot for [m in manager_models] dir . "/manager_" . m . ".dat" using 1:2 \
         with linespoints lw 2 pt 7 ps 1 lc rgb model_color(m) title title_of(m), \
     for [m in manager_models] dir . "/manager_" . m . ".dat" using 1:2:(gprintf("%.2s%c", $2)) \
         with labels offset 0, 1 font ",9" notitle
