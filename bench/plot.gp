# make bench's plot: bandwidth against size for both kernels, and the
# patched/stock ratio of every row against the targets; bottom: the vmsplice
# rows (move, copy, pipe) and move/copy against its target; then
# PROCESS_VM_REDUCE against readv + userspace loop, and their ratio; last row:
# dumping a stopped process three ways, and process_vmsplice against
# process_vm_readv + write.
# usage: gnuplot -e "dir='build/bench'; out='build/bench/bench.png'" bench/plot.gp
# Reads dir/data/<series>.dat (written by bench/results.py), columns:
#   size stock_med patched_med ratio stock_min stock_max patched_min patched_max
# and dir/data/vmsplice-ratio.dat, columns:
#   size patched_move/copy patched_move/pipe stock_move/copy patched_move/copy_incl_refill
#   patched_move/readv
# and dir/data/reduce-<op>.dat (patched kernel), columns:
#   size reduce_med loop_med reduce/loop pairs_min pairs_max reduce_min reduce_max
#   loop_min loop_max
# and dir/data/dump-<sink>.dat (sink tmpfs, null), columns:
#   size vmsplice_med readv_med mem_med vmsplice/readv pairs_min pairs_max mem/readv
#   stock_readv_med stock_mem_med
if (!exists("dir")) dir = "build/bench"
if (!exists("out")) out = dir . "/bench.png"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1500,2750 font "Sans,10" noenhanced
} else {
	set terminal png size 1500,2750 font "Sans,10" noenhanced
}
set output out

d(s) = dir . "/data/" . s . ".dat"
cma = "readv-4k-iov1 readv-4k-iov1024 readv-thp-iov1 readv-thp-iov1024 " . \
      "writev-4k-iov1 writev-4k-iov1024 writev-thp-iov1 writev-thp-iov1024"
label(i) = i == 1 ? "4k, 1 iov" : i == 2 ? "4k, 1024 iov" : i == 3 ? "THP, 1 iov" : "THP, 1024 iov"
color(i) = i == 1 ? "#1f77b4" : i == 2 ? "#17becf" : i == 3 ? "#d62728" : "#ff7f0e"
vsp = "vmsplice-move-4k vmsplice-copy-4k pipe-4k vmsplice-readv-4k"
vlabel(i) = i == 1 ? "vmsplice gift+move -> move" : i == 2 ? "vmsplice -> vmsplice (copy)" : \
	    i == 3 ? "pipe write -> read" : "process_vm_readv (one copy)"
vcolor(i) = i == 1 ? "#d62728" : i == 2 ? "#2ca02c" : i == 3 ? "#9467bd" : "#1f77b4"
rop = "sum-f64 sum-s32 max-f32 bxor-u64"
rcolor(i) = i == 1 ? "#1f77b4" : i == 2 ? "#2ca02c" : i == 3 ? "#d62728" : "#9467bd"
# Data lines in the reduce files (none: a kernel without PROCESS_VM_REDUCE).
have_reduce = int(system("cat " . dir . "/data/reduce-*.dat 2>/dev/null | grep -vc '^#'"))
dsink = "tmpfs null"
dlabel(i) = i == 1 ? "into a tmpfs file" : "into a pipe -> /dev/null"
# Data lines in the dump files (none: cma_bench_dump=0), and those with a
# process_vmsplice median (none: no kernel of the run has the call).
have_dump = int(system("cat " . dir . "/data/dump-*.dat 2>/dev/null | grep -vc '^#'"))
have_vms = int(system("cat " . dir . "/data/dump-*.dat 2>/dev/null | grep -v '^#' | awk '$2 != \"NaN\"' | wc -l"))
# Spread the points of the series a little along x so that they do not hide
# one another.
shift(i) = 1.0 + 0.035 * (i - 2.5)

set logscale x 2
set logscale y 10
set grid xtics ytics mytics lc rgb "#dddddd"
set xtics ("4K" 4096, "64K" 65536, "1M" 1048576, "2M" 2097152, "16M" 16777216, "64M" 67108864)
set xrange [2600:100000000]
set format y "%g"
set key outside right top vertical Left reverse samplen 3 spacing 1.1 box lc rgb "#bbbbbb"

set multiplot
# ---- top left: process_vm_readv --------------------------------------------
set size 0.5, 0.216
set origin 0.0, 0.784
set title "process_vm_readv: median bandwidth (dashed: stock, solid: patched)"
set xlabel "transfer size (bytes)"
set ylabel "MB/s"
set key inside top left vertical Left reverse samplen 3 opaque box lc rgb "#bbbbbb"
plot for [i=1:4] d(word(cma, i)) u ($1*shift(i)):2 w lp dt 2 pt 6 ps 1.0 lw 1.5 lc rgb color(i) notitle, \
     for [i=1:4] d(word(cma, i)) u ($1*shift(i)):3 w lp dt 1 pt 7 ps 0.9 lw 2 lc rgb color(i) title label(i), \
     d("memcpy-4k") u 1:3 w lp dt 3 pt 1 lw 1.5 lc rgb "#555555" title "memcpy (ceiling)", \
     d("shm-4k") u 1:3 w lp dt 3 pt 2 lw 1.5 lc rgb "#000000" title "shm double copy (floor)"

# ---- top right: process_vm_writev ---------------------------------------------
set origin 0.5, 0.784
set title "process_vm_writev: median bandwidth (dashed: stock, solid: patched)"
plot for [i=1:4] d(word(cma, i + 4)) u ($1*shift(i)):2 w lp dt 2 pt 6 ps 1.0 lw 1.5 lc rgb color(i) notitle, \
     for [i=1:4] d(word(cma, i + 4)) u ($1*shift(i)):3 w lp dt 1 pt 7 ps 0.9 lw 2 lc rgb color(i) title label(i), \
     d("memcpy-4k") u 1:3 w lp dt 3 pt 1 lw 1.5 lc rgb "#555555" title "memcpy (ceiling)", \
     d("shm-4k") u 1:3 w lp dt 3 pt 2 lw 1.5 lc rgb "#000000" title "shm double copy (floor)"

# ---- bottom: patched/stock ------------------------------------------------------
set size 1.0, 0.192
set origin 0.0, 0.592
set title "patched / stock (median bandwidth); targets: >= 0.97 on every row, >= 1.2 on THP rows of 2 MiB and more"
set ylabel "patched / stock"
unset logscale y
set autoscale y
set yrange [*<0.8:1.4<*]
set ytics auto
set format y "%.2f"
set key outside right top vertical Left reverse samplen 3 spacing 1.1 box lc rgb "#bbbbbb"
set arrow 1 from 2600, 0.97 to 100000000, 0.97 nohead dt 2 lw 1.5 lc rgb "#cc0000" front
set arrow 2 from 2097152/1.15, 1.2 to 100000000, 1.2 nohead dt 2 lw 1.5 lc rgb "#008800" front
set arrow 3 from 2600, 1.0 to 100000000, 1.0 nohead dt 1 lw 1 lc rgb "#888888" back
set label 1 "0.97" at 2800, 0.97 offset 0, 0.6 tc rgb "#cc0000" front
set label 2 "1.2 (THP, >= 2 MiB)" at 2097152/1.1, 1.2 offset 0, 0.6 tc rgb "#008800" front
plot for [i=1:4] d(word(cma, i)) u ($1*shift(i)):4 w lp dt 1 pt 7 ps 1.1 lw 2 lc rgb color(i) title "readv ".label(i), \
     for [i=1:4] d(word(cma, i + 4)) u ($1*shift(i)*1.01):4 w lp dt 4 pt 5 ps 1.0 lw 2 lc rgb color(i) title "writev ".label(i), \
     d("memcpy-4k") u 1:4 w lp dt 3 pt 1 lw 1 lc rgb "#555555" title "memcpy 4k (control)", \
     d("memcpy-thp") u 1:4 w lp dt 3 pt 3 lw 1 lc rgb "#999999" title "memcpy THP (control)", \
     d("shm-4k") u 1:4 w lp dt 3 pt 2 lw 1 lc rgb "#000000" title "shm (control)", \
     for [i=2:3] d(word(vsp, i)) u ($1*shift(i)*1.02):4 w lp dt 1 pt 9 ps 1.0 lw 1.5 lc rgb vcolor(i) title vlabel(i)
# (the move row's patched/stock, a large ratio by design, would squash this
# panel: it is in results.md and, as move/copy, at the bottom right)

# ---- bottom left: vmsplice rows ------------------------------------------------
unset arrow
unset label
set size 0.5, 0.192
set origin 0.0, 0.4
set title "vmsplice through a 1 MiB pipe: median bandwidth (dashed: stock, solid: patched)"
set ylabel "MB/s"
set logscale y 10
set autoscale y
set format y "%g"
set key inside top left vertical Left reverse samplen 3 opaque box lc rgb "#bbbbbb"
plot for [i=1:4] d(word(vsp, i)) u ($1*shift(i)):2 w lp dt 2 pt 6 ps 1.0 lw 1.5 lc rgb vcolor(i) notitle, \
     for [i=1:4] d(word(vsp, i)) u ($1*shift(i)):3 w lp dt 1 pt 7 ps 0.9 lw 2 lc rgb vcolor(i) title vlabel(i)

# ---- bottom right: move / copy -------------------------------------------------
set origin 0.5, 0.4
set title sprintf("vmsplice move / copy, 4 KiB pages and THPs; targets (patched): >= %g from 1 MiB, >= %g from 2 MiB (THP)", 1.8, 10)
set ylabel "ratio"
set yrange [*<0.5:20<*]
set arrow 1 from 1048576/1.15, 1.8 to 100000000, 1.8 nohead dt 2 lw 1.5 lc rgb "#008800" front
set arrow 2 from 2097152/1.15, 10 to 100000000, 10 nohead dt 2 lw 1.5 lc rgb "#8c564b" front
set arrow 3 from 2600, 1.0 to 100000000, 1.0 nohead dt 1 lw 1 lc rgb "#888888" back
set label 1 "1.8 (>= 1 MiB)" at 1048576/1.1, 1.8 offset 0, 0.6 tc rgb "#008800" front
set label 2 "10 (THP, >= 2 MiB)" at 2097152/1.1, 10 offset 0, 0.6 tc rgb "#8c564b" front
# THP rows (vmsplice-thp-ratio.dat): 2 patched move/copy, 5 patched
# move/readv, 8 stock move/copy.
plot d("vmsplice-ratio") u 1:2 w lp dt 1 pt 7 lw 2 lc rgb "#d62728" title "patched move/copy", \
     d("vmsplice-ratio") u 1:5 w lp dt 4 pt 5 lw 1.5 lc rgb "#ff7f0e" title "patched move/copy incl. refill", \
     d("vmsplice-ratio") u 1:3 w lp dt 1 pt 9 lw 1.5 lc rgb "#9467bd" title "patched move/pipe", \
     d("vmsplice-ratio") u 1:6 w lp dt 1 pt 13 lw 1.5 lc rgb "#1f77b4" title "patched move/process_vm_readv", \
     d("vmsplice-ratio") u 1:4 w lp dt 2 pt 6 lw 1.5 lc rgb "#555555" title "stock move/copy", \
     d("vmsplice-thp-ratio") u 1:2 w lp dt 1 pt 11 lw 2 lc rgb "#8c564b" title "THP: patched move/copy", \
     d("vmsplice-thp-ratio") u 1:5 w lp dt 1 pt 10 lw 1.5 lc rgb "#17becf" title "THP: patched move/process_vm_readv", \
     d("vmsplice-thp-ratio") u 1:8 w lp dt 2 pt 10 lw 1.5 lc rgb "#7f7f7f" title "THP: stock move/copy"

# ---- last row, left: PROCESS_VM_REDUCE against readv + loop -------------------
unset arrow
unset label
set size 0.5, 0.2
set origin 0.0, 0.2
set title "PROCESS_VM_REDUCE (solid) vs readv + userspace loop (dashed), patched kernel"
set ylabel "MB/s (bytes of the local vector)"
set logscale y 10
set autoscale y
set yrange [*:*]
set format y "%g"
set key inside top left vertical Left reverse samplen 3 opaque box lc rgb "#bbbbbb"
if (have_reduce > 0) {
	plot for [i=1:4] d("reduce-" . word(rop, i)) u ($1*shift(i)):3 w lp dt 2 pt 6 ps 1.0 lw 1.5 lc rgb rcolor(i) notitle, \
	     for [i=1:4] d("reduce-" . word(rop, i)) u ($1*shift(i)):2 w lp dt 1 pt 7 ps 0.9 lw 2 lc rgb rcolor(i) title word(rop, i)
} else {
	set label 1 "no reduce rows: the patched kernel has no PROCESS_VM_REDUCE" at graph 0.5, 0.5 center
	set yrange [1:10]
	plot NaN notitle
	unset label 1
}

# ---- last row, right: reduce / (readv + loop) -------------------------------------
set origin 0.5, 0.2
set title sprintf("PROCESS_VM_REDUCE / (readv + loop), bars: min-max of the pairs; target >= %g from 64 KiB", 1.3)
set ylabel "ratio"
unset logscale y
set yrange [*<0.5:2<*]
set format y "%.2f"
set arrow 1 from 65536/1.15, 1.3 to 100000000, 1.3 nohead dt 2 lw 1.5 lc rgb "#008800" front
set arrow 2 from 2600, 5.0/3 to 100000000, 5.0/3 nohead dt 3 lw 1 lc rgb "#888888" back
set arrow 3 from 2600, 1.0 to 100000000, 1.0 nohead dt 1 lw 1 lc rgb "#888888" back
set label 1 "1.3 (>= 64 KiB)" at 65536/1.1, 1.3 offset 0, 0.6 tc rgb "#008800" front
set label 2 "5/3: bytes touched, readv+loop / reduce" at 1048576, 5.0/3 offset 0, 0.6 tc rgb "#888888" front
if (have_reduce > 0) {
	plot for [i=1:4] d("reduce-" . word(rop, i)) u ($1*shift(i)):4:5:6 w yerrorlines pt 7 ps 0.9 lw 2 lc rgb rcolor(i) title word(rop, i)
} else {
	set label 3 "no reduce rows" at graph 0.5, 0.5 center
	set yrange [0.5:2]
	plot NaN notitle
	unset label 3
}

# ---- last row, left: dumping a stopped process ---------------------------------
unset arrow
unset label
set size 0.5, 0.2
set origin 0.0, 0.0
set title "dump of a stopped process, patched kernel: median bandwidth (solid: tmpfs file, dashed: pipe)"
set ylabel "MB/s (bytes dumped)"
set logscale y 10
set autoscale y
set yrange [*:*]
set format y "%g"
set xtics ("4K" 4096, "64K" 65536, "1M" 1048576, "16M" 16777216, "64M" 67108864, "256M" 268435456, "1G" 1073741824)
set xrange [2600:1600000000]
set key inside bottom right vertical Left reverse samplen 3 opaque box lc rgb "#bbbbbb"
if (have_dump > 0) {
	plot for [i=1:2] d("dump-" . word(dsink, i)) u ($1*shift(1)):2 w lp dt i pt 7 ps 0.9 lw 2 lc rgb "#d62728" title "process_vmsplice + splice " . dlabel(i), \
	     for [i=1:2] d("dump-" . word(dsink, i)) u ($1*shift(2)):3 w lp dt i pt 5 ps 0.9 lw 2 lc rgb "#1f77b4" title "process_vm_readv + write " . dlabel(i), \
	     for [i=1:2] d("dump-" . word(dsink, i)) u ($1*shift(3)):4 w lp dt i pt 9 ps 0.9 lw 1.5 lc rgb "#2ca02c" title "/proc/PID/mem pread + write " . dlabel(i)
} else {
	set label 1 "no dump rows" at graph 0.5, 0.5 center
	set yrange [1:10]
	plot NaN notitle
	unset label 1
}

# ---- last row, right: process_vmsplice / (process_vm_readv + write) --------------
set origin 0.5, 0.0
set title "dump: vmsplice + splice / readv + write (bars: the rounds' min-max); target >= 2 from 1 MiB"
set ylabel "ratio"
unset logscale y
set yrange [*<0.5:3<*]
set format y "%.2f"
set key inside top left vertical Left reverse samplen 3 opaque box lc rgb "#bbbbbb"
set arrow 1 from 1048576/1.15, 2 to 1600000000, 2 nohead dt 2 lw 1.5 lc rgb "#008800" front
set arrow 3 from 2600, 1.0 to 1600000000, 1.0 nohead dt 1 lw 1 lc rgb "#888888" back
set label 1 "2 (>= 1 MiB)" at 1048576/1.1, 2 offset 0, 0.6 tc rgb "#008800" front
if (have_vms > 0) {
	plot for [i=1:2] d("dump-" . word(dsink, i)) u ($1*shift(i)):5:6:7 w yerrorlines dt i pt 7 ps 0.9 lw 2 lc rgb "#d62728" title "process_vmsplice / readv " . dlabel(i), \
	     for [i=1:2] d("dump-" . word(dsink, i)) u ($1*shift(i+2)):8 w lp dt i pt 9 ps 0.9 lw 1.5 lc rgb "#2ca02c" title "/proc/PID/mem / readv " . dlabel(i)
} else {
	set label 3 "no process_vmsplice samples: no kernel of this run has the call" at graph 0.5, 0.5 center
	set yrange [0.5:3]
	plot NaN notitle
}
unset multiplot
