#!/bin/sh
# SPDX-License-Identifier: MIT
# make figures: the README's Figures table from make bench's output (the
# key=value lines under $OUT), with the machine it ran on; written between
# the markers <!-- figures:begin --> and <!-- figures:end --> of $README.
# Also runs bench rcu 6/2 inside the seccomp sandbox that blocks
# membarrier, when $SANDBOX is built (the emulated backend's figure).
#   OUT=build/bench TOOL=build/bin/membarrier SANDBOX=build/tests/sandbox \
#   README=README.md sh bench/figures.sh
set -u
OUT=${OUT:-build/bench}
TOOL=${TOOL:-build/bin/membarrier}
SANDBOX=${SANDBOX:-}
README=${README:-README.md}
SECONDS_RCU=${RCU_BENCH_SECONDS:-2}

for f in core services backends rcu concurrent; do
	[ -s "$OUT/$f.txt" ] || { echo "figures: no $OUT/$f.txt (make bench)" >&2; exit 1; }
done
grep -q '^<!-- figures:begin -->$' "$README" && grep -q '^<!-- figures:end -->$' "$README" ||
	{ echo "figures: $README lacks the figures markers" >&2; exit 1; }
if [ -n "$SANDBOX" ] && [ -x "$SANDBOX" ]; then
	"$SANDBOX" --enosys -- "$TOOL" bench rcu --readers 6 --writers 2 \
		--seconds "$SECONDS_RCU" > "$OUT/rcu-blocked.txt" 2>&1
else
	: > "$OUT/rcu-blocked.txt"
fi

# The machine: CPU model, CPUs online, kernel, virtualization if any.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[ -n "$cpu" ] && command -v lscpu >/dev/null &&
	cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -m)
cpus=$(getconf _NPROCESSORS_ONLN)
virt=$(systemd-detect-virt 2>/dev/null) || virt=
[ "$virt" = none ] && virt=
machine="$cpu, $cpus CPUs${virt:+ ($virt guest)}, $(uname -sr)"

# Every figure is a ratio or a cost printed by a benchmark; a line that
# is missing (a backend unavailable here) leaves its row out.
table=$(awk -v machine="$machine" -v date="$(date -u +%Y-%m-%d)" '
	function kv(line, key,    m) {
		if (match(line, "(^| )" key "=[^ ]*")) {
			m = substr(line, RSTART, RLENGTH)
			sub(/^ /, "", m)
			return substr(m, length(key) + 2)
		}
		return ""
	}
	function us(ns,    u) {
		u = ns / 1000
		return sprintf(u >= 100 ? "%.0f µs" : u >= 10 ? "%.1f µs" : "%.2f µs", u)
	}
	# row(GROUP, WHAT, FIGURE): groups print in the order of the benchmarks
	function row(g, what, figure) { rows[g] = rows[g] "| " what " | " figure " |\n" }
	FILENAME ~ /core\.txt$/ && /^bench=core / {
		row(1, "`bench core`: `membarrier(PRIVATE_EXPEDITED)` through the library / `syscall(SYS_membarrier)`, single thread",
		    sprintf("%.2f (library %.0f ns, `syscall()` %.0f ns; against the bare instruction inlined in the loop: %.2f)",
			    kv($0, "ratio"), kv($0, "lib_ns"), kv($0, "syscall_ns"), kv($0, "ratio_vs_inline")))
	}
	FILENAME ~ /backends\.txt$/ && /summary=1 / && kv($0, "ratio") != "" {
		row(2, "`bench backends`: emulated / kernel `PRIVATE_EXPEDITED`, one spinning thread",
		    sprintf("%.2f (kernel %s, emulated %s, emulated by the CPU walk %s)",
			    kv($0, "ratio"), us(kv($0, "kernel_ns")), us(kv($0, "emulated_ns")),
			    us(kv($0, "emulated_walk_ns"))))
	}
	FILENAME ~ /backends\.txt$/ && / cmd=PRIVATE_EXPEDITED spinning=0 sleeping=64 / {
		sleep64[kv($0, "backend")] = kv($0, "ns_per_call")
	}
	FILENAME ~ /backends\.txt$/ && / light_ratio=/ {
		light = light (light == "" ? "" : ", ") kv($0, "backend") " " sprintf("%.2f", kv($0, "light_ratio"))
	}
	FILENAME ~ /services\.txt$/ && /^bench=services item=/ {
		item = kv($0, "item")
		if (item == "light_fence")
			row(5, "`bench services`: light fence / empty loop", sprintf("%.2f", kv($0, "ratio")))
		else if (item == "biased_lock")
			row(5, "`bench services`: uncontended `pthread_mutex` pair / biased-lock owner pair",
			    sprintf("%.1f", kv($0, "ratio")))
		else if (item == "percpu_counter")
			row(5, "`bench services`: per-CPU rseq counter / shared atomic counter, " kv($0, "threads") " threads",
			    kv($0, "ratio") != "" ? sprintf("%.1f", kv($0, "ratio")) : "unavailable: " kv($0, "error"))
		else if (item == "percpu_counter_fallback")
			row(5, "`bench services`: per-CPU counter without rseq (`sched_getcpu()` and atomics) / shared atomic counter, " kv($0, "threads") " threads",
			    kv($0, "ratio") != "" ? sprintf("%.1f", kv($0, "ratio")) : "unavailable: " kv($0, "error"))
		else if (item == "cid_counter")
			row(5, "`bench services`: counter indexed by concurrency id (" kv($0, "source") ") / shared atomic counter, " kv($0, "threads") " threads",
			    kv($0, "ratio") != "" ? sprintf("%.1f", kv($0, "ratio")) : "unavailable: " kv($0, "error"))
		else if (item == "code_publish")
			row(5, "`bench services`: code publish / plain `PRIVATE_EXPEDITED`",
			    sprintf("%.2f", kv($0, "ratio")))
	}
	FILENAME ~ /concurrent\.txt$/ && /^bench=concurrent / {
		conc = conc (conc == "" ? "" : ", ") kv($0, "callers") ": " sprintf("%.2f", kv($0, "ratio"))
	}
	FILENAME ~ /rcu\.txt$/ && /^bench=rcu / && kv($0, "reads_vs_liburcu_memb") != "" {
		row(6, "`bench rcu` " kv($0, "readers") "/" kv($0, "writers") " readers/writers, default flavor / liburcu-memb",
		    sprintf("reads %.2f, writes %.2f", kv($0, "reads_vs_liburcu_memb"), kv($0, "writes_vs_liburcu_memb")))
	}
	FILENAME ~ /rcu-blocked\.txt$/ && /^bench=rcu / && kv($0, "reads_vs_liburcu_memb") != "" {
		row(7, "`bench rcu` " kv($0, "readers") "/" kv($0, "writers") " inside a seccomp filter blocking membarrier (" kv($0, "backend") " backend): reads / liburcu-memb (fences in its readers)",
		    sprintf("%.1f", kv($0, "reads_vs_liburcu_memb")))
	}
	END {
		if ("emulated" in sleep64 && "emulated-walk" in sleep64)
			row(3, "`bench backends`: emulated `PRIVATE_EXPEDITED` with 64 sleeping threads, TLB shootdown / CPU walk",
			    us(sleep64["emulated"]) " / " us(sleep64["emulated-walk"]))
		if (light != "")
			row(4, "`bench backends`: light fence / empty loop, per backend", light)
		if (conc != "")
			row(1, "`bench concurrent`: `PRIVATE_EXPEDITED` calls completed per second through the library (callers share barriers) / `syscall(SYS_membarrier)`, by concurrent callers",
			    conc)
		printf "Measured by `make bench` on %s, %s; one run each (`make figures` writes this table).\n\n", machine, date
		printf "| benchmark | figure |\n|---|---|\n"
		for (g = 1; g <= 7; g++)
			printf "%s", rows[g]
	}' "$OUT/core.txt" "$OUT/concurrent.txt" "$OUT/backends.txt" "$OUT/services.txt" "$OUT/rcu.txt" "$OUT/rcu-blocked.txt")

tmp=$README.figures.$$
awk -v table="$table" '
	/^<!-- figures:end -->$/ { print table; skip = 0 }
	!skip { print }
	/^<!-- figures:begin -->$/ { skip = 1 }' "$README" > "$tmp" && mv -f "$tmp" "$README"
echo "figures: $README updated ($machine)"
