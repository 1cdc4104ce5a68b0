# Shared by the smoke scripts (sourced; bash): the result counters and the
# one-command case runner.  The caller sets $lkvm and $work and starts
# pass=0 fail=0.

result() { # name status detail
	if [ "$2" = 0 ]; then
		echo "SMOKE $1: PASS"; pass=$((pass + 1))
	else
		echo "SMOKE $1: FAIL $3"; fail=$((fail + 1))
		for f in "$work/out" "$work/err"; do
			[ -s "$f" ] && { echo "--- $(basename "$f"):"; tail -n 15 "$f" | sed "s/^/  | /"; }
		done
	fi
}

# run NAME EXPECTED_RC GREP_STDOUT GREP_STDERR -- lkvm args...
run_case() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4 rc
	shift 5
	timeout -k 5 20 "$lkvm" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		result "$name" 1 "exit status $rc, expected $want_rc"
	elif [ -n "$want_out" ] && ! grep -q -- "$want_out" "$work/out"; then
		result "$name" 1 "stdout lacks '$want_out'"
	elif [ -n "$want_err" ] && ! grep -q -- "$want_err" "$work/err"; then
		result "$name" 1 "stderr lacks '$want_err'"
	elif [ "$want_rc" != 0 ] && [ "$(wc -l <"$work/err")" != 1 ]; then
		result "$name" 1 "expected exactly one error line, got $(wc -l <"$work/err")"
	else
		result "$name" 0 ""
	fi
}

