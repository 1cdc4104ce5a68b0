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

. /l1-lib.sh

# --- the cases -------------------------------------------------------------

case_boot_marker() {
	run_vmm boot-marker none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p lkvmtest=marker
	expect_marker && expect_status 0
}

# --boot-trace on a real boot: every phase and milestone, in order, with
# times inside the run; the guest's markers; --until-marker ends the VM
# (status 0) while the guest sleeps. The trace's checks: l1-lib.sh.
case_boot_trace() {
	dd if=/dev/zero of="$D/trace.img" bs=1M count=8 2>/dev/null
	rm -f "$W/trace.json"
	run_vmm boot-trace none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 2 -d "$D/trace.img" \
		--boot-trace "$W/trace.json" --until-marker 9 -p lkvmtest=bootmark
	rm -f "$D/trace.img"
	expect_marker && expect_line '^BOOTMARK=7' "the guest never wrote its first marker" &&
		expect_status 0 || return 1
	! grep -q '^BOOTMARK=still-running' "$TXT" ||
		{ why="--until-marker 9 did not stop the VM"; return 1; }
	[ "$CS" -lt 5000 ] || { why="took ${SECS}s: --until-marker 9 did not stop the VM"; return 1; }
	trace_check "$W/trace.json" $((CS * 10000)) @vmm "i:first console byte" \
		"i:kernel banner" "i:init started" "i:virtio-blk0 DRIVER_OK" \
		"i:virtio-blk0 first notification" "i:marker 7" "i:marker 9" "i:stop: guest power-off" \
		"X:stop vCPUs" "X:tear down" "i:exit" || return 1
	grep -q '"name":"vcpu1 first KVM_RUN"' "$W/trace.json" ||
		{ why="no first KVM_RUN of vCPU 1"; return 1; }
	grep -q '"name":"exits","cat":"exits","ph":"C".*"args":{.*"IO":[1-9]' "$W/trace.json" ||
		{ why="no exit counters with port I/O exits"; return 1; }
	# The guest learns the TSC frequency from KVM (kvm-clock) instead of
	# timing it against the PIT, and skips the delay-loop calibration.
	grep -q 'Calibrating delay loop (skipped)' "$TXT" &&
		! grep -q -e 'Fast TSC calibration' -e 'Refined TSC clocksource calibration' "$TXT" ||
		{ why="the guest calibrated its TSC or delay loop: $(grep -m1 -e 'Calibrating' -e 'TSC calibration' "$TXT")"; return 1; }
	# Console output: the LSR polls exit, the THR writes are coalesced.
	grep -q '"name":"vcpu[01] busiest exit sites".*"pio 0x3fd r":[1-9]' "$W/trace.json" ||
		{ why="the busiest exit sites do not include the UART's status register"; return 1; }
	grep -q '"name":"exits","cat":"exits","ph":"C".*"args":{.*"coalesced":[1-9]' "$W/trace.json" ||
		{ why="no UART write was coalesced"; return 1; }
	# The summary table, for the log.
	run_vmm boot-trace-summary none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -n none \
		--boot-trace - -p "quiet lkvmtest=marker"
	expect_status 0 || return 1
	sed 's/^/  [boot-trace summary] /' "$ERR"
	grep -q '^  parse options  *[0-9.]*  *[0-9.]*$' "$ERR" &&
		grep -q '^  exits vcpu0: "IO":[0-9]' "$ERR" ||
		{ why="--boot-trace - printed no summary table"; return 1; }
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

# --hugetlbfs: guest RAM from a hugetlbfs mount, every page reserved at
# start; a directory that is not one, or too few free pages, is one line on
# stderr and status 1 (no fall-back to ordinary memory).
hugetlbfs_err() {
	expect_status 1 || return 1
	n=$(grep -c '' "$ERR")
	[ "$n" = 1 ] || { why="$n lines on stderr, expected exactly 1"; return 1; }
	grep -q -- "$1" "$ERR" || { why="stderr does not say '$1'"; return 1; }
}
case_hugetlbfs() {
	H=/tmp/hugepages
	mkdir -p $H
	grep -q " $H hugetlbfs " /proc/mounts || mount -t hugetlbfs none $H ||
		{ why="L1 cannot mount a hugetlbfs"; return 1; }
	echo 0 >/proc/sys/vm/nr_hugepages
	run_vmm hugetlbfs-not-mount none 30 run -k $K -i $I -m 128 -c 1 --hugetlbfs /tmp -p lkvmtest=marker
	hugetlbfs_err '^lkvm: error: --hugetlbfs /tmp is not a hugetlbfs mount' || return 1
	run_vmm hugetlbfs-too-few none 30 run -k $K -i $I -m 128 -c 1 --hugetlbfs $H -p lkvmtest=marker
	hugetlbfs_err 'needs 64 huge pages of 2 MiB, 0 free' || return 1
	echo 64 >/proc/sys/vm/nr_hugepages
	[ "$(cat /proc/sys/vm/nr_hugepages)" = 64 ] || { why="L1 could not set aside 64 huge pages"; return 1; }
	run_vmm hugetlbfs none "$E2E_TIMEOUT" run -k $K -i $I -m 128 -c 1 --hugetlbfs $H -p lkvmtest=info
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	echo 0 >/proc/sys/vm/nr_hugepages
	expect_marker && expect_status 0 || return 1
	[ "$free" = 64 ] || { why="$free of 64 huge pages free after lkvm exited"; return 1; }
	ls $H | grep -q . && { why="lkvm left a file in $H"; return 1; }
	return 0
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
	# The local APIC's TSC-deadline timer (CPUID.01H:ECX[24], which KVM
	# emulates but does not list): the guest times with it, not the PIT.
	[ "$(value TSC_DEADLINE)" = 1 ] && [ "$(value CLOCKEVENT)" = lapic-deadline ] ||
		{ why="the guest's clock event device is '$(value CLOCKEVENT)' (tsc_deadline_timer in cpuinfo: $(value TSC_DEADLINE)), expected lapic-deadline"; return 1; }
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
# KVM_EXIT_SHUTDOWN must end lkvm with status 0. (The stand-in ignores its
# initrd; without a disk or an initrd lkvm would boot its 9p root.)
case_triple_fault_exit0() {
	run_vmm triple-fault-exit0 none 60 run -k /l2/smoke.bzImage -i $I -m 64 -c 1 --debug -p smoke=t
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
	run_vmm internal-error none 60 run -k /l2/smoke.bzImage -i $I -m 64 -c 1 -p smoke=x
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

# Without the pvpanic driver (this initramfs has no modules) lkvm cannot
# tell a panic from a reboot: panic=-1 resets at once, status 0.
case_panic_exit() {
	run_vmm panic-exit none "$E2E_TIMEOUT" run -k $K -i $I -m 256 -c 1 -p "panic=-1 lkvmtest=panic"
	expect_marker &&
		expect_line '^LKVM-L2-PANICKING' "the guest never reached its panic" &&
		expect_line 'Kernel panic' "no 'Kernel panic' message from the guest" &&
		expect_status 0 || return 1
	! grep -q 'guest kernel panicked' "$ERR" ||
		{ why="lkvm reported a panic without a pvpanic driver in the guest"; return 1; }
}

# pvpanic_bound: the guest's pvpanic-mmio driver bound lkvm's ACPI device
# (QEMU0001) and read the events lkvm offers: PANICKED and CRASH_LOADED.
pvpanic_bound() {
	[ "$(value PVPANIC_DEV)" = QEMU0001:00 ] ||
		{ why="the guest's pvpanic-mmio driver did not bind QEMU0001:00 (bound: '$(value PVPANIC_DEV)')"; return 1; }
	[ "$(value PVPANIC_CAPABILITY)" = 3 ] ||
		{ why="the pvpanic driver read capability '$(value PVPANIC_CAPABILITY)', expected 3 (PANICKED|CRASH_LOADED)"; return 1; }
}

# With the driver (Debian's pvpanic-mmio, loaded from the virtio image's
# modules), a panic reaches lkvm before panic=1 reboots: one line
# "lkvm: guest kernel panicked" and status 3, over any transport.
pvpanic_exit() {
	run_vmm "$1" none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 $2 -p "$Q lkvmtest=pvpanic,panic"
	expect_marker &&
		expect_line '^LKVM-L2-PANICKING' "the guest never reached its panic" &&
		expect_line 'Kernel panic' "no 'Kernel panic' message from the guest" &&
		expect_status 3 && pvpanic_bound || return 1
	n=$(tr -d '\r' <"$ERR" | grep -c '^lkvm: guest kernel panicked$')
	[ "$n" = 1 ] || { why="$n 'lkvm: guest kernel panicked' lines on stderr, expected 1"; return 1; }
}
case_pvpanic_exit() { pvpanic_exit pvpanic-exit ""; }
case_pvpanic_exit_mmio() { pvpanic_exit pvpanic-exit-mmio "--virtio-transport mmio"; }

# The driver loaded and a guest that reboots: still status 0, no report.
case_pvpanic_reboot_exit0() {
	run_vmm pvpanic-reboot-exit0 none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 -p "$Q lkvmtest=pvpanic"
	expect_marker &&
		expect_line '^LKVM-L2-REBOOTING' "the guest never reached reboot -f" &&
		expect_status 0 && pvpanic_bound || return 1
	! grep -q 'guest kernel panicked' "$ERR" ||
		{ why="lkvm reported a panic for a reboot"; return 1; }
}

# -d IMAGE with no root= in -p: lkvm adds root=/dev/vda rw, which the
# guest's initramfs (lkvmtest=rootmount, as a distribution's would)
# mounts read-write: it reads the marker L1 put there and writes a file
# that L1 then finds in the image.
case_disk_root_default() {
	rm -f "$D"/*
	truncate -s 16M "$D/rootfs.img"
	mke2fs -F "$D/rootfs.img" >/dev/null 2>&1
	echo "rootfs-$TOK" >"$W/rootfs-marker"
	debugfs -w -R "write $W/rootfs-marker marker" "$D/rootfs.img" >/dev/null 2>&1
	run_vmm disk-root-default none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 \
		--disk "$D/rootfs.img" -p "$Q lkvmtest=info,rootmount"
	expect_marker && expect_line '^CMDLINE=' "no CMDLINE= line" &&
		expect_status 0 || return 1
	case " $(value CMDLINE) " in
	*" root=/dev/vda rw "*) ;;
	*) why="no root=/dev/vda rw in the guest's /proc/cmdline: $(value CMDLINE)"; return 1 ;;
	esac
	[ "$(value ROOT_ARG)" = /dev/vda ] && [ "$(value ROOT_MODE)" = rw ] ||
		{ why="the guest's root= is '$(value ROOT_ARG)' ($(value ROOT_MODE)), expected /dev/vda (rw)"; return 1; }
	[ "$(value ROOT_MARKER)" = "rootfs-$TOK" ] ||
		{ why="the guest read '$(value ROOT_MARKER)' from its root's /marker $(value ROOT_MOUNT)"; return 1; }
	[ "$(value ROOT_WRITE)" = ok ] || { why="the guest could not write to its root"; return 1; }
	got=$(debugfs -R 'cat /from-guest' "$D/rootfs.img" 2>/dev/null)
	[ "$got" = "written by the guest" ] || { why="debugfs: /from-guest holds '$got'"; return 1; }
	e2fsck -fn "$D/rootfs.img" >"$W/rootfs-e2fsck.log" 2>&1 ||
		{ why="e2fsck -fn on the root image failed: $(tail -n 3 "$W/rootfs-e2fsck.log" | tr '\n' ' ')"; return 1; }
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
# of tests/e2e/x86/l2-init.sh.

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
	wait_for_output LKVM-L2-HOLDING || return 0
	for mode in rw ro; do
		opt=
		[ $mode = rw ] || opt=,ro
		timeout -k 5 60 "$VMM" run -k $K -i $IV -m 128 -c 1 $TR --disk "$D/lock.img$opt" \
			-p lkvmtest=marker </dev/null >"$W/lock2-$mode.out" 2>"$W/lock2-$mode.err"
		echo $? >"$W/lock2-$mode.rc"
	done
	printf 'release\n'
	wait_vmm_exit
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
# ensure_brd: L1's RAM block device /dev/ram0 (256 MiB).
ensure_brd() {
	[ -b /dev/ram0 ] && return 0
	insmod /modules/brd.ko rd_nr=1 rd_size=$((256 * 1024)) max_part=0 ||
		echo "E2E-INFO insmod brd failed"
}

boot_blk_aio() {
	rm -f "$D"/*
	truncate -s 16M "$D/io_uring.img" "$D/libaio.img" "$D/sync.img"
	ensure_brd
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
feed_hvc() { feed_command LKVM-L2-HVC-READY 'echo MAGIC-$((6*7))-$(tty)'; }
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

# --- virtio-net cases ------------------------------------------------------------
#
# The guest's side is lkvmtest=net (net_action in l2-lib.sh): eth0
# (virtio_net) configured by DHCP or by hand, a ping to L1's end, an HTTP
# GET of 1 MiB from L1's busybox httpd (port 8080) and an upload of 1 MiB
# to L1's nc (port 8081), checked by sha256 on the receiving side; the tap
# cases add bulk transfers both ways (NET_BIG: httpd and wget on both
# sides, sha256 on the receiving side), the MTU and the per-queue
# counters.  L1's servers, feeders and checks (net_serve, feed_net_user,
# feed_net_tap, net_check, net_check_big, ...) are in l1-lib.sh, shared
# with the riscv64 suite.
NET_BYTES=$MiB
# Bulk TCP each way: net-tap (tap made by L1, MTU 9000) and net-tap-mq
# (both queue pairs). Under nested TCG the transfer runs at a few MB/s.
NET_BIG=$((64 * MiB))
NET_MQ_BIG=$((16 * MiB))
NET_TIMEOUT=$((E2E_TIMEOUT * 2))
# The name L1's DNS server answers in net-user (net_dns).
NET_DNS_NAME=l1-e2e.lkvm.test
net_bigping= net_big=

# net_tr DEFAULT: a net case's --virtio-transport: run.sh --transport T,
# else DEFAULT (each net case has its own, so that `make check` moves
# traffic over all three: user on pci, tap on mmio, mq on pci-legacy).
net_tr() { echo "${E2E_TRANSPORT:-$1}"; }

# net_dns: what a host's resolver looks like to slirp: L1's
# /etc/resolv.conf names 127.0.0.53 (as systemd-resolved's does), where
# dnsanswer (tests/e2e/tools/dnsanswer.c) answers NET_DNS_NAME with
# net_dns_addr (made of the run's token, so no other answer can match) and
# logs every query to $W/net-dns.log. Nothing listens on 127.0.0.1:53,
# where slirp would fall back without a resolv.conf. Checks the server
# with L1's nslookup; net_dns_seen is the answers so far.
net_dns() {
	net_dns_addr=198.18.$((0x$(echo "$TOK" | cut -c1-2))).$((0x$(echo "$TOK" | cut -c3-4)))
	echo "nameserver 127.0.0.53" >/etc/resolv.conf
	dnsanswer 127.0.0.53 53 "$NET_DNS_NAME" "$net_dns_addr" >"$W/net-dns.log" 2>&1 &
	net_dns=$!
	i=0
	while [ "$(nslookup "$NET_DNS_NAME" 127.0.0.53 2>/dev/null | awk '/^Name:/ { n = 1 } n && /^Address:/ { print $2 }')" != "$net_dns_addr" ]; do
		i=$((i + 1))
		[ $i -lt 20 ] || { echo "E2E-INFO L1's dnsanswer does not answer on 127.0.0.53: $(head -c 300 "$W/net-dns.log")"; return 1; }
		sleep 0.5
	done
	net_dns_seen=$(grep -c ' type 1 from .*: answered$' "$W/net-dns.log")
}

# -n mode=user: slirp's DHCP gives eth0 10.0.2.15/24 with router 10.0.2.2
# and DNS 10.0.2.3; 10.0.2.2 answers pings and reaches L1's loopback
# (httpd listens on 127.0.0.1 only); 10.0.2.3 forwards the guest's DNS
# query to the server in L1's resolv.conf; hostfwd= takes L1's
# 127.0.0.1:2222 to the guest's port 7000, where the guest serves 1 MiB
# that L1 fetches (feed_net_user).
case_net_user() {
	rm -f "$W"/net-fwd.*
	ntr=$(net_tr pci)
	net_serve 127.0.0.1 || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	net_dns || { why="L1's DNS server never answered (harness)"; net_stop; return 1; }
	run_vmm net-user feed_net_user "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 --virtio-transport "$ntr" \
		-n mode=user,hostfwd=tcp:127.0.0.1:2222-:7000 \
		-p "$Q lkvmtest=net lkvmnet=dhcp lkvmnetsrv=10.0.2.2 lkvmnetwait=1 lkvmnetfwd=7000 lkvmnetdns=$NET_DNS_NAME"
	net_stop
	show "net-user L1 dns" <"$W/net-dns.log"
	expect_marker &&
		expect_line '^LKVM-L2-NET-WAITING' "the guest never got to serve its hostfwd port" || return 1
	net_check_slirp_lease || return 1
	net_check net-user 10.0.2.2 "$ntr" || return 1
	n=$(stat -c %s "$W/net-fwd.bin" 2>/dev/null)
	[ "$n" = $NET_BYTES ] && [ "$(sha <"$W/net-fwd.bin")" = "$(pat net-fwd $NET_BYTES | sha)" ] ||
		{ why="through hostfwd 127.0.0.1:2222 L1 got ${n:-no} bytes of the guest's 1 MiB, or different ones (nc status $(cat "$W/net-fwd.rc" 2>/dev/null): $(head -c 200 "$W/net-fwd.err" 2>/dev/null))"; return 1; }
	# DNS: the guest asked the lease's server (10.0.2.3), slirp asked
	# L1's resolver, which saw the query and answered with this run's
	# address.
	[ "$(value NET_DNS_SERVER)" = 10.0.2.3 ] && [ "$(value NET_DNS_ADDR)" = "$net_dns_addr" ] ||
		{ why="the guest's nslookup $NET_DNS_NAME asked '$(value NET_DNS_SERVER)' and got '$(value NET_DNS_ADDR)', expected 10.0.2.3 and $net_dns_addr"; return 1; }
	n=$(grep -c " type 1 from .*: answered$" "$W/net-dns.log")
	[ "$n" -gt "$net_dns_seen" ] || { why="L1's DNS server never saw the guest's query (slirp did not forward it to L1's resolv.conf server)"; return 1; }
}

# -n mode=tap,tapif=tap0 on a tap L1 made with MTU 9000 and addressed
# 192.168.33.1/24: lkvm tells the guest the tap's MTU (VIRTIO_NET_F_MTU),
# so eth0 has MTU 9000 and 9000-byte pings go both ways unfragmented; the
# guest (192.168.33.2/24, set by hand) and L1 ping each other, then the
# small transfers and 64 MiB each way over the tap. By default over
# virtio-mmio.
case_net_tap() {
	rm -f "$W"/net-tap-ping.* "$W"/net-tap-bigping.* "$W"/net-bigput.*
	ntr=$(net_tr mmio)
	net_tun || return 1
	ip link show tap0 >/dev/null 2>&1 || tunctl -t tap0 >/dev/null || { why="tunctl -t tap0 failed in L1"; return 1; }
	ip addr flush dev tap0
	ip link set tap0 mtu 9000 && ip addr add 192.168.33.1/24 dev tap0 && ip link set tap0 up ||
		{ why="cannot configure tap0 in L1"; return 1; }
	net_serve 192.168.33.1 $NET_BIG || { why="L1's httpd never answered on 192.168.33.1 (harness)"; net_stop; return 1; }
	net_guest=192.168.33.2 net_bigping=8972 net_big=$NET_BIG
	f0=$(l1_ip FragCreates) r0=$(l1_ip ReasmReqds)
	run_vmm net-tap feed_net_tap "$NET_TIMEOUT" run -k $K -i $IV -m 256 -c 1 --virtio-transport "$ntr" -n mode=tap,tapif=tap0 \
		-p "$Q lkvmtest=net lkvmnet=192.168.33.2/24 lkvmnetsrv=192.168.33.1 lkvmnetwait=1 lkvmnetbigping=$net_bigping lkvmnetbig=$net_big"
	f1=$(l1_ip FragCreates) r1=$(l1_ip ReasmReqds)
	net_stop
	net_bigping= net_big=
	for f in ping bigping; do
		[ -s "$W/net-tap-$f.out" ] && show "net-tap L1 $f" <"$W/net-tap-$f.out"
	done
	expect_marker &&
		expect_line '^LKVM-L2-NET-WAITING' "the guest never got to wait for L1's ping" || return 1
	[ "$(value NET_ADDR)" = 192.168.33.2/24 ] || { why="eth0 has '$(value NET_ADDR)'"; return 1; }
	[ "$(cat "$W/net-tap-ping.rc" 2>/dev/null)" = 0 ] ||
		{ why="L1's ping of the guest failed: $(tail -n 2 "$W/net-tap-ping.out" | tr '\n' ' ')"; return 1; }
	net_check net-tap 192.168.33.1 "$ntr" || return 1
	# MTU 9000: offered (VIRTIO_NET_F_MTU, bit 3) with the tap's value,
	# used by the guest, and 9000-byte IP packets crossed both ways whole.
	[ "$(net_bit 3)" = 1 ] && [ "$(value NET_MTU)" = 9000 ] ||
		{ why="eth0's MTU is '$(value NET_MTU)' (VIRTIO_NET_F_MTU '$(net_bit 3)') on a tap of MTU 9000"; return 1; }
	[ "$(value NET_PING_BIG)" = ok ] || { why="the guest's ping -s 8972 of L1: $(value NET_PING_BIG)"; return 1; }
	[ "$(cat "$W/net-tap-bigping.rc" 2>/dev/null)" = 0 ] ||
		{ why="L1's ping -s 8972 of the guest failed: $(tail -n 2 "$W/net-tap-bigping.out" | tr '\n' ' ')"; return 1; }
	echo "E2E-INFO net-tap: guest $(grep '^NET_IP_' "$TXT" | tr '\n' ' '); L1 FragCreates $f0->$f1 ReasmReqds $r0->$r1"
	[ "$(value NET_IP_FragCreates)" = 0 ] && [ "$(value NET_IP_ReasmReqds)" = 0 ] &&
		[ "$f1" = "$f0" ] && [ "$r1" = "$r0" ] ||
		{ why="IP fragmentation at MTU 9000: guest FragCreates $(value NET_IP_FragCreates) ReasmReqds $(value NET_IP_ReasmReqds), L1 FragCreates $f0->$f1 ReasmReqds $r0->$r1"; return 1; }
	net_check_big net-tap $NET_BIG
}

# -c 2 and -n mode=tap,script=...: lkvm makes the tap itself, multi-queue
# (one queue pair per vCPU), and runs the script, which addresses it
# (192.168.34.1/24) and brings it up; the guest's virtio_net uses both
# queue pairs (VIRTIO_NET_F_MQ): the bulk upload comes from a process on
# CPU 1 (XPS: tx queue 1), the bulk download goes to one on CPU 0 (tx
# queue 0 for its ACKs; the tap steers the replies of a flow to the queue
# it came from), and the guest's per-queue counters (ethtool statistics,
# ethstats) show every queue carrying traffic and, with MSI-X, each pair
# carrying its transfer. By default over pci-legacy.
case_net_tap_mq() {
	rm -f "$W"/net-tap-ping.* "$W/net-ifup.log" "$W"/net-bigput.*
	ntr=$(net_tr pci-legacy)
	net_tun || return 1
	net_ifup_script 192.168.34.1/24
	net_serve any $NET_MQ_BIG || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	net_guest=192.168.34.2 net_big=$NET_MQ_BIG
	run_vmm net-tap-mq feed_net_tap "$NET_TIMEOUT" run -k $K -i $IV -m 256 -c 2 --virtio-transport "$ntr" -n "mode=tap,script=$W/net-ifup" \
		-p "$Q lkvmtest=net lkvmnet=192.168.34.2/24 lkvmnetsrv=192.168.34.1 lkvmnetwait=1 lkvmnetbig=$net_big"
	net_stop
	net_big=
	[ -s "$W/net-tap-ping.out" ] && show "net-tap-mq L1 ping" <"$W/net-tap-ping.out"
	expect_marker &&
		expect_line '^LKVM-L2-NET-WAITING' "the guest never got to wait for L1's ping" || return 1
	tap=$(cat "$W/net-ifup.log" 2>/dev/null)
	case "$tap" in
	tap*) ;;
	*) why="lkvm's script ran with '$tap', expected the new tap's name"; return 1 ;;
	esac
	[ "$(value NET_QUEUES)" = 2 ] && [ "$(value NET_TXQUEUES)" = 2 ] ||
		{ why="the guest's eth0 has $(value NET_QUEUES) rx and $(value NET_TXQUEUES) tx queues with -c 2, expected 2"; return 1; }
	# Over PCI (MSI-X) each queue has its vector.
	case "$ntr" in
	pci*)
		n=$(grep -c '^IRQ: .*virtio.*-input\.[01]$' "$TXT")
		[ "$n" = 2 ] || { why="$n virtio input vectors (input.0, input.1) with -c 2, expected 2"; return 1; }
		;;
	esac
	[ "$(cat "$W/net-tap-ping.rc" 2>/dev/null)" = 0 ] ||
		{ why="L1's ping of the guest failed: $(tail -n 2 "$W/net-tap-ping.out" | tr '\n' ' ')"; return 1; }
	net_check net-tap-mq 192.168.34.1 "$ntr" && net_check_big net-tap-mq $NET_MQ_BIG || return 1
	q=
	for k in rx_queue_0_bytes rx_queue_1_bytes tx_queue_0_bytes tx_queue_1_bytes \
		rx_queue_0_packets rx_queue_1_packets tx_queue_0_packets tx_queue_1_packets; do
		v=$(value "NET_ETHS_$k")
		[ -n "$v" ] || { why="no $k in the guest's virtio_net statistics: $(grep -m1 '^NET_ETHS_' "$TXT")"; return 1; }
		q="$q $k=$v"
	done
	echo "E2E-INFO net-tap-mq: per-queue counters:$q"
	for k in rx_queue_0_packets rx_queue_1_packets tx_queue_0_packets tx_queue_1_packets; do
		[ "$(value "NET_ETHS_$k")" -gt 0 ] || { why="$k is 0: a queue carried no traffic:$q"; return 1; }
	done
	# With a vector per queue (MSI-X), each queue pair carried its own
	# transfer: the download arrived on rx queue 0 and the upload left
	# on tx queue 1 (7/8 of the bulk bytes at least; the flow's first
	# segments may go elsewhere), and the other direction of each (its
	# ACKs) used the same pair. (Over virtio-mmio one interrupt serves
	# every queue: the ACKs of the upload are handled on whichever CPU
	# takes it, and the upload follows them to that CPU's queue.)
	case "$ntr" in
	pci*)
		[ "$(value NET_ETHS_rx_queue_0_bytes)" -ge $((NET_MQ_BIG / 8 * 7)) ] &&
			[ "$(value NET_ETHS_tx_queue_1_bytes)" -ge $((NET_MQ_BIG / 8 * 7)) ] ||
			{ why="the pinned bulk transfers did not each use their queue pair:$q"; return 1; }
		for k in rx_queue_1_packets tx_queue_0_packets; do
			[ "$(value "NET_ETHS_$k")" -ge 100 ] ||
				{ why="$k is $(value "NET_ETHS_$k"): the ACKs of its queue pair's transfer went elsewhere:$q"; return 1; }
		done
		;;
	esac
}

# -c 2 -n mode=tap,script=...,vhost=on: the same as net-tap-mq with the
# host kernel's vhost-net moving the frames (L1 loads vhost_net): both
# queue pairs, the pings and the transfers, and L1 has a vhost worker
# thread per queue pair for lkvm's process while the guest runs.
# net-tap-vhost (64 MiB each way) runs over virtio-pci by default (vhost
# signals the MSI-X irqfds itself; over mmio lkvm forwards),
# net-tap-vhost-legacy (16 MiB) always over a legacy virtio-pci device,
# whose driver negotiates VIRTIO_F_ANY_LAYOUT (the bit vhost reads as
# VHOST_NET_F_VIRTIO_NET_HDR).
feed_net_tap_vhost() {
	wait_for_output LKVM-L2-NET-WAITING || return 0
	pid=$(cat "$PIDF" 2>/dev/null)
	n=0
	# Linux 6.1: kernel threads named vhost-PID (user workers in the
	# process from 6.4 on: those are counted too).
	for c in /proc/[0-9]*/comm /proc/"$pid"/task/[0-9]*/comm; do
		case "$(cat "$c" 2>/dev/null)" in "vhost-$pid"*) n=$((n + 1)) ;; esac
	done
	echo "$n" >"$W/net-vhost.threads"
	feed_net_tap
}
# net_tap_vhost NAME TRANSPORT BYTES
net_tap_vhost() {
	rm -f "$W"/net-tap-ping.* "$W/net-ifup.log" "$W/net-vhost.threads" "$W"/net-bigput.*
	net_tun || return 1
	if [ ! -c /dev/vhost-net ]; then
		for m in $(cat /modules/vhost_net.order); do
			grep -q "^${m%.ko} " /proc/modules 2>/dev/null || insmod "/modules/$m" ||
				{ why="insmod $m failed in L1"; return 1; }
		done
	fi
	wait_dev_l1 /dev/vhost-net || { why="no /dev/vhost-net in L1"; return 1; }
	net_ifup_script 192.168.35.1/24
	net_serve any "$3" || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	net_guest=192.168.35.2 net_big=$3
	run_vmm "$1" feed_net_tap_vhost "$NET_TIMEOUT" run -k $K -i $IV -m 256 -c 2 --virtio-transport "$2" \
		-n "mode=tap,script=$W/net-ifup,vhost=on" \
		-p "$Q lkvmtest=net lkvmnet=192.168.35.2/24 lkvmnetsrv=192.168.35.1 lkvmnetwait=1 lkvmnetbig=$net_big"
	net_stop
	net_big=
	[ -s "$W/net-tap-ping.out" ] && show "$1 L1 ping" <"$W/net-tap-ping.out"
	expect_marker &&
		expect_line '^LKVM-L2-NET-WAITING' "the guest never got to wait for L1's ping" || return 1
	[ "$(value NET_QUEUES)" = 2 ] && [ "$(value NET_TXQUEUES)" = 2 ] ||
		{ why="the guest's eth0 has $(value NET_QUEUES) rx and $(value NET_TXQUEUES) tx queues with -c 2, expected 2"; return 1; }
	n=$(cat "$W/net-vhost.threads" 2>/dev/null)
	[ "${n:-0}" -ge 2 ] || { why="L1 saw ${n:-no} vhost worker threads for lkvm (expected one per queue pair, 2)"; return 1; }
	[ "$(cat "$W/net-tap-ping.rc" 2>/dev/null)" = 0 ] ||
		{ why="L1's ping of the guest failed: $(tail -n 2 "$W/net-tap-ping.out" | tr '\n' ' ')"; return 1; }
	net_check "$1" 192.168.35.1 "$2" && net_check_big "$1" "$3"
}
case_net_tap_vhost() { net_tap_vhost net-tap-vhost "$(net_tr pci)" $NET_BIG; }
case_net_tap_vhost_legacy() { net_tap_vhost net-tap-vhost-legacy pci-legacy $NET_MQ_BIG; }

# No -n at all: lkvm's default card is user mode, as -n mode=user: the
# guest's own DHCP client (its own initramfs: lkvm configures nothing)
# gets slirp's lease, then the pings, 1 MiB each way and a name through
# slirp's DNS.
case_net_default() {
	ntr=$(net_tr pci)
	net_serve 127.0.0.1 || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	net_dns || { why="L1's DNS server never answered (harness)"; net_stop; return 1; }
	run_vmm net-default none "$E2E_TIMEOUT" run -k $K -i $IV -m 256 -c 1 $TR \
		-p "$Q lkvmtest=net lkvmnet=dhcp lkvmnetsrv=10.0.2.2 lkvmnetdns=$NET_DNS_NAME"
	net_stop
	expect_marker || return 1
	[ "$(value NET_DHCP)" = ok ] || { why="DHCP in the guest (no -n): $(value NET_DHCP) (NET_ETH0=$(value NET_ETH0))"; return 1; }
	[ "$(value NET_DHCP_IP)" = 10.0.2.15 ] && [ "$(value NET_DHCP_ROUTER)" = 10.0.2.2 ] &&
		[ "$(value NET_DHCP_DNS)" = 10.0.2.3 ] ||
		{ why="DHCP lease ip=$(value NET_DHCP_IP) router=$(value NET_DHCP_ROUTER) dns=$(value NET_DHCP_DNS): not slirp's"; return 1; }
	net_check net-default 10.0.2.2 "$ntr" || return 1
	[ "$(value NET_DNS_SERVER)" = 10.0.2.3 ] && [ "$(value NET_DNS_ADDR)" = "$net_dns_addr" ] ||
		{ why="the guest's nslookup $NET_DNS_NAME asked '$(value NET_DNS_SERVER)' and got '$(value NET_DNS_ADDR)', expected 10.0.2.3 and $net_dns_addr"; return 1; }
}

# --- virtio-9p cases ------------------------------------------------------------
#
# One lkvm run with three exports on a tmpfs at /tmp/9p: e2e (read-write),
# e2ero (,ro) and hostile. The guest's side is lkvmtest=9p in l2-init.sh:
# it prints NAME=ok or what went wrong for every check, and whatever it
# read while attacking as "P9-READ:" lines. L1 checks the host side.
S=/tmp/9p
P9_TIMEOUT=$((E2E_TIMEOUT * 2))

# p9_fill_rw DIR: what L1 writes into a read-write export before the boot:
# a text file, a file two directories down, and 2000 entries with
# 200-character names (more than one readdir reply at any msize).
p9_fill_rw() {
	mkdir -p "$1/hdir/sub" "$1/hmany"
	echo "written by L1 $TOK" >"$1/hostfile.txt"
	pat deep 300000 >"$1/hdir/sub/deep.bin"
	long=$(printf '%0200d' 0 | tr 0 n)
	i=0
	while [ $i -lt 2000 ]; do
		: >"$1/hmany/$long-$i"
		i=$((i + 1))
	done
}

# ro_state: names, types, sizes, modes, owners, mtimes and contents of the
# read-only export.
ro_state() {
	(cd "$S/e2ero" && find . | sort | while read -r f; do
		stat -c '%n %F %s %a %u %g %Y' "$f"
		if [ -L "$f" ]; then readlink "$f"; elif [ -f "$f" ]; then sha <"$f"; fi
	done)
}

# outside_state: what a guest escaping its exports could touch: the name of
# every file on L1's root file system and beside the exports, and the
# contents of L1's /etc/passwd, of the secrets and of the first 64 KiB of
# the ramdisk that a device node in the hostile export points at.
outside_state() {
	find / -xdev -path "$W" -prune -o -print | sort
	find "$S" -xdev \( -path "$S/e2e" -o -path "$S/hostile" -o -path "$S/mm" \) -prune -o -print | sort
	sha256sum /etc/passwd "$S/secret" /e2e-secret
	echo "ram0 $(dd if=/dev/ram0 bs=65536 count=1 iflag=direct 2>/dev/null | sha)"
}

p9_tmpfs() {
	mkdir -p "$S"
	grep -q " $S " /proc/mounts || mount -t tmpfs -o size=400m tmpfs "$S"
	rm -rf "${S:?}"/*
}

boot_9p() {
	p9_tmpfs
	mkdir -p "$S/e2e" "$S/e2ero" "$S/hostile"
	echo "L1-SECRET-BESIDE-$TOK" >"$S/secret"
	echo "L1-ROOT-SECRET-$TOK" >/e2e-secret
	p9_fill_rw "$S/e2e"
	echo "read-only content $TOK" >"$S/e2ero/file.txt"
	mkdir "$S/e2ero/emptydir" "$S/e2ero/sub"
	pat ro 50000 >"$S/e2ero/sub/data.bin"
	ln -s file.txt "$S/e2ero/link"
	ro_state >"$W/9p-ro.before"
	# Device nodes made by L1 in the hostile export: L1's ramdisk (with a
	# pattern the guest must not change) and /dev/zero.
	ensure_brd
	pat ram 65536 | dd of=/dev/ram0 bs=65536 oflag=direct conv=notrunc 2>/dev/null
	mknod "$S/hostile/hram" b $((0x$(stat -c %t /dev/ram0))) $((0x$(stat -c %T /dev/ram0)))
	mknod "$S/hostile/hzero" c 1 5
	outside_state >"$W/9p-outside.before"
	run_vmm virtio-9p none "$P9_TIMEOUT" run -k $K -i $IV -m 256 -c 2 $TR \
		--9p "$S/e2e,e2e" --9p "$S/e2ero,e2ero,ro" --9p "$S/hostile,hostile" \
		-p "$Q lkvmtest=9p lkvm9p=524288"
	outside_state >"$W/9p-outside.after"
	ro_state >"$W/9p-ro.after"
}

# p9_group PREFIX MIN: the guest printed at least MIN PREFIX* checks and
# every one of them is "=ok".
p9_group() {
	grep "^$1" "$TXT" >"$W/p9.group"
	n=$(grep -c '' "$W/p9.group")
	[ "$n" -ge "$2" ] || { why="the guest reported $n of the $2 $1* checks"; return 1; }
	bad=$(grep -v '=ok$' "$W/p9.group" | head -n 1)
	[ -z "$bad" ] || { why="guest: $bad"; return 1; }
}
# p9_run BOOT FUNCTION TAG...: the run happened, the guest finished its
# checks and mounted every TAG.
p9_run() {
	once "$1" "$2"
	shift 2
	expect_marker && expect_status 0 &&
		expect_line '^P9_END=ok' "the guest did not finish its 9p checks" || return 1
	for t in "$@"; do
		[ "$(value "P9_MOUNT_$t")" = ok ] ||
			{ why="the guest could not mount tag $t: $(value "P9_MOUNT_$t") (tags: $(value P9INFO_TAGS))"; return 1; }
	done
}
p9_main() { p9_run virtio-9p boot_9p "$@"; }
# hostfile FILE WANT WHAT: L1's copy of FILE holds WANT.
hostfile() {
	got=$(cat "$1" 2>&1)
	[ "$got" = "$2" ] || { why="host: $3: $1 holds '$got', expected '$2'"; return 1; }
}
absent() { [ ! -e "$1" ] && [ ! -L "$1" ] || { why="host: $1 still exists"; return 1; }; }

# p9_rw_host DIR: the host side of p9_rw's create/write/append/truncate/
# rename/link/chmod/mkdir checks.
check_crw() {
	R=$1
	hostfile "$R/new.txt" hello-create "create" || return 1
	want=$({ pat w 5000; printf MIDDLE; pat w 100000 | tail -c +5007; } | sha)
	[ "$(sha <"$R/w.bin")" = "$want" ] || { why="host: w.bin is not what the guest wrote"; return 1; }
	[ "$(value P9SHA_W)" = "$want" ] || { why="the guest read w.bin back wrong"; return 1; }
	hostfile "$R/w2.bin" short "O_TRUNC"
}
check_at() {
	R=$1
	[ "$(cat "$R/a.txt" | tr '\n' ' ')" = "line1 line2 line3" ] ||
		{ why="host: a.txt holds '$(cat "$R/a.txt" | tr '\n' ' ')' after the appends"; return 1; }
	[ "$(stat -c %s "$R/t.bin")" = 5000 ] || { why="host: t.bin is $(stat -c %s "$R/t.bin") bytes, expected 5000"; return 1; }
	[ "$(head -c 1234 "$R/t.bin" | sha)" = "$(pat t 1234 | sha)" ] &&
		[ "$(tail -c 3766 "$R/t.bin" | sha)" = "$(head -c 3766 /dev/zero | sha)" ] ||
		{ why="host: t.bin is not 1234 pattern bytes followed by zeros"; return 1; }
}
check_ren() {
	R=$1
	absent "$R/r1" && hostfile "$R/r2" r1 "rename" &&
		absent "$R/da/f" && hostfile "$R/db/g" x "rename across directories" &&
		absent "$R/dmv" && hostfile "$R/db/dmv2/in" y "directory rename" &&
		absent "$R/ro1" && hostfile "$R/ro2" new "rename over a file"
}
check_lnk() {
	R=$1
	a=$(stat -c '%i %h' "$R/h1") b=$(stat -c '%i %h' "$R/da/h2")
	[ "$a" = "$b" ] && [ "${a#* }" = 2 ] || { why="host: h1 ($a) and da/h2 ($b) are not one inode with 2 links"; return 1; }
	hostfile "$R/h1" "hl
more" "hard link" || return 1
	[ -L "$R/sl" ] && [ "$(readlink "$R/sl")" = target.txt ] ||
		{ why="host: sl is not a symlink to target.txt"; return 1; }
	[ -L "$R/sl2" ] && [ "$(readlink "$R/sl2")" = /abs/path/nowhere ] ||
		{ why="host: sl2 is not a symlink to /abs/path/nowhere"; return 1; }
}
check_cm() {
	R=$1
	[ "$(stat -c %a "$R/m")" = 640 ] || { why="host: m has mode $(stat -c %a "$R/m"), expected 640"; return 1; }
	[ "$(stat -c %a "$R/dm")" = 700 ] || { why="host: dm has mode $(stat -c %a "$R/dm"), expected 700"; return 1; }
	[ -d "$R/d1/d2" ] || { why="host: d1/d2 missing"; return 1; }
	absent "$R/d1/d2/d3" && absent "$R/del"
}
check_rd_host() {
	[ "$(value P9RD_HOST_COUNT)" = 2000 ] ||
		{ why="the guest lists $(value P9RD_HOST_COUNT) entries of the 2000 L1 made"; return 1; }
	[ "$(value P9RD_HOST_SHA)" = "$(ls "$1/hmany" | sort | sha)" ] ||
		{ why="the guest's listing of the 2000 entries L1 made differs from L1's"; return 1; }
}
check_host_files() {
	[ "$(value P9HOST_TXT)" = "written by L1 $TOK" ] ||
		{ why="the guest read hostfile.txt as '$(value P9HOST_TXT)'"; return 1; }
	[ "$(value P9HOST_DEEP_SHA)" = "$(pat deep 300000 | sha)" ] ||
		{ why="the guest read hdir/sub/deep.bin wrong"; return 1; }
}

case_9p_create_read_write() { p9_main e2e && p9_group P9_CRW_ 4 && check_crw "$S/e2e"; }
case_9p_append_truncate() { p9_main e2e && p9_group P9_AT_ 6 && check_at "$S/e2e"; }
case_9p_rename() { p9_main e2e && p9_group P9_REN_ 8 && check_ren "$S/e2e"; }
case_9p_links() { p9_main e2e && p9_group P9_LNK_ 10 && check_lnk "$S/e2e"; }
case_9p_chmod_mkdir() { p9_main e2e && p9_group P9_CM_ 10 && check_cm "$S/e2e"; }

# 2000 entries with 200-character names made by L1 (several readdir
# replies) are all listed by the guest, and the 200 files the guest made
# are all on the host and in its own listings.
case_9p_readdir_2000() {
	p9_main e2e && check_rd_host "$S/e2e" || return 1
	for v in P9RD_GUEST_COUNT P9RD_GUEST_UNIQUE P9RD_GUEST_FIND; do
		[ "$(value $v)" = 200 ] || { why="$v=$(value $v) for the 200 files the guest made"; return 1; }
	done
	n=$(ls "$S/e2e/many" | wc -l)
	[ "$n" = 200 ] || { why="host: the guest's directory has $n entries, expected 200"; return 1; }
}

case_9p_big_file() {
	p9_main e2e || return 1
	want=$(pat big64 $((64 * MiB)) | sha)
	[ "$(value P9BIG_SIZE)" = $((64 * MiB)) ] && [ "$(value P9BIG_SHA)" = "$want" ] ||
		{ why="the guest read its 64 MiB file back as $(value P9BIG_SIZE) bytes, sha $(value P9BIG_SHA)"; return 1; }
	[ "$(fsize "$S/e2e/big64.bin")" = $((64 * MiB)) ] && [ "$(sha <"$S/e2e/big64.bin")" = "$want" ] ||
		{ why="host: big64.bin ($(fsize "$S/e2e/big64.bin") bytes) is not what the guest wrote"; return 1; }
}

case_9p_host_files() { p9_main e2e && check_host_files; }

# ,ro: every modifying request fails with EROFS in the guest, reading works,
# and the export is unchanged (names, modes, owners, mtimes, contents).
case_9p_ro_export() {
	p9_main e2ero && p9_group P9_RO_ 16 || return 1
	[ "$(value P9RO_READ_TXT)" = "read-only content $TOK" ] &&
		[ "$(value P9RO_READ_SHA)" = "$(pat ro 50000 | sha)" ] ||
		{ why="the guest could not read the read-only export right"; return 1; }
	cmp -s "$W/9p-ro.before" "$W/9p-ro.after" ||
		{ why="the read-only export changed: $(diff "$W/9p-ro.before" "$W/9p-ro.after" | grep '^[-+][^-+]' | head -n 4 | tr '\n' ' ')"; return 1; }
}

# never_shown: none of L1's secrets appears in what the guest printed.
never_shown() {
	for s in "$PASSWD_MARKER" "L1-SECRET-BESIDE-$TOK" "L1-ROOT-SECRET-$TOK" e2e-marker:x:4242; do
		! grep -q -- "$s" "$TXT" || { why="the guest printed L1's secret '$s': $(grep -m1 -- "$s" "$TXT")"; return 1; }
	done
}

# ln -s / x; cat x/etc/passwd: the symlink is stored as such on the host
# and the guest resolves it in its own namespace.
case_9p_hostile_symlink() {
	p9_main hostile && never_shown || return 1
	[ "$(value P9_H_SYMLINK_ROOT)" = ok ] && [ "$(value P9H_SYMLINK_ROOT_TARGET)" = / ] ||
		{ why="the guest could not make and read back the symlink x -> /"; return 1; }
	for l in "x /" "up ../../../../.." "abs /tmp/9p/secret" "sub/esc ../../.."; do
		set -- $l
		[ -L "$S/hostile/$1" ] && [ "$(readlink "$S/hostile/$1")" = "$2" ] ||
			{ why="host: hostile/$1 is not the symlink -> $2 the guest made"; return 1; }
	done
}

case_9p_hostile_dotdot() {
	p9_main hostile && never_shown || return 1
	[ "$(value P9_H_DOTDOT_DONE)" = ok ] || { why="the guest did not get through its .. walks"; return 1; }
}

# A directory swapped with a symlink to / while the guest reads a file
# through it: only the directory's own file, never L1's /e2e-secret.
case_9p_hostile_swap() {
	p9_main hostile && never_shown || return 1
	v=$(value P9H_SWAP)
	echo "E2E-INFO 9p-hostile-swap: $v"
	case "$v" in
	*other:0,*) ;;
	*) why="the guest read something else than the directory's file: $v"; return 1 ;;
	esac
	in=${v#inside:}; in=${in%%,*}
	sw=${v##*swaps:}
	[ "${in:-0}" -gt 0 ] || { why="the guest never read the directory's own file: $v"; return 1; }
	[ "${sw:-0}" -gt 0 ] || { why="the swapping loop never completed a swap: $v"; return 1; }
}

# mknod of a device fails and creates nothing; the device nodes L1 made are
# never opened on L1 (its ramdisk keeps its pattern).
case_9p_hostile_special_files() {
	p9_main hostile && never_shown && p9_group P9_H_MKNOD_ 2 || return 1
	absent "$S/hostile/dev" && absent "$S/hostile/blk" || return 1
	echo "E2E-INFO 9p-hostile-special-files: mkfifo $(value P9H_MKFIFO); node types seen $(value P9H_NODE_TYPES)"
	[ "$(dd if=/dev/ram0 bs=65536 count=1 iflag=direct 2>/dev/null | sha)" = "$(pat ram 65536 | sha)" ] ||
		{ why="L1's ramdisk changed: a device node in the export reached it"; return 1; }
	for f in "$S"/hostile/*; do
		[ -b "$f" ] || [ -c "$f" ] || continue
		case "${f##*/}" in hram|hzero) ;; *) why="host: a device node ${f##*/} appeared in the export"; return 1 ;; esac
	done
}

# lkvm runs as root: the guest must not leave a setuid/setgid file or a
# file of another owner in the export.
case_9p_hostile_ownership() {
	p9_main hostile || return 1
	echo "E2E-INFO 9p-hostile-ownership: guest view $(value P9H_OWN)"
	for f in suid sgid sdir own; do
		st=$(stat -c '%a %u %g' "$S/hostile/$f") || { why="host: hostile/$f missing"; return 1; }
		set -- $st
		[ $((0$1 & 06000)) = 0 ] || { why="host: hostile/$f has mode $1 (setuid/setgid)"; return 1; }
		[ "$2" = 0 ] && [ "$3" = 0 ] || { why="host: hostile/$f is owned by $2:$3, not lkvm's 0:0"; return 1; }
	done
}

case_9p_outside_unchanged() {
	p9_main hostile || return 1
	cmp -s "$W/9p-outside.before" "$W/9p-outside.after" ||
		{ why="something outside the exports changed: $(diff "$W/9p-outside.before" "$W/9p-outside.after" | grep '^[-+][^-+]' | head -n 5 | tr '\n' ' ')"; return 1; }
}

# The same device over virtio-mmio, at a small msize (many requests per
# readdir): create/write/append/truncate/rename/links/chmod/mkdir and the
# 2000 entries L1 made.
boot_9p_mmio() {
	p9_tmpfs
	mkdir -p "$S/mm"
	p9_fill_rw "$S/mm"
	run_vmm virtio-9p-mmio none "$P9_TIMEOUT" run -k $K -i $IV -m 256 -c 1 \
		--virtio-transport mmio --9p "$S/mm,mm" -p "$Q lkvmtest=9p lkvm9p=8192"
}
case_9p_mmio() {
	p9_run virtio-9p-mmio boot_9p_mmio mm || return 1
	case "$(value P9INFO_DEVPATH)" in
	*/pci0000:*|'') why="the 9p device is not a virtio-mmio device: $(value P9INFO_DEVPATH)"; return 1 ;;
	esac
	[ "$(value P9INFO_MSIZE_mm)" = 8192 ] || { why="msize $(value P9INFO_MSIZE_mm), expected 8192"; return 1; }
	for g in "P9_CRW_ 4" "P9_AT_ 6" "P9_REN_ 8" "P9_LNK_ 10" "P9_CM_ 10"; do
		p9_group $g || return 1
	done
	R=$S/mm
	check_crw "$R" && check_at "$R" && check_ren "$R" && check_lnk "$R" && check_cm "$R" &&
		check_rd_host "$R" && check_host_files
}

# --- lkvm sandbox, lkvm setup, lkvm run without a disk ---------------------------
#
# L1 looks like a Debian host (see lkvm_stage_l1_sandbox): lkvm finds
# /boot/vmlinuz-$(uname -r) and /lib/modules/$(uname -r) itself, builds its
# initramfs and boots a guest whose root is ~/.lkvm/default over 9p, with
# L1's / read-only at /host.

case_sandbox_exit_status() {
	run_vmm sandbox-exit-status none "$E2E_TIMEOUT" sandbox -p "$Q" -- sh -c 'exit 7'
	expect_status 7
}

case_sandbox_true() {
	run_vmm sandbox-true none "$E2E_TIMEOUT" sandbox -p "$Q" -- true
	expect_status 0 || return 1
	[ -d "$HOME/.lkvm/default" ] || { why="no $HOME/.lkvm/default after lkvm sandbox"; return 1; }
}

# /host in the guest is L1's /.
case_sandbox_host_file() {
	echo "sandbox-token-$TOK" >/etc/e2e-sandbox-token
	run_vmm sandbox-host-file none "$E2E_TIMEOUT" sandbox -p "$Q" -- cat /host/etc/e2e-sandbox-token /host/etc/passwd
	expect_status 0 &&
		expect_line "^sandbox-token-$TOK" "the guest did not print L1's /etc/e2e-sandbox-token" &&
		expect_line "$PASSWD_MARKER" "the guest's /host/etc/passwd is not L1's"
}

# A sandbox whose guest kernel panics before the command finished: lkvm's
# initramfs loaded the pvpanic driver from L1's /lib/modules, so lkvm
# says "guest kernel panicked" (and nothing about a missing status) and
# exits 3.
case_sandbox_panic() {
	run_vmm sandbox-panic none "$E2E_TIMEOUT" sandbox -p "$Q" -- \
		sh -c 'echo LKVM-SANDBOX-PANICKING; echo c >/proc/sysrq-trigger; sleep 60; echo LKVM-SANDBOX-SURVIVED'
	expect_line '^LKVM-SANDBOX-PANICKING' "the command never ran" &&
		expect_status 3 || return 1
	n=$(tr -d '\r' <"$ERR" | grep -c '^lkvm: guest kernel panicked$')
	[ "$n" = 1 ] || { why="$n 'lkvm: guest kernel panicked' lines on stderr, expected 1"; return 1; }
	! grep -q -e 'stopped before' -e 'SURVIVED' "$ERR" "$TXT" ||
		{ why="lkvm also said the guest stopped early, or the command survived its panic"; return 1; }
}

# lkvm setup NAME, then a sandbox on it: the guest's root is ~/.lkvm/NAME.
case_setup_sandbox() {
	rm -rf "$HOME/.lkvm/e2ebox"
	timeout -k 5 60 "$VMM" setup e2ebox </dev/null >"$W/setup.out" 2>"$W/setup.err"
	rc=$?
	[ ! -s "$W/setup.err" ] || show "setup-sandbox setup stderr" <"$W/setup.err"
	[ "$rc" = 0 ] || { why="lkvm setup e2ebox exited $rc"; TXT=$W/setup.out; return 1; }
	[ -d "$HOME/.lkvm/e2ebox" ] || { why="lkvm setup e2ebox made no $HOME/.lkvm/e2ebox"; return 1; }
	run_vmm setup-sandbox none "$E2E_TIMEOUT" sandbox -d e2ebox -p "$Q" -- \
		sh -c "echo setup-$TOK >/e2e-setup-file; exit 3"
	expect_status 3 || return 1
	hostfile "$HOME/.lkvm/e2ebox/e2e-setup-file" "setup-$TOK" "the guest's /e2e-setup-file" || return 1
	absent "$HOME/.lkvm/default/e2e-setup-file"
}

# lkvm run with no disk and no initrd: a shell on the 9p root. Types a
# command until the shell has run it, then exit.
feed_root_shell() {
	i=0
	while ! grep -q MAGIC-42 "$OUT" 2>/dev/null; do
		[ ! -e "$RCF" ] && [ $i -lt $((tmo / 3)) ] || return 0
		i=$((i + 1))
		sleep 3
		printf 'echo MAGIC-$((6*7))-$(cat /host/etc/e2e-sandbox-token)\n'
	done
	exit_shell
}
case_run_9p_root_shell() {
	echo "sandbox-token-$TOK" >/etc/e2e-sandbox-token
	run_vmm run-9p-root-shell feed_root_shell "$E2E_TIMEOUT" run -p "$Q"
	expect_line "MAGIC-42-sandbox-token-$TOK" "the shell never ran the command typed into lkvm's stdin" &&
		expect_status 0
}

# --- the sandbox's network (lkvm's init configures the default card) -------
#
# The guest runs L1's busybox (its /bin is /host/bin), so the scripts live
# in L1's /etc (/host/etc in the guest).  Guest lines are NETS_NAME=value.

# The guest of net-sandbox: what lkvm's init set up, then DNS, HTTP, IPv6.
net_sandbox_script() {
	cat <<'EOS'
n=/sys/class/net/eth0
echo "NETS_IFACES=$(ls /sys/class/net | tr '\n' ' ')"
echo "NETS_VIRTIO=$(cat /sys/bus/virtio/devices/*/device | sort | tr '\n' ' ')"
echo "NETS_DRIVER=$(basename "$(readlink $n/device/driver)")"
echo "NETS_MAC=$(cat $n/address)"
echo "NETS_OPER=$(cat $n/operstate)"
echo "NETS_ADDR=$(ip -o -f inet addr show dev eth0 | awk '{ print $4 }' | tr '\n' ' ')"
echo "NETS_ROUTE=$(ip route show default | tr '\n' ' ')"
echo "NETS_LO=$(ip -o -f inet addr show dev lo | awk '{ print $4 }')"
echo "NETS_RESOLV=$(tr '\n' ' ' </etc/resolv.conf)"
nslookup "$1" >/tmp/ns.out 2>&1
echo "NETS_NSLOOKUP_RC=$?"
echo "NETS_DNS_SERVER=$(sed -n 's/^Server:[[:space:]]*//p' /tmp/ns.out)"
echo "NETS_DNS_ANSWER=$(sed -n '/^Name:/,$s/^Address:[[:space:]]*//p' /tmp/ns.out | head -n 1)"
printf 'GET /f HTTP/1.0\r\n\r\n' | timeout 60 nc -w 10 10.0.2.2 8080 >/tmp/get.out
echo "NETS_GET_STATUS=$(head -n 1 /tmp/get.out | tr -d '\r')"
echo "NETS_GET_SHA=$(tail -c 1048576 /tmp/get.out | sha256sum | cut -d' ' -f1)"
echo x >/etc/resolv.conf && echo "NETS_RESOLV_WRITE=$(cat /etc/resolv.conf)"
i=0
while [ $i -lt 100 ]; do
	a=$(ip -o -6 addr show dev eth0 | grep -v tentative | grep -o 'fec0:[0-9a-f:]*/64')
	[ -z "$a" ] || break
	sleep 0.1
	i=$((i + 1))
done
echo "NETS_IPV6=$a"
echo "NETS_IPV6_WAIT=$i"
echo "NETS_IPV6_ALL=$(ip -o -6 addr show dev eth0 | tr -s ' \\\n' ' ')"
if ping6 -c 1 -W 5 fec0::2 >/tmp/p6 2>&1; then echo NETS_PING6=ok; else echo "NETS_PING6=failed: $(tail -n 2 /tmp/p6 | tr '\n' ' ')"; fi
EOS
}

# lkvm sandbox with no -n: lkvm's init gave eth0 (virtio_net, the default
# MAC) 10.0.2.15/24, a default route via 10.0.2.2, lo, and
# "nameserver 10.0.2.3" in /etc/resolv.conf, mounted from the guest's
# /run: slirp's DNS forwards to L1's resolver (net_dns: dnsanswer on
# 127.0.0.53 answers NET_DNS_NAME), an HTTP GET from L1's loopback
# server through 10.0.2.2 has the right sha256 (nc: the static busybox
# wget crashes there, its NSS loading L1's shared glibc from /lib), the
# kernel took slirp's IPv6 prefix (fec0::/64) and fec0::2 answers a ping6.
# The guest's write to /etc/resolv.conf changed neither
# ~/.lkvm/default/etc/resolv.conf (L1's file, empty) nor L1's own
# /etc/resolv.conf.
case_net_sandbox() {
	net_serve 127.0.0.1 || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	net_dns || { why="L1's DNS server never answered (harness)"; net_stop; return 1; }
	net_sandbox_script >/etc/e2e-net-sandbox.sh
	run_vmm net-sandbox none "$E2E_TIMEOUT" sandbox -p "$Q" -- sh /host/etc/e2e-net-sandbox.sh "$NET_DNS_NAME"
	l1_resolv=$(cat /etc/resolv.conf)
	net_stop
	show "net-sandbox L1 dns" <"$W/net-dns.log"
	expect_status 0 || return 1
	[ "$(value NETS_DRIVER)" = virtio_net ] && [ "$(value NETS_MAC)" = 02:15:15:15:15:15 ] ||
		{ why="eth0: driver '$(value NETS_DRIVER)', MAC '$(value NETS_MAC)' (interfaces: $(value NETS_IFACES); virtio ids: $(value NETS_VIRTIO))"; return 1; }
	[ "$(value NETS_ADDR)" = "10.0.2.15/24 " ] || { why="eth0's IPv4 addresses: '$(value NETS_ADDR)', expected 10.0.2.15/24"; return 1; }
	case "$(value NETS_ROUTE)" in
	"default via 10.0.2.2 dev eth0"*) ;;
	*) why="default route: '$(value NETS_ROUTE)'"; return 1 ;;
	esac
	[ "$(value NETS_LO)" = 127.0.0.1/8 ] || { why="lo: '$(value NETS_LO)', expected 127.0.0.1/8"; return 1; }
	[ "$(value NETS_OPER)" = up ] || { why="eth0's operstate: $(value NETS_OPER)"; return 1; }
	[ "$(value NETS_RESOLV)" = "nameserver 10.0.2.3 " ] || { why="the guest's /etc/resolv.conf: '$(value NETS_RESOLV)'"; return 1; }
	n=$(grep -c " type 1 from .*: answered$" "$W/net-dns.log")
	[ "$n" -gt "$net_dns_seen" ] ||
		{ why="no A query for $NET_DNS_NAME reached L1's resolver through slirp's 10.0.2.3"; return 1; }
	[ "$(value NETS_DNS_SERVER)" = 10.0.2.3 ] && [ "$(value NETS_DNS_ANSWER)" = "$net_dns_addr" ] ||
		{ why="nslookup in the guest: server '$(value NETS_DNS_SERVER)', answer '$(value NETS_DNS_ANSWER)' (status $(value NETS_NSLOOKUP_RC)), expected 10.0.2.3 and $net_dns_addr"; return 1; }
	case "$(value NETS_GET_STATUS)" in
	*" 200 "*) ;;
	*) why="the guest's GET of http://10.0.2.2:8080/f: status '$(value NETS_GET_STATUS)'"; return 1 ;;
	esac
	[ "$(value NETS_GET_SHA)" = "$(pat net-get $NET_BYTES | sha)" ] ||
		{ why="the guest received 1 MiB from L1's loopback through 10.0.2.2 wrong"; return 1; }
	# The guest's resolv.conf is its own (on its /run), not L1's files.
	[ "$(value NETS_RESOLV_WRITE)" = x ] || { why="the guest could not write its /etc/resolv.conf"; return 1; }
	[ -f "$HOME/.lkvm/default/etc/resolv.conf" ] && [ ! -s "$HOME/.lkvm/default/etc/resolv.conf" ] ||
		{ why="$HOME/.lkvm/default/etc/resolv.conf is missing or was written: '$(head -c 100 "$HOME/.lkvm/default/etc/resolv.conf" 2>&1)'"; return 1; }
	[ "$l1_resolv" = "nameserver 127.0.0.53" ] || { why="L1's /etc/resolv.conf changed: '$l1_resolv'"; return 1; }
	case "$(value NETS_IPV6)" in
	fec0:*/64) ;;
	*) why="no fec0::/64 address on eth0 (SLAAC from slirp's router advertisement): $(value NETS_IPV6_ALL)"; return 1 ;;
	esac
	[ "$(value NETS_PING6)" = ok ] || { why="ping6 fec0::2 from the guest: $(value NETS_PING6)"; return 1; }
}

# lkvm sandbox -n none: no virtio-net device at all (only the three 9p
# exports, id 9), virtio_net not loaded, only lo (up: the init brings it
# up with or without cards), and the command still runs.
case_net_none() {
	cat >/etc/e2e-net-none.sh <<'EOS'
echo "NONE_IFACES=$(ls /sys/class/net | tr '\n' ' ')"
echo "NONE_VIRTIO=$(cat /sys/bus/virtio/devices/*/device | sort | tr '\n' ' ')"
echo "NONE_MODULE=$(grep -c '^virtio_net ' /proc/modules)"
echo "NONE_LO=$(ip -o -f inet addr show dev lo | awk '{ print $4 }')"
EOS
	run_vmm net-none none "$E2E_TIMEOUT" sandbox -n none -p "$Q" -- sh /host/etc/e2e-net-none.sh
	expect_status 0 || return 1
	[ "$(value NONE_VIRTIO)" = "0x0009 0x0009 0x0009 " ] ||
		{ why="the guest's virtio devices are '$(value NONE_VIRTIO)', expected the three 9p exports (0x0009) and no network card (0x0001)"; return 1; }
	[ "$(value NONE_IFACES)" = "lo " ] || { why="the guest's interfaces: '$(value NONE_IFACES)', expected lo only"; return 1; }
	[ "$(value NONE_MODULE)" = 0 ] || { why="virtio_net is loaded with -n none"; return 1; }
	[ "$(value NONE_LO)" = 127.0.0.1/8 ] || { why="lo: '$(value NONE_LO)', expected 127.0.0.1/8"; return 1; }
}

# --- lkvm bench boot ----------------------------------------------------------

# json_ok FILE: FILE is one JSON value as far as busybox awk can tell:
# strings closed (escapes honoured), brackets and braces matched, nothing
# after the end, no bare word but true/false/null/numbers.
json_ok() {
	awk 'BEGIN { RS = "\001" } {
		s = $0; n = length(s); d = 0; ins = 0; done = 0
		for (i = 1; i <= n; i++) {
			c = substr(s, i, 1)
			if (ins) {
				if (c == "\\") i++
				else if (c == "\"") ins = 0
				continue
			}
			if (c == "\"") { if (done) exit 1; ins = 1; continue }
			if (c ~ /[ \t\r\n]/) continue
			if (done) exit 1
			if (c == "{" || c == "[") { st[++d] = c; continue }
			if (c == "}" || c == "]") {
				if (!d || (c == "}") != (st[d] == "{")) exit 1
				if (!--d) done = 1
				continue
			}
			if (c ~ /[,:0-9.eE+-]/) continue
			if (substr(s, i, 4) == "true" || substr(s, i, 4) == "null") { i += 3; continue }
			if (substr(s, i, 5) == "false") { i += 4; continue }
			exit 1
		}
		exit !(done && !ins)
	}' "$1"
}

# lkvm bench boot end to end: a warm-up and 3 boots of the L2 guest, each
# stopped by marker 7 (lkvmtest=bootmark writes it to port 0x3f0 through
# /dev/port); stdout is the JSON alone, which must parse and hold the
# VMM's phases, the guest's milestones and the marker in all 3 runs.
case_bench_boot() {
	run_vmm bench-boot none $((E2E_TIMEOUT * 2)) bench boot -n 3 --json --timeout 60 --until-marker 7 -k $K -i $I -m 256 -c 1 -p lkvmtest=bootmark
	expect_status 0 || return 1
	json_ok "$TXT" || { why="the output is not well-formed JSON"; return 1; }
	grep -q '^{"benchmark":"boot","runs":3,' "$TXT" || { why="no {\"benchmark\":\"boot\",\"runs\":3, at the start"; return 1; }
	for e in 'marker 7","kind":"marker' 'first console byte","kind":"milestone' \
		'vcpu0 first KVM_RUN' 'open KVM, create VM","kind":"phase' \
		'spawn to exit (parent)","kind":"parent'; do
		grep -q "{\"name\":\"$e\".*\"runs\":3," "$TXT" ||
			{ why="no event '$e' in all 3 runs"; return 1; }
	done
	grep -q '"traces_not_from_spawn":0,' "$TXT" || { why="a trace was not timed from the spawn"; return 1; }
	grep -q '^{"reason":"' "$TXT" || { why="no exit counters"; return 1; }
}

# --- driver ------------------------------------------------------------------

# A token only this L1 run knows, in a line of L1's /etc/passwd and in
# files outside the 9p exports: no 9p guest may ever print it.
TOK=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
PASSWD_MARKER=L1-PASSWD-MARKER-$TOK
echo "e2e-marker:x:4242:4242:$PASSWD_MARKER:/nonexistent:/bin/false" >>/etc/passwd

run_cases $E2E_CASES
