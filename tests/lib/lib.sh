# SPDX-License-Identifier: MIT
# TAP helpers for the shell tests. Source it; $BUILD is the build tree.
BUILD=${BUILD:-build}
TOOL=$BUILD/bin/membarrier
TESTS=$BUILD/tests
# Under ASan, a preloaded library (membarrier run) comes before the ASan
# runtime in the link order: allowed, since both are ours and built with it.
[ "${SAN:-}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
tap_n=0
tap_failed=0

ok() {	# ok CONDITION-STATUS NAME
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

skip() {	# skip REASON NAME
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $2 # SKIP $1"
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# Value of KEY in a key=value line.
kv() {	# kv KEY LINE
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# make check-perf: skip the whole script where its timings mean nothing
# (under sanitizers; with "kernel", where the kernel does not serve
# PRIVATE_EXPEDITED, the baseline); factor is PERF_FACTOR (2).
perf_setup() {	# perf_setup [kernel]
	if [ "${SAN:-}" = 1 ]; then
		echo "1..0 # SKIP timings under sanitizers measure the sanitizer"
		exit 0
	fi
	if [ "${1:-}" = kernel ] &&
	   [ "$("$TOOL" status | awk '$1 == "PRIVATE_EXPEDITED" { print $4 }')" != kernel ]; then
		echo "1..0 # SKIP PRIVATE_EXPEDITED is not served by the kernel here"
		exit 0
	fi
	factor=${PERF_FACTOR:-2}
}

# Run a TAP program; each of its results becomes one of ours, its name
# prefixed with LABEL; its failures are printed. Usage: embed LABEL CMD...
embed() {
	label=$1
	shift
	out=$("$@" 2>&1)
	status=$?
	n_before=$tap_n
	failed=0
	plan=
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			rest=${line#*ok }
			rest=${rest#* }
			rest=${rest#- }
			case $line in
			"ok "*" # SKIP "*) skip "${line##* # SKIP }" "$label: ${rest% # SKIP *}" ;;
			"ok "*) ok 0 "$label: $rest" ;;
			*) ok 1 "$label: $rest"; failed=1 ;;
			esac ;;
		"1..0 # SKIP"*) skip "${line#1..0 # SKIP }" "$label" ;;
		"1.."*) plan=${line#1..}; plan=${plan%% *} ;;
		"#"*) ;;
		*) diag "$label: $line" ;;
		esac
	done <<EOT
$out
EOT
	got=$((tap_n - n_before))
	# A test that died (a signal, its alarm) or exited non-zero with no
	# failed result, or printed fewer results than it planned, fails here:
	# the results it printed before dying prove nothing about the rest.
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		ok 1 "$label: exit status $status after $got results"
		diag "$out"
	elif [ -n "$plan" ] && [ "$plan" -ne 0 ] && [ "$got" -lt "$plan" ]; then
		ok 1 "$label: $got results of the $plan planned"
	elif [ "$status" -ne 0 ]; then
		printf '%s\n' "$out" | grep '^#' | sed "s/^/# $label: /" | head -40
	fi
}

# Run a litmus command line (CMD... ends in "litmus ARGS"): sets $out and
# $status, and $blind to the reason to skip when a control saw no
# reordering (exit status 4: the run proves nothing either way), else to
# the empty string.
litmus_run() {	# litmus_run CMD...
	out=$("$@" 2>&1)
	status=$?
	blind=
	if [ $status -eq 4 ]; then
		line=$(printf '%s\n' "$out" | grep 'result=inconclusive' | head -n 1)
		blind="scenario $(kv scenario "$line")'s control saw no reordering in $(kv iterations "$line") rounds: this machine shows none now"
	fi
}
