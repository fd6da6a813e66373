# io_workers.gp - I/O time against the number of workers (threads,
# processes, transfers in flight in the event loop), log-log, with the ideal
# ceil(N/W) x latency: W workers each wait for ceil(N/W) answers in turn.
# The sequential time is the dashed line at the top. scripts/plot sets the
# variables and cuts the tables:
#   dir/io_workers_<model>.dat   workers median_s min_s max_s ideal_s  (tab-separated)
#   io_models (the models there are), requests, latency_ms, sync_s (may be
#   missing), machine, fmt, out
load "style.gp"
set datafile separator tab
if (!exists("sync_s")) sync_s = NaN
ideal(w) = ceil(requests / floor(w)) * latency_ms / 1000.0
point_of(m) = m eq "threads" ? 5 : m eq "multiprocessing" ? 7 : 9

set logscale xy
set format y "%g"
set xrange [0.8:requests * 1.25]
set yrange [ideal(requests) / 2:*]
set xtics nomirror
set ytics nomirror
set xlabel "workers: threads, processes, or transfers in flight (log scale)"
set ylabel "time for all requests (seconds, log scale)"
set key top right box opaque
set samples 1000
set title sprintf("%d downloads, each answered after %g ms: more workers, less waiting", requests, latency_ms) font ",14"
set label 1 machine at graph 0.5, 1.0 center offset 0, 0.8 font ",10" front
set tmargin 5

plot sync_s with lines dt 2 lw 1.5 lc rgb "#888888" title "sequential (io_sync)", \
     ideal(x) with lines lw 2 lc rgb ideal_color title "ideal: ceil(requests / workers) x latency", \
     for [m in io_models] dir . "/io_workers_" . m . ".dat" using 1:2:3:4 \
         with yerrorlines lw 2 pt point_of(m) ps 1 lc rgb model_color(m) title model_name(m) . " (io_" . m . ")"
