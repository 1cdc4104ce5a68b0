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

# --- virtio-net ----------------------------------------------------------------
#
# The x86 suite's net cases over both transports, with the same helpers
# (net_serve, the feeders, net_check in l1-lib.sh; the guest's net_action
# in l2-lib.sh): a ping, NET_BYTES each way (and through hostfwd), checked
# by sha256 on the receiving side.  256 KiB: under nested TCG the guest's
# uploads run at 150-400 KiB/s (each segment's interrupts are exits to
# lkvm's userspace PLIC; about twice as fast with --irqchip aia).
NET_BYTES=262144

# net_plic CASE: eth0's interrupts (the guest's only virtio device) came
# through the PLIC.
net_plic() {
	irq=$(grep -m1 '^IRQ: .*virtio' "$TXT")
	echo "E2E-INFO $1: $irq"
	n=$(echo "$irq" | awk '{ n = 0; for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; print n }')
	case "$irq" in
	*PLIC*) [ "$n" -gt 0 ] || { why="eth0's PLIC line never fired: $irq"; return 1; } ;;
	*) why="eth0's interrupt is not a PLIC line: '$irq'"; return 1 ;;
	esac
}

# -n mode=user over TRANSPORT: slirp's DHCP gives eth0 10.0.2.15/24 with
# router 10.0.2.2 and DNS 10.0.2.3; the guest pings 10.0.2.2 and moves
# NET_BYTES each way with L1's loopback through 10.0.2.2 (httpd listens on
# 127.0.0.1 only); hostfwd= takes L1's 127.0.0.1:2222 to the guest's port
# 7000, where the guest serves NET_BYTES that L1 fetches (feed_net_user).
net_user_case() {
	nn=$1 ntr=$2
	rm -f "$W"/net-fwd.*
	net_serve 127.0.0.1 || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	l2 "$nn" feed_net_user -c 1 --virtio-transport "$ntr" -n mode=user,hostfwd=tcp:127.0.0.1:2222-:7000 \
		-p "$Q lkvmtest=net lkvmnet=dhcp lkvmnetsrv=10.0.2.2 lkvmnetwait=1 lkvmnetfwd=7000 lkvmnetbytes=$NET_BYTES"
	net_stop
	expect_marker &&
		expect_line '^LKVM-L2-NET-WAITING' "the guest never got to serve its hostfwd port" || return 1
	net_check_slirp_lease || return 1
	net_check "$nn" 10.0.2.2 "$ntr" && net_plic "$nn" || return 1
	n=$(stat -c %s "$W/net-fwd.bin" 2>/dev/null)
	[ "$n" = $NET_BYTES ] && [ "$(sha <"$W/net-fwd.bin")" = "$(pat net-fwd $NET_BYTES | sha)" ] ||
		{ why="through hostfwd 127.0.0.1:2222 L1 got ${n:-no} bytes of the guest's $NET_BYTES, or different ones (nc status $(cat "$W/net-fwd.rc" 2>/dev/null): $(head -c 200 "$W/net-fwd.err" 2>/dev/null))"; return 1; }
}
case_net_user() { net_user_case net-user mmio; }
case_net_user_pci() { net_user_case net-user-pci pci; }

# net_tap_checks CASE ADDR/PREFIX SRV TRANSPORT: after a tap case: the
# guest's address, L1's ping of the guest (feed_net_tap), net_check, the
# PLIC line.
net_tap_checks() {
	[ -s "$W/net-tap-ping.out" ] && show "$1 L1 ping" <"$W/net-tap-ping.out"
	expect_marker &&
		expect_line '^LKVM-L2-NET-WAITING' "the guest never got to wait for L1's ping" || return 1
	[ "$(value NET_ADDR)" = "$2" ] || { why="eth0 has '$(value NET_ADDR)', expected $2"; return 1; }
	[ "$(cat "$W/net-tap-ping.rc" 2>/dev/null)" = 0 ] ||
		{ why="L1's ping of the guest failed: $(tail -n 2 "$W/net-tap-ping.out" | tr '\n' ' ')"; return 1; }
	net_check "$1" "$3" "$4" && net_plic "$1"
}

# -n mode=tap,tapif=tap0 over virtio-mmio, on a tap L1 made and addressed
# 192.168.33.1/24: the guest (192.168.33.2/24, set by hand) and L1 ping
# each other, then NET_BYTES each way.
case_net_tap() {
	rm -f "$W"/net-tap-ping.*
	net_tun || return 1
	ip link show tap0 >/dev/null 2>&1 || tunctl -t tap0 >/dev/null || { why="tunctl -t tap0 failed in L1"; return 1; }
	ip addr flush dev tap0
	ip addr add 192.168.33.1/24 dev tap0 && ip link set tap0 up || { why="cannot configure tap0 in L1"; return 1; }
	net_serve 192.168.33.1 || { why="L1's httpd never answered on 192.168.33.1 (harness)"; net_stop; return 1; }
	net_guest=192.168.33.2
	l2 net-tap feed_net_tap -c 1 --virtio-transport mmio -n mode=tap,tapif=tap0 \
		-p "$Q lkvmtest=net lkvmnet=192.168.33.2/24 lkvmnetsrv=192.168.33.1 lkvmnetwait=1 lkvmnetbytes=$NET_BYTES"
	net_stop
	net_tap_checks net-tap 192.168.33.2/24 192.168.33.1 mmio
}

# The same over PCI, with -c 2 and -n mode=tap,script=...: lkvm makes a
# multi-queue tap and runs the script, which addresses it 192.168.34.1/24
# and brings it up; the guest's virtio_net uses both queue pairs, whose
# interrupts share the slot's INTx line through the PLIC.
case_net_tap_pci() {
	rm -f "$W"/net-tap-ping.* "$W/net-ifup.log"
	net_tun || return 1
	net_ifup_script 192.168.34.1/24
	net_serve any || { why="L1's httpd never answered (harness)"; net_stop; return 1; }
	net_guest=192.168.34.2
	l2 net-tap-pci feed_net_tap -c 2 --virtio-transport pci -n "mode=tap,script=$W/net-ifup" \
		-p "$Q lkvmtest=net lkvmnet=192.168.34.2/24 lkvmnetsrv=192.168.34.1 lkvmnetwait=1 lkvmnetbytes=$NET_BYTES"
	net_stop
	net_tap_checks net-tap-pci 192.168.34.2/24 192.168.34.1 pci || return 1
	tap=$(cat "$W/net-ifup.log" 2>/dev/null)
	case "$tap" in
	tap*) ;;
	*) why="lkvm's script ran with '$tap', expected the new tap's name"; return 1 ;;
	esac
	[ "$(value NET_QUEUES)" = 2 ] && [ "$(value NET_TXQUEUES)" = 2 ] ||
		{ why="the guest's eth0 has $(value NET_QUEUES) rx and $(value NET_TXQUEUES) tx queues with -c 2, expected 2"; return 1; }
}

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

# --boot-trace on riscv64: lkvm's phases in order, the guest's markers
# written where the device tree's lkvm,boot-marker node says, and
# --until-marker ending the VM (status 0) while the guest sleeps.
case_boot_trace() {
	rm -f "$W/trace.json"
	l2 boot-trace none -c 1 --boot-trace "$W/trace.json" --until-marker 9 \
		-p "$Q lkvmtest=bootmark"
	expect_marker && expect_line '^BOOTMARK=7' "the guest never wrote its first marker" &&
		no_panic && expect_status 0 || return 1
	[ "$(value BOOTMARK_NODE)" = boot-marker@10002000 ] ||
		{ why="device-tree node: '$(value BOOTMARK_NODE)'"; return 1; }
	! grep -q '^BOOTMARK=still-running' "$TXT" ||
		{ why="--until-marker 9 did not stop the VM"; return 1; }
	trace_check "$W/trace.json" $((CS * 10000)) @vmm "i:first console byte" \
		"i:marker 7" "i:marker 9" "i:stop: guest power-off" "X:stop vCPUs" \
		"X:tear down" "i:exit" || return 1
	grep -q '"name":"exits","cat":"exits","ph":"C".*"args":{.*"MMIO":[1-9]' "$W/trace.json" ||
		{ why="no exit counters with MMIO exits"; return 1; }
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
		pvpanic@10001000 qemu,pvpanic-mmio boot-marker@10002000 lkvm,boot-marker; do
		grep -aq -e "$want\$" "$W/x.strings" || { why="the DTB of -c 2 has no '$want'"; return 1; }
	done
}

# --- driver ------------------------------------------------------------------

run_cases $E2E_CASES
