#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench: run the benchmarks, keep their key=value lines, turn them
# into CSV, and plot with gnuplot (SVG) under $OUT (build/bench):
#   backends.csv, backends.svg  cost of each barrier against running
#                               threads, per backend (no sleepers)
#   rcu.csv, rcu.svg            reads and writes per implementation, at
#                               1 reader/1 writer and 6 readers/2 writers
#   core.txt, services.txt,     the ratio benchmarks as printed
#   concurrent.txt
set -u
TOOL=${TOOL:-build/bin/membarrier}
OUT=${OUT:-build/bench}
SECONDS_RCU=${RCU_BENCH_SECONDS:-2}
MS=60
mkdir -p "$OUT" || exit 1

kv() {	# kv KEY: the value of KEY in each line of stdin
	sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}

"$TOOL" bench core | tee "$OUT/core.txt"
"$TOOL" bench services | tee "$OUT/services.txt"
"$TOOL" bench concurrent | tee "$OUT/concurrent.txt"

"$TOOL" bench backends --ms "$MS" | tee "$OUT/backends.txt"
echo "backend,cmd,spinning,sleeping,ns_per_call" > "$OUT/backends.csv"
grep ' cmd=' "$OUT/backends.txt" | sed -n \
	's/.*backend=\([^ ]*\) cmd=\([^ ]*\) spinning=\([0-9]*\) sleeping=\([0-9]*\) .*ns_per_call=\([0-9.]*\).*/\1,\2,\3,\4,\5/p' \
	>> "$OUT/backends.csv"

: > "$OUT/rcu.txt"
for rw in "1 1" "6 2"; do
	set -- $rw
	"$TOOL" bench rcu --readers "$1" --writers "$2" --seconds "$SECONDS_RCU" |
		tee -a "$OUT/rcu.txt"
done
echo "impl,readers,writers,seconds,reads,writes" > "$OUT/rcu.csv"
grep '^impl=' "$OUT/rcu.txt" | sed -n \
	's/^impl=\([^ ]*\) readers=\([0-9]*\) writers=\([0-9]*\) seconds=\([0-9.]*\) reads=\([0-9]*\) writes=\([0-9]*\).*/\1,\2,\3,\4,\5,\6/p' \
	>> "$OUT/rcu.csv"

if ! command -v gnuplot >/dev/null; then
	echo "bench: gnuplot not installed (Debian: gnuplot-nox); CSV only in $OUT"
	exit 0
fi

# One panel per command: ns per call against spinning threads, a line per
# backend (the data gnuplot reads: "spinning ns" blocks, one per backend).
cmds=$(tail -n +2 "$OUT/backends.csv" | cut -d, -f2 | sort -u)
backends=$(tail -n +2 "$OUT/backends.csv" | cut -d, -f1 | sort -u)
n=$(printf '%s\n' $cmds | wc -l)
{
	echo "set terminal svg size 1200,$((360 * ((n + 1) / 2))) dynamic"
	echo "set output '$OUT/backends.svg'"
	echo "set multiplot layout $(((n + 1) / 2)),2 title 'membarrier cost per call against running threads (no sleepers)'"
	echo "set logscale y; set xlabel 'spinning threads'; set ylabel 'ns per call'; set key top left; set grid"
	for c in $cmds; do
		printf "set title '%s'\nplot" "$c"
		sep=""
		for b in $backends; do
			f="$OUT/.plot.$c.$b"
			awk -F, -v c="$c" -v b="$b" '$2 == c && $1 == b && $4 == 0 { print $3, $5 }' \
				"$OUT/backends.csv" > "$f"
			[ -s "$f" ] || continue
			printf "%s '%s' using 1:2 with linespoints title '%s'" "$sep" "$f" "$b"
			sep=","
		done
		echo
	done
	echo "unset multiplot"
} > "$OUT/backends.gp"
gnuplot "$OUT/backends.gp"

# RCU: reads and writes per implementation, one cluster per configuration.
for cfg in "1,1" "6,2"; do
	awk -F, -v cfg="$cfg" '($2 "," $3) == cfg { print $1, $5, $6 }' "$OUT/rcu.csv" \
		> "$OUT/.plot.rcu.${cfg%,*}x${cfg#*,}"
done
cat > "$OUT/rcu.gp" <<GP
set terminal svg size 1200,700 dynamic
set output '$OUT/rcu.svg'
set multiplot layout 2,2 title 'RCU: operations in ${SECONDS_RCU} s'
set style data histograms
set style fill solid 0.8
set boxwidth 0.8
set logscale y
set xtics rotate by -30
set grid y
set title 'reads, 1 reader 1 writer'
plot '$OUT/.plot.rcu.1x1' using 2:xtic(1) notitle
set title 'writes, 1 reader 1 writer'
plot '$OUT/.plot.rcu.1x1' using 3:xtic(1) notitle
set title 'reads, 6 readers 2 writers'
plot '$OUT/.plot.rcu.6x2' using 2:xtic(1) notitle
set title 'writes, 6 readers 2 writers'
plot '$OUT/.plot.rcu.6x2' using 3:xtic(1) notitle
unset multiplot
GP
gnuplot "$OUT/rcu.gp"
rm -f "$OUT"/.plot.*
echo "bench: $OUT/backends.csv $OUT/backends.svg $OUT/rcu.csv $OUT/rcu.svg"
