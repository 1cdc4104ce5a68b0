#!/bin/bash
# End-to-end tests of a riscv64 lkvm with real Linux guests, nested:
# qemu-system-riscv64 (TCG, -cpu rv64,h=true) boots Debian 13's riscv64
# kernel as L1, whose kvm.ko gives /dev/kvm; inside it the static riscv64
# lkvm boots the same kernel as L2 with a busybox initramfs, once per case.
#
# usage: tests/e2e/riscv/run.sh [--lkvm PATH] [--cases a,b,...]
#                               [--case-timeout S] [--timeout S] [--l1-smp N]
#                               [--l1-only] [--verbose] [--build-only]
#
#   --lkvm PATH        the static riscv64 lkvm (default: build/riscv64/lkvm,
#                      from make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
#                      O=build/riscv64)
#   --cases LIST       comma-separated subset of the cases, in that order
#   --case-timeout S   per-case limit inside L1 (default 120)
#   --timeout S        limit for the whole L1 run (default 120 + 60 per case)
#   --l1-smp N         harts of L1 (default 1)
#   --l1-only          no lkvm, no cases: boot L1 until /dev/kvm is there
#                      (checks the harness and the nested setup)
#   --verbose          stream the whole L1 console (always saved to a log)
#   --build-only       build the images, print the L1 image's path, stop
#
# Prints one "E2E <case>: PASS|FAIL ..." line per case, the wall time of
# each case and of the whole run, and ends with "N passed, N failed";
# exits 0 only if every requested case passed.
set -eu
LKVM_PROG=riscv-e2e
. "$(dirname "$0")/guest.sh"

ALL_CASES="boot-marker boot-trace smp-2 cmdline serial-shell virtio-blk virtio-blk-pci rng 9p virtio-pci-all irqchip-aia-pci irqchip-aia-mmio net-user net-user-pci net-tap net-tap-pci reboot earlycon dump-dtb"
lkvm_bin=$LKVM_TOP/build/riscv64/lkvm
cases=$ALL_CASES
case_timeout=120
l1_timeout=
l1_smp=1
l1_only=0
verbose=0
build_only=0

usage() { sed -n '/^# usage:/,/^# exits 0/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--cases) cases=${2//,/ }; shift 2 ;;
	--case-timeout) case_timeout=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	--l1-smp) l1_smp=$2; shift 2 ;;
	--l1-only) l1_only=1; shift ;;
	--verbose|-v) verbose=1; shift ;;
	--build-only) build_only=1; shift ;;
	-h|--help) usage ;;
	*) echo "riscv-e2e: unknown option '$1'" >&2; usage ;;
	esac
done
[ "$l1_only" = 0 ] || cases=
n_expected=$(lkvm_count_cases "$ALL_CASES" "$cases") || exit 2
[ -n "$l1_timeout" ] || l1_timeout=$((120 + 60 * n_expected))

t_start=$(lkvm_now_ms)
lkvm_need qemu-system-riscv64 qemu-system-misc
lkvm_need_file /usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin opensbi
lkvm_need_file /bin/busybox busybox-static
lkvm_need cpio cpio
lkvm_need gzip gzip
lkvm_need xz xz-utils
lkvm_need strings binutils
lkvm_need timeout coreutils
if [ "$l1_only" = 0 ]; then
	[ -e "$lkvm_bin" ] || lkvm_die "no lkvm binary at $lkvm_bin (build it with 'make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- O=build/riscv64', or pass --lkvm PATH)"
	[ -f "$lkvm_bin" ] && [ -x "$lkvm_bin" ] || lkvm_die "$lkvm_bin is not an executable file"
	if command -v file >/dev/null 2>&1; then
		file -L "$lkvm_bin" | grep -q 'RISC-V.*statically linked' ||
			lkvm_die "$lkvm_bin is not a static riscv64 executable: $(file -L "$lkvm_bin" | cut -d: -f2-)"
	fi
fi

rv_guest
KIMAGE=$RV_KIMAGE
KMODS=$RV_KMODS
LKVM_BUSYBOX=$RV_BUSYBOX
# The modules L2 needs: the virtio-mmio transport (virtio-pci is built in),
# the block, rng and net drivers (the hw_random core and virtio_console are
# built in; virtio_net needs net_failover and failover), 9p over virtio
# (with 9pnet and netfs). L1 needs kvm (no dependencies in this kernel) and,
# for the net-tap cases, tun (in /modules, insmod'ed by the case).
RV_L2_MODULES="virtio_mmio virtio_blk virtio-rng virtio_net 9pnet_virtio 9p"
LKVM_L1_MODULES=kvm
LKVM_L2_KERNEL=Image

# --- the images ---------------------------------------------------------------
lkvm_build_l2_image rv-l2 "$LKVM_TESTS_DIR/e2e/riscv/l2-init.sh" "$RV_L2_MODULES"
L2_INITRD=$L2_IMAGE
lkvm_scratch rv-e2e
{
	printf 'E2E_CASES="%s"\n' "$cases"
	printf 'E2E_TIMEOUT=%s\n' "$case_timeout"
} >"$conf"
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/e2e/riscv/cases.sh" "$conf"
lkvm_stage_l1_tun "$stage"
if [ "$l1_only" = 1 ]; then
	printf '#!/bin/sh\necho "E2E-L1-ONLY /dev/kvm: $(ls -l /dev/kvm)"\ndmesg | grep -i -e kvm -e aia -e imsic | sed "s/^/E2E-L1-DMESG /"\n' >"$stage/payload.sh"
else
	install -D -m 755 "$lkvm_bin" "$stage/usr/bin/lkvm"
fi
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/rv-l1")
rm -f "$conf"
t_built=$(lkvm_now_ms)
if [ "$build_only" = 1 ]; then
	echo "$l1_image"
	exit 0
fi

lkvm_log "lkvm under test: $([ "$l1_only" = 1 ] && echo none || echo "$lkvm_bin")"
lkvm_log "L1 image ${l1_image##*/} ($(du -h "$l1_image" | cut -f1)), kernel $RV_KVER, L1 harts $l1_smp, cases: ${cases:-none}"

# --- boot L1 and watch its console ---------------------------------------------
# L1 is qemu-system-riscv64's virt machine with the hypervisor extension.
# Its harts have AIA (Smaia/Ssaia) and its wired interrupts go through an
# APLIC, so L1's KVM offers the in-kernel AIA (emulated IMSICs) that
# --irqchip aia uses.  (aia=aplic-imsic hangs Debian's 6.12 L1 on QEMU 7.2
# once its serial console takes interrupts.)
LKVM_L1_MACHINE=(qemu-system-riscv64 -M virt,aia=aplic
	-cpu rv64,h=true,x-smaia=true,x-ssaia=true -smp "$l1_smp")
# What lkvm_watch_l1 shows of the emulated CPU when L1 wedges.
LKVM_L1_DIAG_RE='^ *(pc|mstatus|hstatus|mcause|scause|sepc|mip|mie) '

lkvm_new_log riscv-e2e
log=$LOG
lkvm_e2e_console "$verbose"
: >"$results"
lkvm_boot_l1 "$l1_image" "$l1_timeout" | lkvm_watch_l1 150 "$log" "$results"
l1_rc=$(sed -n 's/^E2E-HOST-QEMU-EXIT //p' "$results" | tail -n1)
t_end=$(lkvm_now_ms)

# --- verdict -----------------------------------------------------------------
lkvm_e2e_verdict riscv-e2e "$cases" "$results" "$log" "$l1_rc" "$l1_timeout"
grep -q '^E2E-L1-FATAL' "$results" && failed=$((failed + 1))
grep -q '^E2E-L1-DONE' "$results" || [ "$n_expected" -gt 0 ] || failed=$((failed + 1))
if [ "$l1_only" = 1 ] && grep -q '^E2E-L1-KVM-READY' "$results"; then
	passed=$((passed + 1))
	echo "E2E l1-kvm-ready: PASS"
elif [ "$l1_only" = 1 ]; then
	echo "E2E l1-kvm-ready: FAIL no /dev/kvm in L1"
	[ "$failed" -gt 0 ] || failed=1
fi

l1_kvm=$(sed -n 's/^E2E-L1-KVM-READY uptime=\([0-9.]*s\).*/\1/p' "$results" | head -n1)
echo "riscv-e2e: case wall times: $(sed -n 's/^E2E-TIME \([^ ]*\) \([0-9.]*s\).*/\1 \2,/p' "$results" | tr '\n' ' ' | sed 's/, *$//')"
echo "riscv-e2e: image build $(((t_built - t_start) / 1000))s, L1 run $(((t_end - t_built) / 1000))s (L1 kvm ready at uptime ${l1_kvm:-?}), total $(((t_end - t_start) / 1000))s; full console: $log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -ge "$n_expected" ]
