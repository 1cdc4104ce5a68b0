#!/bin/sh
# The e2e cases. Runs inside L1 (busybox sh) as /payload.sh after kvm-amd is
# loaded; each case runs the VMM (lkvm, or the stand-in installed under that
# name) on the L2 kernel and initramfs, streams the L2 console with a
# "  [case] " prefix, and prints exactly one "E2E <case>: PASS" or
# "E2E <case>: FAIL <reason>" line. /etc/lkvm-test.conf sets:
#   E2E_CASES    space-separated case names, run in that order
#   E2E_TIMEOUT  per-case timeout in seconds (busybox timeout)
. /etc/lkvm-test.conf
E2E_TIMEOUT=${E2E_TIMEOUT:-120}
VMM=${VMM:-lkvm}
K=/l2/bzImage
I=/l2/initrd.cpio.gz
W=/tmp/e2e
mkdir -p "$W"

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

# --- the cases -------------------------------------------------------------

case_boot_marker() {
	run_vmm boot-marker none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p lkvmtest=marker
	expect_marker && expect_status 0
}

case_smp_2() {
	run_vmm smp-2 none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 2 -p lkvmtest=info
	expect_marker && expect_line '^NCPU=' "no NCPU= line" || return 1
	n=$(value NCPU)
	[ "$n" = 2 ] || { why="guest sees NCPU=$n, expected 2"; return 1; }
	expect_status 0
}

# SMP from the MP table alone: with acpi=off the guest never sees the MADT.
case_smp_2_acpi_off() {
	run_vmm smp-2-acpi-off none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 2 -p "acpi=off lkvmtest=info"
	expect_marker && expect_line '^NCPU=' "no NCPU= line" || return 1
	n=$(value NCPU)
	[ "$n" = 2 ] || { why="guest sees NCPU=$n with acpi=off, expected 2"; return 1; }
	grep -q 'ACPI: Interpreter disabled' "$TXT" || { why="acpi=off did not disable ACPI"; return 1; }
	expect_status 0
}

case_mem_size() {
	run_vmm mem-size none "$E2E_TIMEOUT" run -k $K -i $I -m 1024 -c 1 -p lkvmtest=info
	expect_marker && expect_line '^MEMTOTAL_KB=' "no MEMTOTAL_KB= line" || return 1
	kb=$(value MEMTOTAL_KB)
	# MemTotal excludes what the kernel keeps for itself (about 50 MiB for a
	# Debian kernel), so it must lie within 10% below -m and never above.
	lo=$((1024 * 1024 * 9 / 10)) hi=$((1024 * 1024))
	[ -n "$kb" ] && [ "$kb" -ge "$lo" ] && [ "$kb" -le "$hi" ] ||
		{ why="MemTotal ${kb} kB not in [$lo, $hi] kB for -m 1024"; return 1; }
	expect_status 0
}

# RAM beyond the 32-bit hole lands above 4 GiB and is all usable.
case_mem_above_4g() {
	run_vmm mem-above-4g none "$E2E_TIMEOUT" run -k $K -i $I -m 4608 -c 1 -p lkvmtest=info
	expect_marker && expect_line '^MEMTOTAL_KB=' "no MEMTOTAL_KB= line" || return 1
	kb=$(value MEMTOTAL_KB)
	# Within 10% below -m (the kernel's own reservations grow with RAM).
	lo=$((4608 * 1024 * 9 / 10)) hi=$((4608 * 1024))
	[ -n "$kb" ] && [ "$kb" -ge "$lo" ] && [ "$kb" -le "$hi" ] ||
		{ why="MemTotal ${kb} kB not in [$lo, $hi] kB for -m 4608"; return 1; }
	[ "$(value RAM_ABOVE_4G)" = 1 ] || { why="no System RAM above 4 GiB in /proc/iomem"; return 1; }
	expect_status 0
}

# The platform devices as the guest's drivers see them.
case_platform_devices() {
	run_vmm platform-devices none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p lkvmtest=info
	expect_marker && expect_line '^EPOCH=' "no EPOCH= line" || return 1
	# CMOS RTC: the guest's clock came from lkvm's RTC (the host's time).
	g=$(value EPOCH) h=$(date +%s)
	d=$((h - g)); [ $d -ge 0 ] || d=$((-d))
	[ -n "$g" ] && [ $d -le 300 ] || { why="guest time $g vs L1 time $h"; return 1; }
	grep -q 'rtc_cmos.*setting system clock' "$TXT" || { why="rtc_cmos did not set the clock"; return 1; }
	# PCI: the host bridge at 00:00.0 through conf1.
	[ "$(value PCI_00_CLASS)" = 0x060000 ] ||
		{ why="PCI 00:00.0 class '$(value PCI_00_CLASS)', expected 0x060000"; return 1; }
	# 8250: the driver found a 16550A and took interrupts on IRQ 4.
	grep -q 'ttyS0 at I/O 0x3f8 (irq = 4.*is a 16550A' "$TXT" || { why="ttyS0 not detected as a 16550A on IRQ 4"; return 1; }
	n=$(value TTYS0_IRQS)
	[ -n "$n" ] && [ "$n" -gt 0 ] || { why="no ttyS0 interrupts in /proc/interrupts ($n)"; return 1; }
	expect_status 0
}

case_cmdline_append() {
	run_vmm cmdline-append none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p "foo=bar lkvmtest=info"
	expect_marker && expect_line '^CMDLINE=' "no CMDLINE= line" || return 1
	cl=$(value CMDLINE)
	case " $cl " in
	*" foo=bar "*) ;;
	*) why="foo=bar missing from the guest's /proc/cmdline: $cl"; return 1 ;;
	esac
	expect_status 0
}

# Types into the guest's shell once it is ready, one line at a time (the
# 8250 FIFO is 16 bytes), then holds stdin open until the VMM has exited so
# the case tests the input path, not the handling of EOF.
feed_shell() {
	i=0
	while ! grep -q LKVM-L2-SHELL-READY "$OUT" 2>/dev/null; do
		[ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ] || return 0
		i=$((i + 1))
		sleep 0.5
	done
	sleep 1
	# The tty echoes the command; only the shell can print the product.
	printf 'echo MAGIC-$((6*7))\n'
	sleep 1
	printf 'exit\n'
	while [ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ]; do
		i=$((i + 1))
		sleep 0.5
	done
}

case_stdin_to_shell() {
	run_vmm stdin-to-shell feed_shell "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p lkvmtest=shell
	expect_marker &&
		expect_line '^LKVM-L2-SHELL-READY' "the guest never started its shell" &&
		expect_line 'MAGIC-42' "MAGIC-42 never came back: stdin did not reach the guest shell" &&
		expect_status 0
}

case_reboot_exit0() {
	run_vmm reboot-exit0 none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p lkvmtest=reboot
	expect_marker &&
		expect_line '^LKVM-L2-REBOOTING' "the guest never reached reboot -f" &&
		expect_status 0
}

# Guest power-off through ACPI S5. --debug makes lkvm say how the VM ended,
# so a poweroff that failed and fell back to panic -> reboot cannot pass.
case_poweroff_exit0() {
	run_vmm poweroff-exit0 none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 2 --debug -p lkvmtest=poweroff
	expect_marker &&
		expect_line '^LKVM-L2-POWERING-OFF' "the guest never reached poweroff -f" &&
		expect_status 0 || return 1
	grep -q 'guest powered off through ACPI S5' "$ERR" ||
		{ why="lkvm did not see an ACPI S5 power-off"; return 1; }
	! grep -q -e 'Kernel panic' -e 'POWEROFF-FAILED' "$TXT" ||
		{ why="the guest panicked or kept running instead of powering off"; return 1; }
}

# A real triple fault (empty IDT + int3) from the smoke stand-in kernel:
# KVM_EXIT_SHUTDOWN must end lkvm with status 0.
case_triple_fault_exit0() {
	run_vmm triple-fault-exit0 none 60 run -k /l2/smoke.bzImage -m 64 -c 1 --debug -p smoke=t
	expect_line '^TRIPLE' "the smoke guest never started" &&
		expect_status 0 || return 1
	grep -q 'triple fault' "$ERR" || { why="lkvm did not report a triple fault"; return 1; }
}

# The uncompressed vmlinux through its PVH entry note, with SMP and initrd.
case_pvh_vmlinux() {
	run_vmm pvh-vmlinux none "$E2E_TIMEOUT" run -k /l2/vmlinux -i $I -m 256 -c 2 -p lkvmtest=info
	expect_marker && expect_line '^NCPU=' "no NCPU= line" || return 1
	n=$(value NCPU)
	[ "$n" = 2 ] || { why="guest sees NCPU=$n, expected 2"; return 1; }
	expect_status 0
}

# A guest that jumps into the MMIO hole cannot be run: status 1, and the
# message names the exit reason and shows the registers.
case_internal_error() {
	run_vmm internal-error none 60 run -k /l2/smoke.bzImage -m 64 -c 1 -p smoke=x
	expect_line '^EXEC-MMIO' "the smoke guest never started" &&
		expect_status 1 || return 1
	grep -q 'KVM_EXIT_INTERNAL_ERROR' "$ERR" && grep -q 'rip 00000000c0000000' "$ERR" ||
		{ why="no exit reason and registers on stderr"; return 1; }
}

case_bad_kernel() {
	run_vmm bad-kernel none 30 run -k $I
	expect_status 1 || return 1
	n=$(grep -c '' "$ERR")
	[ "$n" = 1 ] || { why="$n lines on stderr, expected exactly 1"; return 1; }
	grep -q 'is not a bzImage' "$ERR" || { why="the error does not say it is not a bzImage"; return 1; }
}

case_panic_exit() {
	run_vmm panic-exit none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p "panic=-1 lkvmtest=panic"
	expect_marker &&
		expect_line '^LKVM-L2-PANICKING' "the guest never reached its panic" &&
		expect_line 'Kernel panic' "no 'Kernel panic' message from the guest" &&
		expect_status 0
}

case_missing_kernel() {
	run_vmm missing-kernel none 30 run -k /nonexistent
	expect_status 1 2 || return 1
	n=$(grep -c '' "$ERR")
	[ "$n" = 1 ] || { why="$n lines on stderr, expected exactly 1"; return 1; }
	grep -q /nonexistent "$ERR" || { why="the stderr line does not name /nonexistent"; return 1; }
	if grep -q -e 'LKVM-L2-INIT-OK' -e 'Linux version' "$TXT"; then
		why="a guest booted anyway"
		return 1
	fi
}

# --- driver ------------------------------------------------------------------

# A heartbeat tells the host that L1 is alive while a case is quiet.
(while :; do sleep 30; echo "E2E-L1-HEARTBEAT uptime=$(cut -d' ' -f1 /proc/uptime)"; done) &
hb=$!

set -- $E2E_CASES
echo "E2E-L1-CASES $#: $*"
echo "E2E-L1-VMM $(command -v "$VMM" || echo "$VMM: not found")"
for c in "$@"; do
	why=
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
		tail -n 30 "$W/$c.txt" 2>/dev/null | show "$c tail"
	fi
done
kill "$hb" 2>/dev/null
