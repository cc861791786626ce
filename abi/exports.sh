#!/bin/sh
# SPDX-License-Identifier: MIT
# The library's exported symbols: those its objects define with default
# visibility (MEMBARRIER_API), and the version script that exports them.
#   exports.sh OBJ...              the symbols, one a line, sorted
#   exports.sh --check MAP OBJ...  fail if MAP does not list one of them
#   exports.sh --map MAP OBJ...    MAP with the symbols it lacks added to
#                                  its version node (a node only grows:
#                                  removing a symbol breaks the ABI, and
#                                  is done by hand)
set -eu
READELF=${READELF:-readelf}

# Not the sanitizers' own (AddressSanitizer's ODR indicators,
# __odr_asan.NAME, one per exported variable).
symbols() {
	"$READELF" -sW "$@" | awk '
		($5 == "GLOBAL" || $5 == "WEAK") && $6 == "DEFAULT" &&
		$7 != "UND" && ($4 == "FUNC" || $4 == "OBJECT" || $4 == "TLS") &&
		$8 !~ /^__(odr_)?asan/ {
			print $8
		}' | sort -u
}

unlisted() {	# unlisted MAP OBJ...: the symbols MAP lacks
	map=$1
	shift
	symbols "$@" | awk -v map="$map" '
		BEGIN {
			while ((getline line < map) > 0)
				if (match(line, /^[ \t]*[A-Za-z_][A-Za-z0-9_]*;/)) {
					name = substr(line, RSTART, RLENGTH - 1)
					gsub(/[ \t]/, "", name)
					listed[name] = 1
				}
		}
		!($0 in listed)'
}

case ${1:-} in
--check)
	map=$2
	shift 2
	missing=$(unlisted "$map" "$@")
	[ -z "$missing" ] && exit 0
	echo "$map does not export:" $missing >&2
	echo "(a new public symbol: run make abi-baseline and commit what it changes)" >&2
	exit 1
	;;
--map)
	map=$2
	shift 2
	# The new names go after the last one listed before "local:".
	unlisted "$map" "$@" | awk -v map="$map" '
		{ add = add "\t" $0 ";\n" }
		END {
			while ((getline line < map) > 0) {
				if (line ~ /^[ \t]*local:/)
					printf "%s", add
				print line
			}
		}'
	;;
*)
	symbols "$@"
	;;
esac
