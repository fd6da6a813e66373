# style.gp - what every chart shares; each chart sets width and height, then
# loads this file first. The scripts call gnuplot once per format, with fmt
# (png or svg) and out (the file name without .png/.svg).
#   model_color(m)  one colour per model, the same in every chart
#   model_name(m)   what a legend calls it
if (!exists("fmt")) fmt = "png"
if (!exists("width")) width = 1000
if (!exists("height")) height = 600
if (fmt eq "png") {
    set terminal pngcairo size width, height font "sans,11" noenhanced
} else {
    set terminal svg size width, height font "sans,11" noenhanced dynamic background rgb "white"
}
set output out . "." . fmt

model_color(m) = m eq "sync" ? 0x9c9c9c : m eq "threads" ? 0x4e79a7 : m eq "multiprocessing" ? 0xf28e2b : \
                 m eq "async" ? 0x59a14f : m eq "threads-gil" ? 0xb07aa1 : m eq "manager" ? 0xf28e2b : \
                 m eq "shared-memory" ? 0x4e79a7 : m eq "mpi-shm" ? 0x76b7b2 : m eq "mpi-tcp" ? 0xedc948 : \
                 m eq "coroutines" ? 0x59a14f : m eq "hybrid" ? 0xff9da7 : 0x888888
model_name(m) = m eq "sync" ? "sequential" : m eq "multiprocessing" ? "processes" : m eq "async" ? "event loop" : \
                m eq "threads-gil" ? "threads under the emulated GIL" : m eq "manager" ? "manager process" : \
                m eq "mpi-shm" ? "MPI ranks, shared memory" : m eq "mpi-tcp" ? "MPI ranks over TCP" : m
ideal_color = 0xe15759
pass_color = 0x59a14f
miss_color = 0xe15759
set grid lc rgb "#dddddd"
