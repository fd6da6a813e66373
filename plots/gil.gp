# gil.gp - what the GIL does to CPU work: for each workload, the time of the
# sequential lesson, of threads, of the same threads under the emulated GIL
# (cpu_threads --gil) and of processes, all at W = cores, relative to the
# sequential time (1 = cpu_sync). With cpython=1, the GIL bars are instead
# the emulated GIL's and CPython's own, for 2 and 5 threads, each against
# its own sequential run, from one interleaved measurement
# (experiments/python/gil_compare.py). scripts/plot sets the variables and cuts:
#   dir/gil.dat   workload seq_s threads_s threads_gil_s processes_s
#                 [emulated_2 cpython_2 emulated_5 cpython_5]  (tab-separated;
#                 the last four are already relative, '-' where not measured)
#   cpus, machine, fmt, out, cpython
if (!exists("cpython")) cpython = 0
if (cpython) width = 1200
load "style.gp"
set datafile separator tab
set datafile missing "-"
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
# Bar k of a cluster of n (gap 1.5) sits at x + (k - (n - 1) / 2) / (n + 1.5).
bars = cpython ? 7 : 4
bar(k) = $0 + (k - (bars - 1) / 2.0) / (bars + 1.5)
seconds(c) = sprintf("%.2f s", column(c))
relative(c) = sprintf("%.2f", column(c))

if (cpython) {
    set yrange [0:1.9]
    set ylabel "time relative to the same implementation's sequential run"
    set title sprintf("Python's GIL, put back and measured: threads on %d cores, the emulated lock beside CPython's own", cpus) font ",14"
    plot file using (1):xtic(1) lc rgb model_color("sync") title "sequential (cpu_sync; CPython: cpu_sync.py)", \
         ''   using ($3 / $2) lc rgb model_color("threads") title sprintf("threads, no GIL (cpu_threads, %d)", cpus), \
         ''   using 6 lc rgb model_color("threads-gil") title "2 threads, emulated GIL (cpu_threads --gil)", \
         ''   using 7 lc rgb 0x76b7b2 title "2 threads, CPython's GIL (cpu_threads.py)", \
         ''   using 8 lc rgb 0xd4a6c8 title "5 threads, emulated GIL", \
         ''   using 9 lc rgb 0xb6dcd8 title "5 threads, CPython's GIL", \
         ''   using ($5 / $2) lc rgb model_color("multiprocessing") title sprintf("processes (cpu_multiprocessing, %d)", cpus), \
         ''   using (bar(0)):(1):(seconds(2)) with labels offset 0, 0.8 font ",9" notitle, \
         ''   using (bar(1)):($3 / $2):(seconds(3)) with labels offset 0, 0.8 font ",9" notitle, \
         ''   using (bar(2)):6:(relative(6)) with labels offset 0, 0.8 font ",9" notitle, \
         ''   using (bar(3)):7:(relative(7)) with labels offset 0, 0.8 font ",9" notitle, \
         ''   using (bar(4)):8:(relative(8)) with labels offset 0, 0.8 font ",9" notitle, \
         ''   using (bar(5)):9:(relative(9)) with labels offset 0, 0.8 font ",9" notitle, \
         ''   using (bar(6)):($5 / $2):(seconds(5)) with labels offset 0, 0.8 font ",9" notitle
} else {
plot file using (1):xtic(1) lc rgb model_color("sync") title "sequential (cpu_sync)", \
     ''   using ($3 / $2) lc rgb model_color("threads") title sprintf("threads (cpu_threads, %d)", cpus), \
     ''   using ($4 / $2) lc rgb model_color("threads-gil") title "threads under the emulated GIL (--gil)", \
     ''   using ($5 / $2) lc rgb model_color("multiprocessing") title sprintf("processes (cpu_multiprocessing, %d)", cpus), \
     ''   using (bar(0)):(1):(seconds(2)) with labels offset 0, 0.8 font ",9" notitle, \
     ''   using (bar(1)):($3 / $2):(seconds(3)) with labels offset 0, 0.8 font ",9" notitle, \
     ''   using (bar(2)):($4 / $2):(seconds(4)) with labels offset 0, 0.8 font ",9" notitle, \
     ''   using (bar(3)):($5 / $2):(seconds(5)) with labels offset 0, 0.8 font ",9" notitle
}
