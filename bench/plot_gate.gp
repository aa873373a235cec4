# Plots for bench/results/gate.md, from the CSVs gate_bench writes (run from the repo root).
set datafile separator ","
set terminal pngcairo size 900,420 font ",10"
set grid

set output "bench/results/gate_calls_per_second.png"
set title "Calls served per second through the gate (kisgate sim at 18 calls/s per key)"
set xlabel "seconds since start"
set ylabel "calls completed in that second"
set key top right
plot "bench/results/data/gate_1keys_batch.csv" every ::1 using 1:2 with steps lw 2 title "batch, 1 key", \
     "bench/results/data/gate_4keys_batch.csv" every ::1 using 1:2 with steps lw 2 title "batch, 4 keys", \
     "bench/results/data/gate_1keys_probe.csv" every ::1 using 1:($2+$3) with steps lw 1 title "batch + interactive, 1 key", \
     18 with lines dt 2 lc rgb "red" title "KIS limit, 1 key (18/s)", \
     72 with lines dt 2 lc rgb "dark-red" title "KIS limit, 4 keys (72/s)"

set output "bench/results/gate_interactive_wait.png"
set title "Interactive requests while batch work saturates the key: time queued in the gate"
set xlabel "seconds since start"
set ylabel "ms"
plot "bench/results/data/gate_interactive_wait.csv" every ::1 using 1:2 with points pt 7 ps 0.6 title "gate wait", \
     "bench/results/data/gate_interactive_wait.csv" every ::1 using 1:3 with points pt 6 ps 0.6 title "total latency (gate + upstream)", \
     60 with lines dt 2 lc rgb "red" title "target p99 (60 ms)"
