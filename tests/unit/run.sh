#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run unit-test binaries, show their output and add up their results.
#
#   tests/unit/run.sh build/tests/vmm/test_bus build/tests/virtio/test_blk ...
#
# A binary is named by its path below build/tests/ (the path of its source
# below tests/unit/): test_pci alone would not say whose.
# Each binary ends its output with "N passed, N failed" (tests/unit/lib/test.h).
# The last line printed here is exactly "N passed, N failed" for all of them.
# A binary that crashes, hangs (UNIT_TIMEOUT seconds, default 300), exits
# non-zero or prints no summary counts as one more failed case.  Exit status
# is 1 when anything failed or when no test case ran at all, 0 otherwise.

timeout_s=${UNIT_TIMEOUT:-300}
total_pass=0
total_fail=0
broken=""

if [ $# -eq 0 ]; then
	echo "run.sh: no test binaries given" >&2
	echo "0 passed, 0 failed"
	exit 1
fi

if command -v timeout >/dev/null 2>&1; then
	with_timeout="timeout -k 10 $timeout_s"
else
	with_timeout=""
fi

out=$(mktemp "${TMPDIR:-/tmp}/lkvm-unit.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT INT TERM

for t in "$@"; do
	name=${t##*build/tests/}
	echo "== $name"
	if [ ! -x "$t" ]; then
		echo "run.sh: $t: not an executable"
		total_fail=$((total_fail + 1))
		broken="$broken $name"
		continue
	fi
	$with_timeout "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	p=0
	f=0
	if [ -n "$summary" ]; then
		p=${summary%% passed*}
		f=${summary#*, }
		f=${f%% failed}
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
	fi
	why=""
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${timeout_s}s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ -z "$summary" ]; then
		why="printed no 'N passed, N failed' summary (exit status $rc)"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		why="exited with status $rc although no case failed"
	elif [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then
		why="exited with status 0 although $f case(s) failed"
	fi
	if [ -n "$why" ]; then
		# Not explained by a counted failed case: count it as one.
		echo "run.sh: $name $why"
		total_fail=$((total_fail + 1))
		broken="$broken $name"
	elif [ "$f" -ne 0 ]; then
		broken="$broken $name"
	fi
done

if [ -n "$broken" ]; then
	echo "failing:$broken"
fi
echo "$total_pass passed, $total_fail failed"
if [ "$total_fail" -ne 0 ] || [ "$total_pass" -eq 0 ]; then
	exit 1
fi
exit 0
