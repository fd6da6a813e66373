# race.gp - what a race costs and what the cures cost: for each mode of
# bin/race (plain counter++, a mutex, an atomic add) against the threads
# adding at once, the share of updates lost (left) and the nanoseconds per
# increment, all threads together (right). scripts/plot sets the variables
# and cuts the tables from the summary, as for the other charts:
#   dir/race_<mode>.dat   workers lost_pct ns_per_increment  (tab-separated,
#                         medians over the runs of that mode and workers)
#   race_modes (the modes there are), race_max_workers, machine, fmt, out
width = 1200
height = 560
load "style.gp"
set datafile separator tab
title_of(m) = m eq "plain" ? "plain counter++ (no lock)" : \
              m eq "mutex" ? "a mutex around it" : \
              m eq "atomic" ? "an atomic add" : m
color_of(m) = m eq "plain" ? 0xe15759 : m eq "mutex" ? 0x4e79a7 : m eq "atomic" ? 0x59a14f : 0x888888
point_of(m) = m eq "plain" ? 7 : m eq "mutex" ? 5 : 9

set logscale x 2
set xrange [0.8:race_max_workers * 1.25]
set xtics 2 nomirror format "%g"
set ytics nomirror
set grid xtics ytics
set xlabel "threads adding to the one counter (--workers, log scale)"
set key below horizontal maxrows 1 width -2 box

set multiplot layout 1, 2 margins 0.07, 0.98, 0.2, 0.84 spacing 0.08 \
    title sprintf("race: updates lost without a lock, and the price of not losing them\n%s", machine) font ",13"
set yrange [0:100]
set ylabel "updates lost (% of all the increments)"
set title "lost updates"
plot for [m in race_modes] dir . "/race_" . m . ".dat" using 1:2 \
         with linespoints lw 2 pt point_of(m) ps 1 lc rgb color_of(m) title title_of(m)
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
set ylabel "nanoseconds per increment (wall time / all increments)"
set title "the cost of each increment"
plot for [m in race_modes] dir . "/race_" . m . ".dat" using 1:3 \
         with linespoints lw 2 pt point_of(m) ps 1 lc rgb color_of(m) title title_of(m), \
     for [m in race_modes] dir . "/race_" . m . ".dat" using 1:3:(sprintf("%.1f", $3)) \
         with labels offset 0, 1 font ",9" notitle
unset multiplot
