# gil.gp - what the GIL does to CPU work: for each workload, the time of the
# sequential lesson, of threads, of the same threads under the emulated GIL
# (cpu_threads --gil) and of processes, all at W = cores, relative to the
# sequential time (1 = cpu_sync). scripts/plot sets the variables and cuts:
#   dir/gil.dat   workload seq_s threads_s threads_gil_s processes_s  (tab-separated)
#   cpus, machine, fmt, out
load "style.gp"
set datafile separator tab
file = dir . "/gil.dat"

set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.85 border -1
set boxwidth 0.95
set yrange [0:1.6]
set ytics 0.25 nomirror
set xtics nomirror scale 0 font ",12"
set grid noxtics ytics
set ylabel "time relative to the sequential lesson (1 = cpu_sync)"
set xlabel "workload" offset 0, -0.5
set key top right box opaque
set tmargin 5
set title sprintf("Python's GIL, put back: %d threads on %d cores, with and without the lock", cpus, cpus) font ",14"
set label 1 machine at graph 0.5, 1.0 center offset 0, 0.8 font ",10" front
# Bar k of a cluster of four (gap 1.5) sits at x + (k - 1.5) / 5.5 * 1.
bar(k) = $0 + (k - 1.5) / 5.5
seconds(c) = sprintf("%.2f s", column(c))

plot file using (1):xtic(1) lc rgb model_color("sync") title "sequential (cpu_sync)", \
     ''   using ($3 / $2) lc rgb model_color("threads") title sprintf("threads (cpu_threads, %d)", cpus), \
     ''   using ($4 / $2) lc rgb model_color("threads-gil") title "threads under the emulated GIL (--gil)", \
     ''   using ($5 / $2) lc rgb model_color("multiprocessing") title sprintf("processes (cpu_multiprocessing, %d)", cpus), \
     ''   using (bar(0)):(1):(seconds(2)) with labels offset 0, 0.8 font ",9" notitle, \
     ''   using (bar(1)):($3 / $2):(seconds(3)) with labels offset 0, 0.8 font ",9" notitle, \
     ''   using (bar(2)):($4 / $2):(seconds(4)) with labels offset 0, 0.8 font ",9" notitle, \
     ''   using (bar(3)):($5 / $2):(seconds(5)) with labels offset 0, 0.8 font ",9" notitle
