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
IV=/l2/initrd-virtio.cpio.gz # with the virtio and ext4 modules
W=/tmp/e2e
mkdir -p "$W"
# Disk images live on a tmpfs of their own (L1's root may be a ramfs,
# which cannot punch holes). tmpfs has no O_DIRECT: ,direct runs on brd.
D=/tmp/disks
mkdir -p "$D"
mount -t tmpfs -o size=1200m tmpfs "$D" 2>/dev/null
ln -sf /proc/mounts /etc/mtab

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

# --- virtio cases -------------------------------------------------------------
#
# Several cases share one VMM run (a boot under nested TCG costs ~15 s):
# the first case that needs it runs it, and each case then checks its own
# part of the result. The guest side is the blk*, rng, hvc and hold actions
# of tests/e2e/l2-init.sh.

# once BOOT FUNCTION: run FUNCTION (which calls run_vmm BOOT ...) unless it
# already ran, then point TXT, ERR, RC, CS and tmo at BOOT's results.
once() {
	if [ ! -e "$W/$1.booted" ]; then
		"$2"
		: >"$W/$1.booted"
	fi
	OUT=$W/$1.out TXT=$W/$1.txt ERR=$W/$1.err RCF=$W/$1.rc
	RC=$(cat "$RCF" 2>/dev/null)
	[ -n "$RC" ] || RC=255
	read -r CS tmo <"$W/$1.meta" 2>/dev/null || { CS=0 tmo=$E2E_TIMEOUT; }
}

# The pattern the guest writes (same busybox, same bytes as l2-init.sh).
pat() { yes "lkvm-$1-0123456789abcdef" | head -c "$2"; }
sha() { sha256sum | cut -d' ' -f1; }
# region_sha FILE OFFSET LENGTH [direct]: sha256 of bytes of a file or device.
region_sha() {
	if [ "${4:-}" = direct ]; then
		dd if="$1" bs=4096 iflag=skip_bytes,count_bytes,direct skip="$2" count="$3" 2>/dev/null | sha
	else
		dd if="$1" bs=4096 iflag=skip_bytes,count_bytes skip="$2" count="$3" 2>/dev/null | sha
	fi
}
fsize() { if [ -b "$1" ]; then blockdev --getsize64 "$1"; else stat -L -c %s "$1"; fi; }

# check_rw DEV IMAGE SERIAL [direct]: the guest's blk_rw on DEV (backed by
# IMAGE, with SERIAL) succeeded, and L1 finds the same three patterns in
# IMAGE at the same places.
check_rw() {
	v=$(value "DISK_$1_RW")
	[ "$v" = ok ] || { why="guest $1 read/write: ${v:-no result}"; return 1; }
	size=$(fsize "$2")
	[ "$(value "DISK_$1_SIZE")" = "$size" ] ||
		{ why="guest $1 size $(value "DISK_$1_SIZE"), image $size bytes"; return 1; }
	[ "$(value "DISK_$1_SERIAL")" = "$3" ] ||
		{ why="guest $1 serial '$(value "DISK_$1_SERIAL")', expected '$3'"; return 1; }
	for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
		set -- "$1" "$2" "$3" "${4:-}" $r
		[ "$(region_sha "$2" "$6" "$7" "$4")" = "$(pat "$3-$5" "$7" | sha)" ] ||
			{ why="$2 at offset $6 does not hold what the guest wrote to $1"; return 1; }
	done
}

# feature_bit DEV N: bit N of the guest's negotiated virtio features of DEV.
feature_bit() { value "DISK_$1_FEATURES" | cut -c$(($2 + 1)); }

MiB=1048576
# run.sh --transport T runs the transport-neutral virtio cases over T.
TR=
[ -z "${E2E_TRANSPORT:-}" ] || TR="--virtio-transport $E2E_TRANSPORT"
# quiet: the guest's boot messages through the emulated UART cost seconds
# per boot under nested TCG; errors and warnings still print.
Q=quiet

boot_blk() {
	rm -f "$D"/*
	truncate -s 64M "$D/root.img" "$D/raw.img"
	# A region the guest must read back: 1 MiB at 4 MiB.
	pat pre $MiB | dd of="$D/raw.img" bs=4096 seek=1024 conv=notrunc 2>/dev/null
	run_vmm virtio-blk none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 2 $TR \
		--disk "$D/root.img,serial=lkvm-root" --disk "$D/raw.img,serial=lkvm-raw" \
		-p "$Q lkvmtest=blk"
}

# Default transport (virtio-pci, modern): an ext2 file system made, written
# and read back by the guest and checked by L1's e2fsck and debugfs; raw
# patterns written at three offsets and checked by L1; a region L1 wrote
# read by the guest.
case_virtio_blk() {
	once virtio-blk boot_blk
	expect_marker && expect_status 0 || return 1
	[ "$(value EXT2)" = written ] || { why="the guest could not make/mount/write ext2 on vda: $(value EXT2)"; return 1; }
	check_rw vdb "$D/raw.img" lkvm-raw || return 1
	[ "$(value PRE_SHA)" = "$(pat pre $MiB | sha)" ] ||
		{ why="the guest read something else than L1 wrote at 4 MiB of vdb"; return 1; }
	[ "$(feature_bit vdb 32)" = 1 ] || { why="VIRTIO_F_VERSION_1 not negotiated over the default transport"; return 1; }
	e2fsck -fn "$D/root.img" >"$W/e2fsck.log" 2>&1 ||
		{ why="e2fsck -fn on the image the guest wrote failed: $(tail -n 3 "$W/e2fsck.log" | tr '\n' ' ')"; return 1; }
	got=$(debugfs -R 'cat /hello.txt' "$D/root.img" 2>/dev/null)
	[ "$got" = "hello from the lkvm guest" ] || { why="debugfs: /hello.txt holds '$got'"; return 1; }
	want=$(pat big 300000 | sha)
	[ "$(debugfs -R 'cat /dir/big.bin' "$D/root.img" 2>/dev/null | sha)" = "$want" ] ||
		{ why="debugfs: /dir/big.bin differs from what the guest wrote"; return 1; }
	[ "$(value EXT2_READBACK)" = "$want" ] || { why="the guest read /dir/big.bin back wrong after dropping caches"; return 1; }
}

case_virtio_blk_two_disks() {
	once virtio-blk boot_blk
	expect_marker || return 1
	for x in "vda lkvm-root" "vdb lkvm-raw"; do
		set -- $x
		[ "$(value "DISK_$1_SIZE")" = $((64 * MiB)) ] ||
			{ why="$1: size '$(value "DISK_$1_SIZE")', expected $((64 * MiB))"; return 1; }
		[ "$(value "DISK_$1_SERIAL")" = "$2" ] ||
			{ why="$1: serial '$(value "DISK_$1_SERIAL")', expected $2"; return 1; }
	done
	expect_status 0
}

# -c 2: the guest's virtio-blk driver uses one request queue per vCPU.
case_virtio_blk_multiqueue() {
	once virtio-blk boot_blk
	expect_marker || return 1
	for dv in vda vdb; do
		n=$(value "DISK_${dv}_MQ")
		[ "$n" = 2 ] || { why="$dv has ${n:-no} blk-mq queues with -c 2, expected 2"; return 1; }
	done
	expect_status 0
}

# The default transport's interrupts are MSI-X, one vector per queue, and
# the request queues' vectors fired.
case_virtio_pci_msix() {
	once virtio-blk boot_blk
	expect_marker || return 1
	grep '^IRQ: ' "$TXT" >"$W/msix.irqs"
	grep -q 'MSI' "$W/msix.irqs" || { why="no MSI virtio interrupts in /proc/interrupts: $(tr '\n' ' ' <"$W/msix.irqs")"; return 1; }
	! grep -q 'IO-APIC' "$W/msix.irqs" || { why="a virtio device uses an IO-APIC line despite MSI-X"; return 1; }
	n=$(grep -c 'MSI.*virtio.*-req\.' "$W/msix.irqs")
	[ "$n" -ge 4 ] || { why="$n MSI request-queue vectors for 2 disks x 2 queues, expected 4"; return 1; }
	# Some request vector took interrupts (fields after "IRQ: N:").
	fired=$(grep 'MSI.*virtio.*-req\.' "$W/msix.irqs" |
		awk '{ for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }')
	[ "$fired" -gt 0 ] || { why="no interrupts counted on the request vectors"; return 1; }
	expect_status 0
}

boot_blk_ro() {
	rm -f "$D"/*
	truncate -s 16M "$D/ro.img"
	mke2fs -F "$D/ro.img" >/dev/null 2>&1
	pat ro-orig $MiB | dd of="$D/ro.img" bs=4096 seek=2048 conv=notrunc 2>/dev/null
	sha256sum <"$D/ro.img" | cut -d' ' -f1 >"$W/ro.before"
	run_vmm virtio-blk-ro none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 \
		$TR --disk "$D/ro.img,ro" -p "$Q lkvmtest=blk-ro"
}

# ,ro: the guest sees a read-only disk it can read, its writes fail, and the
# image is unchanged.
case_virtio_blk_ro() {
	once virtio-blk-ro boot_blk_ro
	expect_marker && expect_status 0 || return 1
	[ "$(value RO_SYSFS)" = 1 ] && [ "$(value RO_GETRO)" = 1 ] ||
		{ why="the guest does not see vda as read-only (sysfs ro=$(value RO_SYSFS), getro=$(value RO_GETRO))"; return 1; }
	[ "$(value RO_SHA_GUEST)" = "$(cat "$W/ro.before")" ] || { why="the guest read the ro disk wrong"; return 1; }
	case "$(value RO_DD)" in failed*) ;; *) why="a write to the ro disk succeeded"; return 1 ;; esac
	[ "$(value RO_MOUNT)" = refused ] || { why="ext2 on the ro disk was writable"; return 1; }
	[ "$(sha256sum <"$D/ro.img" | cut -d' ' -f1)" = "$(cat "$W/ro.before")" ] ||
		{ why="the ro image changed"; return 1; }
}

# Discard punches holes in the image: 16 MiB of a fully written 32 MiB image.
case_virtio_blk_discard() {
	rm -f "$D"/*
	pat disc $((32 * MiB)) >"$D/disc.img"
	h0=$(region_sha "$D/disc.img" 0 $((4 * MiB)))
	h2=$(region_sha "$D/disc.img" $((20 * MiB)) $((12 * MiB)))
	du0=$(du -k "$D/disc.img" | cut -f1)
	run_vmm virtio-blk-discard none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 \
		$TR --disk "$D/disc.img" -p "$Q lkvmtest=blk-discard"
	expect_marker && expect_status 0 || return 1
	n=$(value DISCARD_MAX)
	[ -n "$n" ] && [ "$n" -gt 0 ] || { why="the guest's vda has no discard (discard_max_bytes=$n)"; return 1; }
	[ "$(value BLKDISCARD)" = ok ] || { why="blkdiscard in the guest: $(value BLKDISCARD)"; return 1; }
	zero=$(head -c $((16 * MiB)) /dev/zero | sha)
	[ "$(value DISCARDED_SHA)" = "$zero" ] || { why="the guest reads non-zero data from the discarded range"; return 1; }
	[ "$(region_sha "$D/disc.img" $((4 * MiB)) $((16 * MiB)))" = "$zero" ] ||
		{ why="the discarded range of the image is not zero"; return 1; }
	[ "$(region_sha "$D/disc.img" 0 $((4 * MiB)))" = "$h0" ] &&
		[ "$(region_sha "$D/disc.img" $((20 * MiB)) $((12 * MiB)))" = "$h2" ] ||
		{ why="data outside the discarded range changed"; return 1; }
	[ "$(fsize "$D/disc.img")" = $((32 * MiB)) ] || { why="the image size changed"; return 1; }
	du1=$(du -k "$D/disc.img" | cut -f1)
	echo "E2E-INFO virtio-blk-discard: image used ${du0} KiB before, ${du1} KiB after"
	[ $((du0 - du1)) -ge $((12 * 1024)) ] || { why="image used ${du0} KiB before and ${du1} KiB after: no holes punched"; return 1; }
}

# While the guest holds its disk (lkvmtest=hold), a second lkvm on the same
# image, read-write or ,ro, must fail with status 1 naming the image; after
# the first exits, the image is free again.
feed_lock() {
	i=0
	while ! grep -q LKVM-L2-HOLDING "$OUT" 2>/dev/null; do
		[ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ] || return 0
		i=$((i + 1))
		sleep 0.5
	done
	for mode in rw ro; do
		opt=
		[ $mode = rw ] || opt=,ro
		timeout -k 5 60 "$VMM" run -k $K -i $IV -m 128 -c 1 $TR --disk "$D/lock.img$opt" \
			-p lkvmtest=marker </dev/null >"$W/lock2-$mode.out" 2>"$W/lock2-$mode.err"
		echo $? >"$W/lock2-$mode.rc"
	done
	printf 'release\n'
	while [ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ]; do
		i=$((i + 1))
		sleep 0.5
	done
}

case_virtio_blk_lock() {
	rm -f "$D"/* "$W"/lock2-*
	truncate -s 16M "$D/lock.img"
	run_vmm virtio-blk-lock feed_lock "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 $TR \
		--disk "$D/lock.img" -p "$Q lkvmtest=hold"
	for mode in rw ro; do
		[ -s "$W/lock2-$mode.err" ] && show "virtio-blk-lock second-$mode stderr" <"$W/lock2-$mode.err"
	done
	expect_marker &&
		expect_line '^LKVM-L2-HOLDING' "the first guest never got to hold its disk" &&
		expect_line '^LKVM-L2-RELEASED' "the first guest was never released" &&
		expect_status 0 || return 1
	for mode in rw ro; do
		rc=$(cat "$W/lock2-$mode.rc" 2>/dev/null)
		[ "$rc" = 1 ] || { why="the second lkvm ($mode) exited ${rc:-?}, expected 1"; return 1; }
		grep -q "$D/lock.img" "$W/lock2-$mode.err" ||
			{ why="the second lkvm's ($mode) error does not name the image"; return 1; }
		grep -qi 'lock' "$W/lock2-$mode.err" ||
			{ why="the second lkvm's ($mode) error does not mention the lock"; return 1; }
		! grep -q LKVM-L2-INIT-OK "$W/lock2-$mode.out" || { why="the second guest ($mode) booted"; return 1; }
	done
	# Released: a VM that opens the image and ends at once (the stand-in
	# kernel's triple fault) runs fine now. (Default transport: the
	# stand-in reads the last character of its command line, where the
	# mmio transport appends virtio_mmio.device=.)
	timeout -k 5 30 "$VMM" run -k /l2/smoke.bzImage -m 64 -c 1 --disk "$D/lock.img" -p smoke=t \
		</dev/null >"$W/lock3.out" 2>"$W/lock3.err"
	rc=$?
	[ "$rc" = 0 ] && grep -q TRIPLE "$W/lock3.out" ||
		{ why="after the first lkvm exited, a new one on the image exited $rc: $(head -n 2 "$W/lock3.err")"; return 1; }
}

# blk_transport CASE TRANSPORT: one disk over another transport, written
# and read back by the guest, checked by L1; the guest's device sits where
# the transport puts it and negotiated VERSION_1 or not.
blk_transport() {
	rm -f "$D"/*
	truncate -s 16M "$D/t.img"
	run_vmm "$1" none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 --virtio-transport "$2" \
		--disk "$D/t.img,serial=$2" -p "$Q lkvmtest=blk-rw"
	expect_marker && expect_status 0 || return 1
	check_rw vda "$D/t.img" "$2" || return 1
	p=$(value DISK_vda_DEVPATH)
	case "$2" in
	pci*) case "$p" in */pci0000:*) ;; *) why="vda is not a PCI device: $p"; return 1 ;; esac ;;
	mmio*) case "$p" in */pci0000:*|'') why="vda is not a virtio-mmio platform device: $p"; return 1 ;; esac ;;
	esac
	case "$2" in *-legacy) v1=0 ;; *) v1=1 ;; esac
	[ "$(feature_bit vda 32)" = $v1 ] ||
		{ why="VIRTIO_F_VERSION_1 is '$(feature_bit vda 32)' over $2, expected $v1"; return 1; }
}
case_virtio_blk_pci_legacy() { blk_transport virtio-blk-pci-legacy pci-legacy; }
case_virtio_blk_mmio() { blk_transport virtio-blk-mmio mmio; }
case_virtio_blk_mmio_legacy() { blk_transport virtio-blk-mmio-legacy mmio-legacy; }

# -p pci=nomsi: the guest falls back to INTx (IO-APIC lines) and the disk
# still works.
case_virtio_pci_intx() {
	rm -f "$D"/*
	truncate -s 16M "$D/x.img"
	run_vmm virtio-pci-intx none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 \
		--disk "$D/x.img,serial=intx" -p "$Q pci=nomsi lkvmtest=blk-rw"
	expect_marker && expect_status 0 || return 1
	check_rw vda "$D/x.img" intx || return 1
	grep '^IRQ: ' "$TXT" >"$W/intx.irqs"
	grep -q 'IO-APIC.*virtio' "$W/intx.irqs" || { why="no IO-APIC virtio interrupt: $(tr '\n' ' ' <"$W/intx.irqs")"; return 1; }
	! grep -q MSI "$W/intx.irqs" || { why="MSI in use despite pci=nomsi"; return 1; }
}

# One guest, four disks: each aio backend on an image file, and O_DIRECT on
# a host block device (brd: tmpfs has no O_DIRECT).
boot_blk_aio() {
	rm -f "$D"/*
	truncate -s 16M "$D/io_uring.img" "$D/libaio.img" "$D/sync.img"
	if [ ! -b /dev/ram0 ]; then
		insmod /modules/brd.ko rd_nr=1 rd_size=$((256 * 1024)) max_part=0 ||
			echo "E2E-INFO insmod brd failed"
	fi
	dd if=/dev/zero of=/dev/ram0 bs=$MiB count=16 oflag=direct 2>/dev/null
	run_vmm virtio-blk-aio none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 $TR \
		--disk "$D/io_uring.img,aio=io_uring,serial=io_uring" \
		--disk "$D/libaio.img,aio=libaio,serial=libaio" \
		--disk "$D/sync.img,aio=sync,serial=sync" \
		--disk "/dev/ram0,direct,serial=direct" \
		-p "$Q lkvmtest=blk-rw"
}
blk_aio() {
	once virtio-blk-aio boot_blk_aio
	expect_marker && expect_status 0 || return 1
	check_rw "$1" "$2" "$3" $4
}
case_virtio_blk_aio_io_uring() { blk_aio vda "$D/io_uring.img" io_uring; }
case_virtio_blk_aio_libaio() { blk_aio vdb "$D/libaio.img" libaio; }
case_virtio_blk_aio_sync() { blk_aio vdc "$D/sync.img" sync; }
case_virtio_blk_direct_bdev() { blk_aio vdd /dev/ram0 direct direct; }

# --console virtio: a line written to hvc0 by the guest reaches stdout, and
# a command piped into lkvm's stdin reaches a shell reading hvc0.
feed_hvc() {
	i=0
	while ! grep -q LKVM-L2-HVC-READY "$OUT" 2>/dev/null; do
		[ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ] || return 0
		i=$((i + 1))
		sleep 0.5
	done
	sleep 1
	printf 'echo MAGIC-$((6*7))-$(tty)\n'
	sleep 1
	printf 'exit\n'
	while [ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ]; do
		i=$((i + 1))
		sleep 0.5
	done
}
boot_console_rng() {
	run_vmm virtio-console-rng feed_hvc "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 \
		$TR --console virtio --rng -p "$Q lkvmtest=rng,hvc"
}
case_virtio_console() {
	once virtio-console-rng boot_console_rng
	# lkvm passes "console=ttyS0 console=hvc0" so that a kernel whose
	# virtio_console is a module (Debian's) still gives init a console.
	! grep -q 'unable to open an initial console' "$TXT" ||
		{ why="the guest kernel had no initial console (console=hvc0 before virtio_console was loaded)"; return 1; }
	expect_marker || return 1
	! grep -q LKVM-L2-NO-HVC0 "$TXT" || { why="no /dev/hvc0 in the guest"; return 1; }
	expect_line 'LKVM-L2-HVC-HELLO' "a line the guest wrote to hvc0 never reached stdout" &&
		expect_line 'MAGIC-42-/dev/hvc0' "MAGIC-42 never came back from the shell on hvc0" &&
		expect_line '^LKVM-L2-HVC-DONE' "the shell on hvc0 did not end on 'exit'" &&
		expect_status 0
}
case_virtio_rng() {
	once virtio-console-rng boot_console_rng
	expect_marker || return 1
	case "$(value RNG_CURRENT)" in
	virtio_rng*) ;;
	*) why="rng_current is '$(value RNG_CURRENT)' (available: '$(value RNG_AVAILABLE)')"; return 1 ;;
	esac
	[ "$(value RNG_BYTES)" = 64 ] || { why="64 bytes asked from /dev/hwrng, got '$(value RNG_BYTES)'"; return 1; }
	[ "$(value RNG_BIG)" = 16384 ] || { why="16 KiB asked from /dev/hwrng, got '$(value RNG_BIG)'"; return 1; }
	a=$(value RNG_SHA1) b=$(value RNG_SHA2) z=$(value RNG_ZERO)
	[ -n "$a" ] && [ "$a" != "$b" ] && [ "$a" != "$z" ] && [ "$b" != "$z" ] ||
		{ why="/dev/hwrng gave zeros or the same 64 bytes twice"; return 1; }
	expect_status 0
}

# --- driver ------------------------------------------------------------------

# A heartbeat tells the host that L1 is alive while a case is quiet.
(while :; do sleep 30; echo "E2E-L1-HEARTBEAT uptime=$(cut -d' ' -f1 /proc/uptime)"; done) &
hb=$!

set -- $E2E_CASES
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
