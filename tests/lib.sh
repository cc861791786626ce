# SPDX-License-Identifier: MIT
# TAP helpers for the shell tests. Source it; $BUILD is the build tree.
BUILD=${BUILD:-build}
TOOL=$BUILD/bin/membarrier
TESTS=$BUILD/tests
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
