# The interactive probe of bench/api_bench.sh: each request's latency over time, against an idle
# kisgate and during a batch cycle that saturates the key. Called as
#   gnuplot -e "dir='TMPDIR'; out='bench/results/api_interactive.png'" bench/api/plot.gp
set terminal pngcairo size 1200,520 font "sans,10" noenhanced
set output out
set multiplot layout 1,2 title "GET /v1/stocks/{code}/price?max_age=0, 4 a second (each request is a KIS call on the interactive lane)"
set xlabel "seconds into the probe"
set ylabel "client latency (ms)"
set yrange [0:*]
set grid ytics
set key outside bottom center horizontal
set title "simulator delay: log-normal, median 40 ms"
plot dir."/series-idle-lognormal.dat" using 1:2 with points pt 7 ps 0.6 lc rgb "#4477aa" title "idle kisgate", \
     dir."/series-batch-lognormal.dat" using 1:2 with points pt 7 ps 0.6 lc rgb "#cc6677" title "during a batch cycle at the key's limit"
set title "simulator delay: constant 40 ms"
plot dir."/series-idle-constant.dat" using 1:2 with points pt 7 ps 0.6 lc rgb "#4477aa" title "idle kisgate", \
     dir."/series-batch-constant.dat" using 1:2 with points pt 7 ps 0.6 lc rgb "#cc6677" title "during a batch cycle at the key's limit"
unset multiplot
