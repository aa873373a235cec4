set datafile separator ','
set terminal pngcairo size 900,420 font ',10'
set grid
set key top right
set output 'compare_S1_calls_per_second.png'
set title "S1 seed cycle: 53 codes x 4 data sets, 1 key: calls per second at the simulator (median run)" noenhanced
set xlabel 'seconds since the contender started'
set ylabel 'calls that second (all outcomes)'
set yrange [0:*]
unset logscale y
plot 'data/compare_S1_baseline_before_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#9400d3' title 'baseline before', \
     'data/compare_S1_baseline_after_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#009e73' title 'baseline after', \
     'data/compare_S1_kisgate_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#0072b2' title 'kisgate', \
     18 with lines dt 2 lc rgb 'red' title 'KIS limit, 1 key (18/s)'
set output 'compare_S2_calls_per_second.png'
set title "S2 overlap: S1 + a minute-bar job + the user probe (2/s), 1 key: calls per second at the simulator (median run)" noenhanced
set xlabel 'seconds since the contender started'
set ylabel 'calls that second (all outcomes)'
set yrange [0:*]
unset logscale y
plot 'data/compare_S2_baseline_before_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#9400d3' title 'baseline before', \
     'data/compare_S2_baseline_after_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#009e73' title 'baseline after', \
     'data/compare_S2_kisgate_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#0072b2' title 'kisgate', \
     18 with lines dt 2 lc rgb 'red' title 'KIS limit, 1 key (18/s)'
set output 'compare_S2_user_latency.png'
set title "S2: user probe latency (a current price, 2 a second) while the jobs run" noenhanced
set xlabel 'seconds since the contender started'
set ylabel 'ms (log scale)'
set logscale y 10
set yrange [*:*]
set key below
plot 'data/compare_S2_baseline_before_user_latency.csv' skip 1 using 1:($3==0?$2:1/0) with points pt 7 ps 0.6 lc rgb '#9400d3' title 'baseline before', \
     'data/compare_S2_baseline_after_user_latency.csv' skip 1 using 1:($3==0?$2:1/0) with points pt 7 ps 0.6 lc rgb '#009e73' title 'baseline after', \
     'data/compare_S2_kisgate_user_latency.csv' skip 1 using 1:($3==0?$2:1/0) with points pt 7 ps 0.6 lc rgb '#0072b2' title 'kisgate', \
     'data/compare_S2_baseline_before_user_latency.csv' skip 1 using 1:($3==1?$2:1/0) with points pt 2 ps 1.4 lc rgb '#9400d3' title 'baseline before: failed', \
     188 with lines dt 2 lc rgb 'red' title 'target: upstream p99 + 60 ms (188 ms)'
unset logscale y
set key default
set key inside top right
set output 'compare_S3_calls_per_second.png'
set title "S3 whole market: 2,700 codes x current price: calls per second at the simulator (median run)" noenhanced
set xlabel 'seconds since the contender started'
set ylabel 'calls that second (all outcomes)'
set yrange [0:*]
unset logscale y
plot 'data/compare_S3_baseline_before_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#9400d3' title 'baseline before', \
     'data/compare_S3_baseline_after_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#009e73' title 'baseline after', \
     'data/compare_S3_kisgate_1_key_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#0072b2' title 'kisgate 1 key', \
     'data/compare_S3_kisgate_4_keys_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#e69f00' title 'kisgate 4 keys', \
     18 with lines dt 2 lc rgb 'red' title 'KIS limit, 1 key (18/s)', \
     72 with lines dt 2 lc rgb 'dark-red' title 'KIS limit, 4 keys (72/s)'
set output 'compare_S4_calls_per_second.png'
set title "S4 faults: S1 with 2 % disconnects and 1 % EGW00002: calls per second at the simulator (median run)" noenhanced
set xlabel 'seconds since the contender started'
set ylabel 'calls that second (all outcomes)'
set yrange [0:*]
unset logscale y
plot 'data/compare_S4_baseline_before_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#9400d3' title 'baseline before', \
     'data/compare_S4_baseline_after_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#009e73' title 'baseline after', \
     'data/compare_S4_kisgate_calls.csv' skip 1 using 1:2 with steps lw 2 lc rgb '#0072b2' title 'kisgate', \
     18 with lines dt 2 lc rgb 'red' title 'KIS limit, 1 key (18/s)'
