# cpu_speedup.gp - CPU speedup (sequential time / time) against workers, one
# panel per workload, a line per model, with the ideal min(workers, cores):
# past the cores, more workers only take turns. The error bars run from the
# slowest run's speedup to the fastest's. scripts/plot sets the variables
# and cuts the tables:
#   dir/cpu_<workload>_<model>.dat   workers speedup median_s low high  (tab-separated)
#   dir/cpu_<workload>.txt           tasks size sequential_s
#   workloads, cpu_models, max_workers, cpus, machine, out (the file name
#   without .png/.svg)
set datafile separator tab
cores = cpus
ideal(w) = w < 1 ? NaN : w < cores ? w : cores
title_of(m) = m eq "threads" ? "threads (cpu\\_threads)" : \
              m eq "multiprocessing" ? "processes (cpu\\_multiprocessing)" : \
              m eq "threads-gil" ? "threads under an emulated GIL" : \
              m eq "mpi-shm" ? "MPI ranks, shared memory (cpu\\_mpi)" : \
              m eq "mpi-tcp" ? "MPI ranks over TCP (cpu\\_mpi)" : m
color_of(m) = m eq "threads" ? 0x4e79a7 : m eq "multiprocessing" ? 0xf28e2b : m eq "threads-gil" ? 0xb07aa1 : \
              m eq "mpi-shm" ? 0x59a14f : m eq "mpi-tcp" ? 0x76b7b2 : 0x888888
# Nudge the models apart a little so that their error bars do not hide each other.
nudge(m) = m eq "threads" ? -0.04 : m eq "multiprocessing" ? 0.04 : \
           m eq "mpi-shm" ? 0.08 : m eq "mpi-tcp" ? 0.12 : 0
about(w) = system(sprintf("awk -F'\t' '{ printf \"%%d tasks of size %%s, sequential %%.2f s\", $1, $2, $3 }' '%s/cpu_%s.txt'", dir, w))

n = words(workloads)
columns = n < 3 ? n : 2
rows = n < 3 ? 1 : (n + 1) / 2
top_speedup = cores * 1.25 > 2.5 ? cores * 1.25 : 2.5

do for [fmt in "png svg"] {
    if (fmt eq "png") { set terminal pngcairo size 1200, 700 font "sans,11" enhanced }
    else { set terminal svg size 1200, 700 font "sans,11" enhanced }
    set output out . "." . fmt
    set multiplot layout rows, columns margins 0.07, 0.98, 0.15, 0.85 spacing 0.08, 0.16 \
        title sprintf("CPU-bound work spread over workers: speedup against one core\n%s", machine) \
        font ",13" noenhanced

    set xrange [0.5:max_workers + 0.5]
    set yrange [0:top_speedup]
    set xtics 1 nomirror
    set ytics nomirror
    set border
    set grid xtics ytics lc rgb "#dddddd"
    set xlabel "workers (threads, processes or worker ranks)"
    set ylabel "speedup over cpu\\_sync (times)"
    unset key
    do for [w in workloads] {
        set title sprintf("%s: %s", w, about(w)) font ",11" noenhanced
        plot ideal(x) with lines lw 2 dt 2 lc rgb "#e15759", \
             for [m in cpu_models] dir . "/cpu_" . w . "_" . m . ".dat" using ($1 + nudge(m)):2:4:5 \
                 with yerrorlines lw 2 pt 7 ps 0.9 lc rgb color_of(m)
    }

    # One legend for every panel, in a strip along the bottom.
    set lmargin at screen 0.05
    set rmargin at screen 0.95
    set bmargin at screen 0.0
    set tmargin at screen 0.06
    unset border; unset tics; unset grid; unset xlabel; unset ylabel; unset title
    set yrange [0:1]
    set key center center horizontal maxrows 1 width -4 samplen 3 font ",11"
    plot NaN with lines lw 2 dt 2 lc rgb "#e15759" title sprintf("ideal: min(workers, %d cores)", cores), \
         for [m in cpu_models] NaN with linespoints lw 2 pt 7 lc rgb color_of(m) title title_of(m)
    unset multiplot
    unset lmargin; unset rmargin; unset bmargin; unset tmargin
}
