#!/bin/sh
# The riscv64 e2e cases. Runs inside L1 (busybox sh) as /payload.sh after
# kvm.ko is loaded (tests/e2e/lib/l1-init.sh); each case runs lkvm on the L2
# kernel and initramfs, streams the L2 console with a "  [case] " prefix,
# prints "E2E-TIME <case> <secs>s status=<n>" and exactly one
# "E2E <case>: PASS" or "E2E <case>: FAIL <reason>" line.
# /etc/lkvm-test.conf sets E2E_CASES (names, in order) and E2E_TIMEOUT
# (per-case limit, seconds).
. /etc/lkvm-test.conf
E2E_TIMEOUT=${E2E_TIMEOUT:-120}
VMM=lkvm
K=/l2/Image
I=/l2/initrd.cpio.gz
W=/tmp/e2e
mkdir -p "$W"
D=/tmp/disks
mkdir -p "$D"
mount -t tmpfs -o size=512m tmpfs "$D" 2>/dev/null
# quiet: every kernel message through the emulated UART costs time under
# nested TCG; warnings and errors still print.
Q=quiet

. /l1-lib.sh

no_panic() {
	! grep -q -e 'Kernel panic' -e 'LKVM-L2-.*-FAILED' -e 'LKVM-L2-INSMOD-FAILED' "$TXT" ||
		{ why="guest: $(grep -m1 -e 'Kernel panic' -e 'LKVM-L2-.*-FAILED' -e 'LKVM-L2-INSMOD-FAILED' "$TXT")"; return 1; }
}

# lkvm run with the L2 kernel and initramfs and the common options.
l2() {
	l2_name=$1 l2_feeder=$2
	shift 2
	run_vmm "$l2_name" "$l2_feeder" "$E2E_TIMEOUT" run -k $K -i $I -m 256 "$@"
}

# --- the cases -------------------------------------------------------------

# poweroff -f: SBI system reset (shutdown), which KVM turns into
# KVM_EXIT_SYSTEM_EVENT; lkvm ends with 0.
case_boot_marker() {
	l2 boot-marker none -c 1 -p "$Q lkvmtest=marker"
	expect_marker && expect_line '^LKVM-L2-POWERING-OFF' "the guest never reached poweroff -f" &&
		no_panic && expect_status 0
}

# The second hart is started by the guest through SBI HSM.
case_smp_2() {
	l2 smp-2 none -c 2 -p "$Q lkvmtest=info"
	expect_marker && expect_line '^CPUS_ONLINE=' "no CPUS_ONLINE= line" || return 1
	[ "$(value CPUS_ONLINE)" = 0-1 ] ||
		{ why="guest CPUs online '$(value CPUS_ONLINE)' (NCPU=$(value NCPU)), expected 0-1"; return 1; }
	echo "E2E-INFO smp-2: L2 isa $(value ISA); L1 isa $(sed -n 's/^isa[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	no_panic && expect_status 0
}

case_cmdline() {
	l2 cmdline none -c 1 -p "$Q foo=bar lkvmtest=info"
	expect_marker && expect_line '^CMDLINE=' "no CMDLINE= line" || return 1
	case " $(value CMDLINE) " in
	*" foo=bar "*) ;;
	*) why="foo=bar missing from the guest's /proc/cmdline: $(value CMDLINE)"; return 1 ;;
	esac
	# The guest's device tree describes lkvm's pvpanic device.
	[ "$(value PVPANIC_DT)" = qemu,pvpanic-mmio ] ||
		{ why="no qemu,pvpanic-mmio node in the guest's /proc/device-tree/soc: '$(value PVPANIC_DT)'"; return 1; }
	expect_status 0
}

case_serial_shell() {
	l2 serial-shell feed_shell -c 1 -p "$Q lkvmtest=shell"
	expect_marker &&
		expect_line '^LKVM-L2-SHELL-READY' "the guest never started its shell" &&
		expect_line 'MAGIC-42' "MAGIC-42 never came back: stdin did not reach the guest's shell" &&
		expect_line '^LKVM-L2-SHELL-DONE' "'exit' did not end the guest's shell" &&
		expect_status 0
}

# blk_case NAME DEVPATH-GLOB LKVM-ARGS...: the guest writes its patterns
# to vda; L1 finds them in the image after lkvm exits.
blk_case() {
	bn=$1 where=$2
	shift 2
	img=$D/$bn.img
	rm -f "$img"
	truncate -s 32M "$img"
	l2 "$bn" none -c 1 --disk "$img" "$@" -p "$Q lkvmtest=blk lkvmblk=$bn"
	expect_marker && expect_line '^DISK_vda_RW=' "the guest did not get to its disk" || return 1
	[ "$(value DISK_vda_RW)" = ok ] || { why="guest: DISK_vda_RW=$(value DISK_vda_RW)"; return 1; }
	[ "$(value DISK_vda_SIZE)" = $((32 * 1048576)) ] || { why="guest disk size $(value DISK_vda_SIZE), image 32 MiB"; return 1; }
	# shellcheck disable=SC2254 # WHERE is a pattern
	case "$(value DISK_vda_DEVPATH)" in
	$where) ;;
	*) why="vda is not where expected ($where): $(value DISK_vda_DEVPATH)"; return 1 ;;
	esac
	expect_status 0 || return 1
	size=$(stat -c %s "$img")
	for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
		set -- $r
		got=$(dd if="$img" bs=4096 iflag=skip_bytes,count_bytes skip="$2" count="$3" 2>/dev/null | sha)
		[ "$got" = "$(pat "$bn-$1" "$3" | sha)" ] || {
			why="the image at offset $2 does not hold what the guest wrote; it starts with: $(dd if="$img" bs=4096 iflag=skip_bytes,count_bytes skip="$2" count=40 2>&1 | od -An -c | tr -s ' \n' ' ')"
			return 1
		}
	done
}
case_virtio_blk() { blk_case virtio-blk '*/platform/*virtio_mmio*'; }
case_virtio_blk_pci() { blk_case virtio-blk-pci '*pci0000:*' --virtio-transport pci; }

case_rng() {
	l2 rng none -c 1 --rng -p "$Q lkvmtest=rng"
	expect_marker && expect_line '^RNG_BYTES=' "no RNG_BYTES= line" || return 1
	case "$(value RNG_CURRENT)" in
	virtio_rng*) ;;
	*) why="rng_current is '$(value RNG_CURRENT)', not virtio_rng"; return 1 ;;
	esac
	[ "$(value RNG_BYTES)" = 64 ] || { why="read $(value RNG_BYTES) bytes of 64 from /dev/hwrng"; return 1; }
	[ "$(value RNG_SHA1)" != "$(value RNG_SHA2)" ] || { why="two reads of /dev/hwrng gave the same bytes"; return 1; }
	expect_status 0
}

# virtio-9p (over virtio-mmio): the guest reads a file L1 put in the
# export and writes one that L1 then finds.
case_9p() {
	S=/tmp/9p
	rm -rf "$S"
	mkdir -p "$S"
	tok=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "written-by-l1-$tok" >"$S/from-l1.txt"
	l2 9p none -c 1 --9p "$S,e2e" -p "$Q lkvmtest=9p"
	expect_marker && expect_line '^P9_MOUNT_e2e=' "the guest did not get to its 9p mount" || return 1
	[ "$(value P9_MOUNT_e2e)" = ok ] || { why="guest: P9_MOUNT_e2e=$(value P9_MOUNT_e2e)"; return 1; }
	[ "$(value P9_READ)" = "written-by-l1-$tok" ] || { why="the guest read '$(value P9_READ)' from L1's file"; return 1; }
	[ "$(value P9_WRITE)" = ok ] || { why="the guest could not write its file"; return 1; }
	expect_status 0 || return 1
	[ "$(sha <"$S/from-l2.bin" 2>/dev/null)" = "$(pat 9p 100000 | sha)" ] ||
		{ why="L1's from-l2.bin ($(stat -c %s "$S/from-l2.bin" 2>&1)) is not what the guest wrote"; return 1; }
}

# Every device at once behind the PCI host bridge, on 2 harts: a disk, rng,
# a 9p export and the virtio console, all INTx through the PLIC.  Four
# devices, so slots 1-4: slot 4 resolves through the interrupt-map only
# if the map's mask keeps every slot bit (it once kept two).
case_virtio_pci_all() {
	S=/tmp/9p-pci
	rm -rf "$S"
	mkdir -p "$S"
	echo "written-by-l1-pci" >"$S/from-l1.txt"
	img=$D/pci-all.img
	rm -f "$img"
	truncate -s 32M "$img"
	l2 virtio-pci-all none -c 2 --virtio-transport pci --disk "$img" --rng \
		--9p "$S,e2e" --console virtio -p "$Q lkvmtest=blk,rng,9p,hvc lkvmblk=pci-all"
	expect_marker && expect_line '^LKVM-L2-HVC-HELLO' "a line written to hvc0 never reached lkvm's stdout" || return 1
	[ "$(value DISK_vda_RW)" = ok ] || { why="guest: DISK_vda_RW=$(value DISK_vda_RW)"; return 1; }
	for v in DISK_vda_DEVPATH HVC_DEVPATH; do
		case "$(value $v)" in
		*pci0000:*) ;;
		*) why="$v=$(value $v): not behind the PCI host bridge"; return 1 ;;
		esac
	done
	case "$(value RNG_CURRENT)" in
	virtio_rng*) ;;
	*) why="rng_current is '$(value RNG_CURRENT)', not virtio_rng"; return 1 ;;
	esac
	[ "$(value P9_READ)" = written-by-l1-pci ] || { why="9p: the guest read '$(value P9_READ)'"; return 1; }
	expect_status 0 || return 1
	[ "$(dd if="$img" bs=65536 count=1 2>/dev/null | sha)" = "$(pat pci-all-a 65536 | sha)" ] ||
		{ why="the image does not hold what the guest wrote"; return 1; }
}

# --irqchip aia: KVM's in-kernel AIA.  L1 has AIA harts (e2e.sh), so its
# KVM offers it and the guest must get an APLIC and IMSICs: the disk behind
# PCI with MSI-X through the IMSICs, rng on wired APLIC lines (mmio).  An L1
# whose KVM has no AIA must get one clear line and exit 1, never a
# silent fallback to the PLIC.
aia_case() {
	an=$1
	shift
	img=$D/$an.img
	rm -f "$img"
	truncate -s 32M "$img"
	l2 "$an" none -c 2 --irqchip aia --disk "$img" "$@" \
		-p "$Q lkvmtest=info,irqchip,blk lkvmblk=$an"
	if ! dmesg | grep -q 'kvm.*AIA available'; then
		grep -q 'KVM cannot create an in-kernel AIA here' "$ERR" ||
			{ why="L1's KVM has no AIA, and lkvm did not say so"; return 1; }
		echo "E2E-INFO $an: L1's KVM has no in-kernel AIA; checked the refusal"
		expect_status 1 || return 1
		[ "$(grep -c . "$ERR")" = 1 ] || { why="more than one line on stderr"; return 1; }
		! grep -q 'LKVM-L2-INIT-OK' "$TXT" || { why="the guest ran"; return 1; }
		return 0
	fi
	expect_marker && expect_line '^IRQCHIP=' "the guest did not report its irqchip" || return 1
	case "$(value IRQCHIP)" in
	*aplic@*imsics@*|*imsics@*aplic@*) ;;
	*) why="device tree irqchips: '$(value IRQCHIP)', not an APLIC and IMSICs"; return 1 ;;
	esac
	[ "$(value CPUS_ONLINE)" = 0-1 ] || { why="CPUs online: $(value CPUS_ONLINE)"; return 1; }
	[ "$(value DISK_vda_RW)" = ok ] || { why="guest: DISK_vda_RW=$(value DISK_vda_RW)"; return 1; }
	expect_status 0
}
case_irqchip_aia_pci() {
	aia_case irqchip-aia-pci --virtio-transport pci || return 1
	[ "$(value MSI_IRQS)" -gt 0 ] 2>/dev/null ||
		{ why="no MSI interrupts in the guest's /proc/interrupts: MSI-X through the IMSICs was not used"; return 1; }
}
case_irqchip_aia_mmio() { aia_case irqchip-aia-mmio; }

# reboot -f: SBI system reset (cold reboot); lkvm ends with 0.
case_reboot() {
	l2 reboot none -c 1 -p "$Q lkvmtest=marker lkvmend=reboot"
	expect_marker && expect_line '^LKVM-L2-REBOOTING' "the guest never reached reboot -f" &&
		no_panic && expect_status 0
}

# The kernel's first messages go through the SBI console (DBCN, or the
# legacy putchar), which lkvm prints; they are never replayed on ttyS0.
case_earlycon() {
	l2 earlycon none -c 1 -p "earlycon=sbi lkvmtest=marker"
	expect_line 'earlycon: sbi0' "no 'earlycon: sbi0' line: the SBI console output did not reach stdout" &&
		expect_line 'Linux version' "no 'Linux version' line" &&
		expect_marker && expect_status 0
}

# --dump-dtb writes the device tree and exits before running the guest.
case_dump_dtb() {
	rm -f "$W/x.dtb"
	l2 dump-dtb none -c 2 --dump-dtb "$W/x.dtb"
	expect_status 0 || return 1
	[ -s "$W/x.dtb" ] || { why="no $W/x.dtb written"; return 1; }
	m=$(od -An -tx1 -N4 "$W/x.dtb" | tr -d ' \n')
	[ "$m" = d00dfeed ] || { why="$W/x.dtb starts with $m, not the magic d00dfeed"; return 1; }
	sz=$(od -An -tx1 -j4 -N4 "$W/x.dtb" | tr -d ' \n')
	[ $((0x$sz)) = "$(stat -c %s "$W/x.dtb")" ] ||
		{ why="totalsize 0x$sz in the header, file $(stat -c %s "$W/x.dtb") bytes"; return 1; }
	! grep -q 'LKVM-L2-INIT-OK' "$TXT" || { why="the guest ran"; return 1; }
	# Node names, property names and string values end lines here (a
	# value may follow a printable byte of its property header).
	tr -c ' -~' '\n' <"$W/x.dtb" | grep -a '...' >"$W/x.strings"
	echo "E2E-INFO dump-dtb: $(stat -c %s "$W/x.dtb") bytes; nodes: $(grep -a '@' "$W/x.strings" | tr '\n' ' ')"
	for want in cpu@0 cpu@1 memory@80000000 chosen ns16550a riscv,isa bootargs \
		pvpanic@10001000 qemu,pvpanic-mmio; do
		grep -aq -e "$want\$" "$W/x.strings" || { why="the DTB of -c 2 has no '$want'"; return 1; }
	done
}

# --- driver ------------------------------------------------------------------

run_cases $E2E_CASES
