# cpu_speedup.gp - CPU speedup (sequential time / time) against workers, one
# panel per workload, a line per model, with the ideal min(workers, cores):
# past the cores, more workers only take turns. The error bars run from the
# slowest run's speedup to the fastest's. scripts/plot sets the variables
# and cuts the tables:
#   dir/cpu_<workload>_<model>.dat   workers speedup median_s low high  (tab-separated)
#   workloads, cpu_models (every model, for the legend), models_<workload>
#   (those measured on that workload), max_workers, cpus, about_<workload> (tasks,
#   size and sequential time, for the panel's title), machine, fmt, out
width = 1200
height = 700
load "style.gp"
set datafile separator tab
cores = cpus
ideal(w) = w < 1 ? NaN : w < cores ? w : cores
# Nudge the models apart a little so that their error bars do not hide each other.
nudge(m) = m eq "threads" ? -0.04 : m eq "multiprocessing" ? 0.04 : \
           m eq "mpi-shm" ? 0.08 : m eq "mpi-tcp" ? 0.12 : 0

n = words(workloads)
columns = n < 3 ? n : 2
rows = n < 3 ? 1 : (n + 1) / 2
top_speedup = cores * 1.25 > 2.5 ? cores * 1.25 : 2.5

set multiplot layout rows, columns margins 0.07, 0.98, 0.2, 0.85 spacing 0.08, 0.16 \
    title sprintf("CPU-bound work spread over workers: speedup against one core\n%s", machine) font ",13"
set xrange [0.5:max_workers + 0.5]
set yrange [0:top_speedup]
set xtics 1 nomirror
set ytics nomirror
set border
set xlabel "workers (threads, processes or worker ranks)"
set ylabel "speedup over cpu_sync (times)"
unset key
do for [w in workloads] {
    set title sprintf("%s: %s", w, value("about_" . w)) font ",11"
    plot ideal(x) with lines lw 2 dt 2 lc rgb ideal_color, \
         for [m in value("models_" . w)] dir . "/cpu_" . w . "_" . m . ".dat" using ($1 + nudge(m)):2:4:5 \
             with yerrorlines lw 2 pt 7 ps 0.9 lc rgb model_color(m)
}

# One legend for every panel, in a strip along the bottom.
set lmargin at screen 0.05
set rmargin at screen 0.95
set bmargin at screen 0.0
set tmargin at screen 0.1
unset border; unset tics; unset grid; unset xlabel; unset ylabel; unset title
set yrange [0:1]
set key center center horizontal maxcols 3 width -4 samplen 3 font ",11"
plot NaN with lines lw 2 dt 2 lc rgb ideal_color title sprintf("ideal: min(workers, %d cores)", cores), \
     for [m in cpu_models] NaN with linespoints lw 2 pt 7 lc rgb model_color(m) title model_name(m) . " (cpu_" . (m eq "threads-gil" ? "threads --gil" : m eq "mpi-tcp" ? "mpi+tcp" : m[1:3] eq "mpi" ? "mpi" : m) . ")"
unset multiplot
