#!/bin/sh
# What every e2e payload's cases share (tests/e2e/x86/cases.sh,
# tests/e2e/riscv/cases.sh); installed in L1 as /l1-lib.sh (lkvm_stage_l1)
# and sourced by the payload after it has set W (work dir) and VMM.  The
# benchmarks' payloads (tests/bench/*-l1.sh) use its l1_heartbeat.
# busybox sh.

now_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# show PREFIX: copy stdin to the console, one prefixed line at a time.
show() {
	awk -v p="  [$1] " '{ sub(/\r+$/, ""); print p $0; fflush() }'
}

# stuck_diag PID: what a process that will not die is doing.
stuck_diag() {
	ps -o pid,stat,args | grep -v ' \[.*\]$'
	[ -n "$1" ] && [ -d "/proc/$1" ] || return 0
	for t in /proc/$1/task/*; do
		echo "task ${t##*/}: state $(sed -n 's/^State:[[:space:]]*//p' "$t/status") wchan $(cat "$t/wchan" 2>/dev/null)"
		cat "$t/stack" 2>/dev/null | head -n 12
	done
}

# run_vmm NAME FEEDER TIMEOUT VMM-ARGS...: run the VMM under busybox
# timeout. Its stdout (the L2 console) goes to $OUT and to the console, its
# stderr to $ERR; stdin is /dev/null, or the output of the shell function
# FEEDER. Sets RC (exit status), SECS (elapsed) and TXT ($OUT without CRs).
run_vmm() {
	name=$1 feeder=$2 tmo=$3
	shift 3
	OUT=$W/$name.out ERR=$W/$name.err RCF=$W/$name.rc TXT=$W/$name.txt
	rm -f "$OUT" "$ERR" "$RCF" "$TXT"
	: >"$OUT"
	echo "E2E-RUN $name: $VMM $*"
	t0=$(now_cs)
	# busybox timeout execs the VMM in its own process, so the pid that
	# sh -c writes to $PIDF is the VMM's.
	PIDF=$W/$name.pid
	rm -f "$PIDF"
	if [ "$feeder" = none ]; then
		{ sh -c 'echo $$ >"$0"; exec timeout -k 5 "$@"' "$PIDF" "$tmo" "$VMM" "$@" </dev/null 2>"$ERR"; echo $? >"$RCF"; } |
			tee "$OUT" | show "$name" &
	else
		"$feeder" | { sh -c 'echo $$ >"$0"; exec timeout -k 5 "$@"' "$PIDF" "$tmo" "$VMM" "$@" 2>"$ERR"; echo $? >"$RCF"; } |
			tee "$OUT" | show "$name" &
	fi
	# Wait for it, but give up 30 s after the timeout's KILL should have
	# ended it: a VMM stuck in the kernel (D state) cannot be killed, and
	# must neither block the remaining cases nor go unexplained.
	bg=$! n=0
	while kill -0 "$bg" 2>/dev/null; do
		if [ "$n" -ge $(((tmo + 35) * 5)) ]; then
			echo "E2E-STUCK $name: the VMM is still there $((tmo + 35))s after it started; abandoning it"
			stuck_diag "$(cat "$PIDF" 2>/dev/null)" | show "$name diag"
			echo 254 >"$RCF"
			break
		fi
		n=$((n + 1))
		sleep 0.2
	done
	[ "$n" -ge $(((tmo + 35) * 5)) ] || wait "$bg"
	t1=$(now_cs)
	RC=$(cat "$RCF" 2>/dev/null)
	[ -n "$RC" ] || RC=255
	CS=$((t1 - t0))
	SECS=$((CS / 100)).$((CS / 10 % 10))
	tr -d '\r' <"$OUT" >"$TXT"
	echo "$CS $tmo" >"$W/$name.meta"
	[ ! -s "$ERR" ] || show "$name stderr" <"$ERR"
	echo "E2E-TIME $name ${SECS}s status=$RC"
}

why=
timed_out() { [ "$RC" -ge 124 ] && [ "$CS" -ge $(((tmo - 1) * 100)) ]; }
expect_status() {
	for s in "$@"; do [ "$RC" = "$s" ] && return 0; done
	if [ "$RC" = 254 ]; then
		why="the VMM could not be killed after ${tmo}s (stuck in the kernel; see E2E-STUCK)"
	elif timed_out; then
		why="timed out after ${tmo}s (status $RC)"
	else
		why="exit status $RC, expected $*"
	fi
	return 1
}
expect_line() {
	grep -q -- "$1" "$TXT" && return 0
	why="$2"
	timed_out && why="$why (timed out after ${tmo}s)"
	return 1
}
expect_marker() { expect_line '^LKVM-L2-INIT-OK$' "L2 init marker LKVM-L2-INIT-OK never appeared"; }
value() { sed -n "s/^$1=//p" "$TXT" | head -n1; }

# pat TAG BYTES: the pattern the guests write (the same as in l2-lib.sh:
# same busybox, same bytes).
pat() { yes "lkvm-$1-0123456789abcdef" | head -c "$2"; }
sha() { sha256sum | cut -d' ' -f1; }

# Helpers of stdin feeders (the shell functions run_vmm pipes into the
# VMM), which count half-seconds in i up to twice the case's timeout tmo.
# wait_for_output PATTERN: until the guest printed PATTERN; fails when lkvm
# exited or time is up first.
wait_for_output() {
	while ! grep -q "$1" "$OUT" 2>/dev/null; do
		[ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ] || return 1
		i=$((i + 1))
		sleep 0.5
	done
}
# wait_vmm_exit: until lkvm exited or time is up.
wait_vmm_exit() {
	while [ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ]; do
		i=$((i + 1))
		sleep 0.5
	done
}
# exit_shell: end the guest's shell and wait for lkvm to exit.
exit_shell() {
	sleep 1
	printf 'exit\n'
	wait_vmm_exit
}

# feed_command READY LINE: (a feeder) types LINE into the guest's shell
# once it printed READY, then holds stdin open until the VMM has exited, so
# a case tests the input path, not the handling of EOF.
feed_command() {
	i=0
	wait_for_output "$1" || return 0
	sleep 1
	printf '%s\n' "$2"
	exit_shell
}

# feed_shell: feed_command for the serial shell: one short line (the 8250
# FIFO is 16 bytes).  The tty echoes the command; only the shell can print
# the product.
feed_shell() { feed_command LKVM-L2-SHELL-READY 'echo MAGIC-$((6*7))'; }

# l1_heartbeat: from now on a line every 30 s tells the host that L1 is
# alive while a guest is quiet (the host's watchdog kills an L1 silent for
# 150 s); kill "$hb" stops it.
l1_heartbeat() {
	(while :; do sleep 30; echo "E2E-L1-HEARTBEAT uptime=$(cut -d' ' -f1 /proc/uptime)"; done) &
	hb=$!
}

# l1_bench_boot LOG TAG CMD...: one benchmark boot: says so ("BENCH-RUN TAG:
# CMD"), then runs CMD (a VMM) under BENCH_TIMEOUT with its console in LOG.
# Returns CMD's status.
l1_bench_boot() {
	_log=$1 _tag=$2
	shift 2
	echo "BENCH-RUN $_tag: $*"
	timeout -k 5 "$BENCH_TIMEOUT" "$@" </dev/null >"$_log" 2>&1
}

# l1_bench_check STATUS LOG WANT PATTERN TAG LABEL: a BENCH-FAIL line, and
# the last console lines of LOG prefixed [LABEL], unless the boot of TAG
# exited 0 having printed WANT lines matching PATTERN.
l1_bench_check() {
	_n=$(grep -c "$4" "$2")
	if [ "$1" != 0 ] || [ "$_n" != "$3" ]; then
		echo "BENCH-FAIL $5: status $1, $_n of $3 results; last console lines:"
		tail -n 25 "$2" | tr -d '\r' | sed "s/^/  [$6] /"
	fi
}

# run_cases CASE...: run case_<name> (dashes as underscores) for each, in
# order, printing one "E2E <case>: PASS" or "E2E <case>: FAIL <why>" line
# (and the tail of a failed case's console), with a heartbeat every 30 s
# that tells the host L1 is alive while a case is quiet.
run_cases() {
	l1_heartbeat
	echo "E2E-L1-CASES $#: $*"
	echo "E2E-L1-VMM $(command -v "$VMM" || echo "$VMM: not found")"
	for c in "$@"; do
		why= TXT=
		fn=case_$(echo "$c" | tr - _)
		if ! command -v "$fn" >/dev/null 2>&1; then
			echo "E2E $c: FAIL unknown case"
			continue
		fi
		if "$fn"; then
			echo "E2E $c: PASS"
		else
			echo "E2E $c: FAIL ${why:-failed}"
			echo "E2E-TAIL $c: last 30 console lines:"
			tail -n 30 "${TXT:-$W/$c.txt}" 2>/dev/null | show "$c tail"
		fi
	done
	kill "$hb" 2>/dev/null
}
