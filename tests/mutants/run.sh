#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-mutants: for each mutant of tests/mutants/mutants.txt, a
# mutated copy of src/ built into $BUILD/mutants/NAME/lib, its tests
# copied beside it (they find the library at $ORIGIN/../lib) and run; a
# test that compiles library sources into itself (#include "core/x.c")
# is rebuilt against the mutated copy instead. A test that fails kills
# the mutant. Each test first passes against the
# real library (the baseline), or the run is an error. Prints one line per
# mutant, then "mutants=N killed=K"; exits 1 if any mutant survived, was
# stale (its anchor gone) or did not build.
#
# Environment (from mk/mutants.mk): BUILD, CC, ARCH, VERSION, SONAME,
# MUT_CPPFLAGS, MUT_CFLAGS, MUT_LDFLAGS, MUT_LDLIBS; MUTANTS="a b" runs
# only those.
set -u
here=$(dirname "$0")
table=$here/mutants.txt
apply="perl $here/apply.pl $table"
jobs=${JOBS:-2}
out=$BUILD/mutants
mkdir -p "$out"
n=0 killed=0 bad=""

build_lib() {	# build_lib DIR
	dir=$1
	mkdir -p "$dir/lib" "$dir/obj" "$dir/tests"
	(cd "$dir" && find src -name '*.c' ! -path 'src/preload/*') | sort |
	while read -r c; do echo "$c"; done > "$dir/sources"
	# shellcheck disable=SC2086
	sed 's/\.c$//' "$dir/sources" | xargs -P "$jobs" -I{} sh -c \
		'mkdir -p "$(dirname "$0/obj/$1")" && $CC -DMEMBARRIER_VERSION="\"$VERSION\"" $MUT_CPPFLAGS -I"$0/src" $MUT_CFLAGS -w -c -o "$0/obj/$1.o" "$0/$1.c"' \
		"$dir" {} || return 1
	# shellcheck disable=SC2086
	$CC -shared -Wl,-soname,"$SONAME" $MUT_LDFLAGS -o "$dir/lib/libmembarrier.so.$VERSION" \
		$(sed "s|^\(.*\)\.c$|$dir/obj/\1.o|" "$dir/sources") $MUT_LDLIBS || return 1
	ln -sf "libmembarrier.so.$VERSION" "$dir/lib/$SONAME"
	ln -sf "$SONAME" "$dir/lib/libmembarrier.so"
}

build_test() {	# build_test DIR SOURCE NAME: a test with src/ .c files in it
	# shellcheck disable=SC2086
	$CC -DMEMBARRIER_VERSION="\"$VERSION\"" -I"$1/src" $MUT_CPPFLAGS -Itests -Itools \
		$MUT_CFLAGS -w $MUT_LDFLAGS -o "$1/tests/$3" "$2" \
		-L"$1/lib" -Wl,-rpath,"$1/lib" -lmembarrier $MUT_LDLIBS
}

run_test() {	# run_test BINARY ENV LOG: exit status of the test
	if [ "$2" = - ]; then
		timeout 300 "$1" > "$3" 2>&1
	else
		# shellcheck disable=SC2086
		env $2 timeout 300 "$1" > "$3" 2>&1
	fi
}

baseline_done=" "
baseline() {	# baseline TEST ENV: the test passes on the real library
	key="$1@$2"
	case $baseline_done in *" $key "*) return 0 ;; esac
	if ! run_test "$BUILD/tests/$1" "$2" "$out/baseline-$1.log"; then
		echo "ERROR baseline: $1 ($2) fails against the real library; see $out/baseline-$1.log"
		return 1
	fi
	baseline_done="$baseline_done$key "
}

list=$($apply list) || exit 2
tab=$(printf '\t')
while IFS=$tab read -r name arch envs tests what; do
	if [ -n "${MUTANTS:-}" ]; then
		case " $MUTANTS " in *" $name "*) ;; *) continue ;; esac
	fi
	if [ "$arch" != - ] && [ "$arch" != "$ARCH" ]; then
		echo "skip     $name ($what): $arch only"
		continue
	fi
	n=$((n + 1))
	dir=$out/$name
	msg=$($apply apply "$name" "$dir")
	case $? in
	0) ;;
	3) echo "$msg"; bad="$bad $name(stale)"; continue ;;
	*) echo "ERROR $name: $msg"; bad="$bad $name(error)"; continue ;;
	esac
	if ! build_lib "$dir" > "$dir/build.log" 2>&1; then
		echo "ERROR $name: does not build; see $dir/build.log"
		bad="$bad $name(build)"
		continue
	fi
	by=""
	for t in $tests; do
		baseline "$t" "$envs" || { bad="$bad $name(baseline)"; continue 2; }
		src=$(ls tests/*/"$t.c" 2>/dev/null) rebuilt=""
		if [ -n "$src" ] && grep -q '^#include "[a-z_/]*\.c"' "$src"; then
			# It compiles library sources into itself: rebuilt
			# against the mutated copy (found first, -I$dir/src).
			if ! build_test "$dir" "$src" "$t" > "$dir/$t.build.log" 2>&1; then
				echo "ERROR $name: $t does not build; see $dir/$t.build.log"
				bad="$bad $name(build)"
				continue 2
			fi
			rebuilt=1
		else
			cp "$BUILD/tests/$t" "$dir/tests/$t"
		fi
		loaded=$(LD_TRACE_LOADED_OBJECTS=1 "$dir/tests/$t" 2>/dev/null |
			 sed -n "s/^[[:space:]]*$SONAME => \([^ ]*\).*/\1/p")
		# A rebuilt test may not need the library at all.
		if { [ -z "$rebuilt" ] || [ -n "$loaded" ]; } &&
		   [ "$(readlink -f "$loaded")" != "$(readlink -f "$dir/lib/$SONAME")" ]; then
			echo "ERROR $name: $t does not load the mutant library"
			bad="$bad $name(error)"
			continue 2
		fi
		if ! run_test "$dir/tests/$t" "$envs" "$dir/$t.log"; then
			by="$by $t"
		fi
	done
	if [ -n "$by" ]; then
		killed=$((killed + 1))
		echo "killed   $name ($what) by$by"
	else
		echo "SURVIVED $name ($what): $tests pass; see $dir/*.log"
		bad="$bad $name"
	fi
done <<EOT
$list
EOT
echo "mutants=$n killed=$killed${bad:+ not killed:$bad}"
[ -z "$bad" ]
