#!/bin/sh
# Boot-time benchmark, inside L1 (busybox sh) as /payload.sh; see
# tests/bench/boot-time.sh. Boots the L2 kernel with every configuration
# (row) in BENCH_VMMS, first once each untimed (a warm-up: the page cache
# and the dynamic loader's work are then the same for all), then
# BENCH_RUNS times each, the rows alternating, timing every boot with
# bootstamp (spawn -> L2 marker, spawn -> exit). Then, where lkvm has it,
# `lkvm bench boot` once for lkvm's per-phase figures.
# /etc/lkvm-test.conf sets BENCH_RUNS, BENCH_TIMEOUT and BENCH_VMMS.
#
# Rows (time_<row> below):
#   lkvm        lkvm run, the bzImage (lkvm's default way of booting it)
#   lkvm_nopvh  the same with --no-pvh, added here when this lkvm has it
#               (then lkvm boots a bzImage through PVH by default)
#   lkvm_pvh    lkvm run, the uncompressed vmlinux through its PVH note
#   kvmtool     kvmtool run (the peer, static, /usr/bin/kvmtool), bzImage
#   qemu        QEMU -M microvm, the bzImage
#   qemu_pvh    QEMU -M microvm, the vmlinux (PVH)
#   base        --baseline's lkvm (/usr/bin/lkvm-base), bzImage
#   base_pvh    the same, vmlinux
. /etc/lkvm-test.conf
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
BENCH_VMMS=${BENCH_VMMS:-lkvm lkvm_pvh qemu qemu_pvh}
K=/l2/bzImage
V=/l2/vmlinux # the same kernel uncompressed, booted through its PVH note
I=/l2/initrd.cpio.gz
P=lkvmtest=marker
# No network card anywhere: QEMU's side has none (-nodefaults), lkvm and
# kvmtool give one by default (-n none; kvmtool's spelling is -n
# mode=none: its "-n none" makes a tap); a --baseline lkvm from before -n
# has none anyway.
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
	stamp "$1" lkvm run -k $K -i $I -m 256 -c 1 -n none -p $P
}
time_lkvm_nopvh() {
	stamp "$1" lkvm run --no-pvh -k $K -i $I -m 256 -c 1 -n none -p $P
}
time_lkvm_pvh() {
	stamp "$1" lkvm run -k $V -i $I -m 256 -c 1 -n none -p $P
}
# base: another lkvm build (boot-time.sh --baseline), same command lines.
# shellcheck disable=SC2086 # BASE_NONIC: none or two words
time_base() {
	stamp "$1" lkvm-base run -k $K -i $I -m 256 -c 1 $BASE_NONIC -p $P
}
# shellcheck disable=SC2086
time_base_pvh() {
	stamp "$1" lkvm-base run -k $V -i $I -m 256 -c 1 $BASE_NONIC -p $P
}
# kvmtool: its defaults otherwise (serial console on stdout; its own
# kernel parameters "noapic noacpi pci=conf1 reboot=k panic=1 i8042.* ...
# console=ttyS0" before ours). It keeps a socket in $HOME/.lkvm (HOME=/root,
# a writable initramfs) and ends when the guest reboots (the L2 init's
# reboot -f resets through the i8042), with status 0.
time_kvmtool() {
	stamp "$1" kvmtool run -k $K -i $I -m 256 -c 1 -n mode=none -p $P
}
# QEMU -M microvm in its fastest configuration found here (below). microvm
# has no i8042 of its own: -device i8042 lets reboot=k reset the machine,
# and -no-reboot turns that reset into QEMU's exit. rtc=on: without an RTC
# the guest's rtc_cmos probe of the empty ports 0x70/0x71 took 6 s of every
# boot here (lkvm has an RTC). The serial console (isa-serial) goes to
# stdout. Not -nographic: with it (monitor muxed onto a stdin at EOF) the
# L1 under TCG wedged within a few boots (halted with a timer interrupt
# pending in its APIC that not even an NMI woke), and never did with
# -serial stdio.
#
# What was tried (boot-time.sh --vmms qemu_a,...,qemu_c_pvh in two L1s, 3-4
# timed boots of each in all, on a host loaded with three other L1s, load
# 4-6 on two CPUs: wall times stretched 1-3x, so the host CPU that L1
# spent per boot (l1_cpu_ms, the second L1's median) decides; bzImage /
# PVH vmlinux, ms):
#   A  -M microvm,rtc=on (the earlier rows)
#      wall 14466-35967 / 12820-23559; CPU 15060 / 11440
#   B  A + x-option-roms=off,pit=off,pic=off,isa-serial=on, -nodefaults
#      -no-user-config: wall 18294-31534 / 16907-22835; CPU 15140 / 10520
#   C  B + acpi=off (no ACPI tables: no AML to interpret, no ACPI device
#      scan; the guest finds the IO-APIC in qboot's MP table, as kvmtool's
#      guest does with its "noacpi"): wall 13975-41715 / 9797-22359;
#      CPU 12990 / 11210
# The differences are within the noise, but C was the cheapest bzImage boot
# and as cheap a PVH one, and does less by design: the qemu rows use C.
# x-option-roms=off changes nothing here (microvm's qboot loads the kernel
# from fw_cfg itself); pit=off and pic=off leave the guest fewer legacy
# devices to probe (it calibrates the TSC from -cpu host's CPUID/kvmclock).
QEMU_COMMON="-device i8042 -enable-kvm -cpu host -m 256 -smp 1 -display none -monitor none -serial stdio -no-reboot"
QEMU_APPEND="console=ttyS0 reboot=k panic=-1 $P"
QEMU_A="-M microvm,rtc=on"
QEMU_B="-M microvm,x-option-roms=off,pit=off,pic=off,isa-serial=on,rtc=on -nodefaults -no-user-config"
QEMU_C="-M microvm,x-option-roms=off,pit=off,pic=off,isa-serial=on,rtc=on,acpi=off -nodefaults -no-user-config"
QEMU_BEST=$QEMU_C
# qemu_boot LOG KERNEL MACHINE-OPTIONS (words)
# shellcheck disable=SC2086
qemu_boot() {
	stamp "$1" qemu-system-x86_64 $3 $QEMU_COMMON -kernel "$2" -initrd $I -append "$QEMU_APPEND"
}
time_qemu() { qemu_boot "$1" $K "$QEMU_BEST"; }
time_qemu_pvh() { qemu_boot "$1" $V "$QEMU_BEST"; }
# The variants compared above (boot-time.sh --vmms with these rows); qemu
# and qemu_pvh are qemu_c and qemu_c_pvh.
time_qemu_a() { qemu_boot "$1" $K "$QEMU_A"; }
time_qemu_a_pvh() { qemu_boot "$1" $V "$QEMU_A"; }
time_qemu_b() { qemu_boot "$1" $K "$QEMU_B"; }
time_qemu_b_pvh() { qemu_boot "$1" $V "$QEMU_B"; }
time_qemu_c() { qemu_boot "$1" $K "$QEMU_C"; }
time_qemu_c_pvh() { qemu_boot "$1" $V "$QEMU_C"; }

# boot ROW LABEL RUN: one timed boot of ROW, reported as "LABEL ROW run=RUN
# marker_ms=.. exit_ms=.. status=..", with the console's end on failure.
# Around it BENCH-SNAP lines: boot-time.sh notes there how much host CPU
# L1 has used, to tell a slow VMM from an L1 that other work starved.
boot() {
	log=/tmp/bench/$1-$3.log
	echo "BENCH-SNAP $1-$3-a"
	r=$("time_$1" "$log")
	echo "BENCH-SNAP $1-$3-b"
	echo "$2 $1 run=$3 $r"
	if ! grep -q "$MARKER" "$log" || [ "${r##*status=}" != 0 ]; then
		echo "BENCH-FAIL $1 run=$3: no L2 marker or non-zero status; last console lines:"
		tail -n 20 "$log" | tr -d '\r' | sed "s/^/  [$1-$3] /"
	fi
}

# A heartbeat tells the host that L1 is alive while a boot is quiet
# (l1_heartbeat: tests/e2e/lib/l1-lib.sh, in L1 as /l1-lib.sh).
. /l1-lib.sh
l1_heartbeat

# The rows: lkvm_nopvh after lkvm where lkvm has --no-pvh; kvmtool only if
# boot-time.sh staged one.
rows=
for v in $BENCH_VMMS; do
	case "$v" in
	kvmtool) command -v kvmtool >/dev/null || continue ;;
	esac
	rows="$rows $v"
	if [ "$v" = lkvm ] && lkvm run --help 2>&1 | grep -q -- --no-pvh; then
		rows="$rows lkvm_nopvh"
	fi
done
echo "BENCH-CONFIG runs=$BENCH_RUNS lkvm=$(command -v lkvm) kvmtool=$(command -v kvmtool || echo none) qemu=$(command -v qemu-system-x86_64)"
echo "BENCH-ROWS$rows"
echo "BENCH-QEMU qemu/qemu_pvh: qemu-system-x86_64 $QEMU_BEST $QEMU_COMMON"

# The warm-up: L1's root is an initramfs, so every file is in its page
# cache from the start; the first run of each VMM still pays for mapping
# and faulting in its binary (and QEMU's shared libraries and firmware),
# which the timed runs then find resident.
for vmm in $rows; do
	boot "$vmm" BENCH-WARMUP 0
done
i=1
while [ "$i" -le "$BENCH_RUNS" ]; do
	for vmm in $rows; do
		boot "$vmm" BENCH "$i"
	done
	i=$((i + 1))
done

# lkvm's own per-phase figures (lkvm bench boot: min/median/p90/max of
# each boot phase over its runs), passed through as BENCH-PHASE lines.
if lkvm bench --help >/dev/null 2>&1; then
	if timeout -k 5 $((BENCH_TIMEOUT * 4)) lkvm bench boot -n 3 -k $K -i $I -m 256 -c 1 -n none -p $P \
		</dev/null >/tmp/bench/phases 2>&1; then
		tr -d '\r' </tmp/bench/phases | sed 's/^/BENCH-PHASE /'
	else
		echo "BENCH-FAIL lkvm bench boot failed (status $?); its output:"
		tr -d '\r' </tmp/bench/phases | tail -n 30 | sed 's/^/  [bench-boot] /'
	fi
else
	echo "BENCH-PHASE-SKIP this lkvm has no 'lkvm bench' (lkvm bench --help failed)"
fi
echo "BENCH-END"
kill "$hb" 2>/dev/null
