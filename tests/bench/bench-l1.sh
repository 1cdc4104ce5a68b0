#!/bin/sh
# Boot-time benchmark, inside L1 (busybox sh) as /payload.sh. Boots the L2
# kernel with lkvm and with QEMU (-M microvm) alternately, BENCH_RUNS times
# each, timing every run with bootstamp (spawn -> L2 marker, spawn -> exit).
# /etc/lkvm-test.conf sets BENCH_RUNS and BENCH_TIMEOUT.
. /etc/lkvm-test.conf
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
BENCH_VMMS=${BENCH_VMMS:-lkvm qemu lkvm_pvh qemu_pvh}
K=/l2/bzImage
V=/l2/vmlinux # the same kernel uncompressed, booted through its PVH note
I=/l2/initrd.cpio.gz
# No network card: QEMU's side has none (-nodefaults), and lkvm gives
# one by default; a --baseline lkvm from before -n has none anyway.
BASE_NONIC=
if command -v lkvm-base >/dev/null && lkvm-base run --help 2>&1 | grep -q -- '--network'; then
	BASE_NONIC="-n none"
fi
MARKER=LKVM-L2-INIT-OK
mkdir -p /tmp/bench

# stamp LOG CMD...: one timed boot; prints bootstamp's line. Gives up on a
# VMM that survives its timeout's KILL (stuck in the kernel), saying so.
stamp() {
	log=$1
	shift
	rm -f /tmp/bench/r
	bootstamp -o "$log" "$MARKER" -- timeout -k 5 "$BENCH_TIMEOUT" "$@" </dev/null >/tmp/bench/r &
	bg=$! n=0
	while kill -0 "$bg" 2>/dev/null; do
		if [ "$n" -ge $(((BENCH_TIMEOUT + 35) * 5)) ]; then
			echo "marker_ms=-1 exit_ms=-1 status=254 (stuck: $(ps -o pid,stat,args | grep -e "$1" | grep -v grep | head -n 3 | tr '\n' ' '))"
			return 0
		fi
		n=$((n + 1))
		sleep 0.2
	done
	wait "$bg"
	cat /tmp/bench/r
}
time_lkvm() {
	stamp "$1" lkvm run -k $K -i $I -m 256 -c 1 -n none -p lkvmtest=marker
}
time_lkvm_pvh() {
	stamp "$1" lkvm run -k $V -i $I -m 256 -c 1 -n none -p lkvmtest=marker
}
# base: another lkvm build (boot-time.sh --baseline), same command lines.
time_base() {
	stamp "$1" lkvm-base run -k $K -i $I -m 256 -c 1 $BASE_NONIC -p lkvmtest=marker
}
time_base_pvh() {
	stamp "$1" lkvm-base run -k $V -i $I -m 256 -c 1 $BASE_NONIC -p lkvmtest=marker
}
# microvm has no i8042 of its own: -device i8042 lets reboot=k reset the
# machine, and -no-reboot turns that reset into QEMU's exit. rtc=on: without
# an RTC the guest's rtc_cmos probe of the empty ports 0x70/0x71 took 6 s of
# every boot here (lkvm has an RTC). The serial console (microvm's
# isa-serial, on by default) goes to stdout. Not
# -nographic: with it (monitor muxed onto a stdin at EOF) the L1 under TCG
# wedged within a few boots (halted with a timer interrupt pending in its
# APIC that not even an NMI woke), and never did with -serial stdio.
time_qemu() {
	stamp "$1" qemu-system-x86_64 -M microvm,rtc=on -device i8042 -enable-kvm -cpu host -m 256 \
		-display none -monitor none -serial stdio -no-reboot -kernel $K -initrd $I \
		-append "console=ttyS0 reboot=k panic=-1 lkvmtest=marker"
}
time_qemu_pvh() {
	stamp "$1" qemu-system-x86_64 -M microvm,rtc=on -device i8042 -enable-kvm -cpu host -m 256 \
		-display none -monitor none -serial stdio -no-reboot -kernel $V -initrd $I \
		-append "console=ttyS0 reboot=k panic=-1 lkvmtest=marker"
}

# A heartbeat tells the host that L1 is alive while a boot is quiet
# (l1_heartbeat: tests/e2e/lib/l1-lib.sh, in L1 as /l1-lib.sh).
. /l1-lib.sh
l1_heartbeat

echo "BENCH-CONFIG runs=$BENCH_RUNS lkvm=$(command -v lkvm) qemu=$(command -v qemu-system-x86_64)"
i=1
while [ "$i" -le "$BENCH_RUNS" ]; do
	for vmm in $BENCH_VMMS; do
		log=/tmp/bench/$vmm-$i.log
		r=$(time_$vmm "$log")
		echo "BENCH $vmm run=$i $r"
		if ! grep -q "$MARKER" "$log" || [ "${r##*status=}" != 0 ]; then
			echo "BENCH-FAIL $vmm run=$i: no L2 marker or non-zero status; last console lines:"
			tail -n 20 "$log" | tr -d '\r' | sed "s/^/  [$vmm-$i] /"
		fi
	done
	i=$((i + 1))
done
echo "BENCH-END"
kill "$hb" 2>/dev/null
