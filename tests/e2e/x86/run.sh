#!/bin/bash
# End-to-end tests of lkvm with real Linux guests.
#
# The host's /dev/kvm cannot boot stock kernels, so the tests run nested:
# QEMU (TCG, emulated AMD SVM) boots an L1 Debian kernel whose kvm-amd gives
# a real /dev/kvm; inside it lkvm boots the same kernel as L2 with a busybox
# initramfs, once per case. One L1 boot runs all cases.
#
# usage: tests/e2e/x86/run.sh [--lkvm PATH] [--vmm-wrapper SCRIPT | --qemu-shim]
#                             [--cases a,b,...] [--case-timeout S] [--timeout S]
#                             [--transport T] [--verbose] [--build-only]
#
#   --lkvm PATH          the lkvm binary to test (default: ./lkvm at the top)
#   --vmm-wrapper SCRIPT install SCRIPT as lkvm inside L1 instead, together
#                        with qemu-system-x86_64 (its libraries and microvm
#                        firmware) for the script to call; also
#                        LKVM_E2E_WRAPPER=SCRIPT
#   --qemu-shim          same as --vmm-wrapper tests/e2e/x86/qemu-shim.sh: runs
#                        the cases with QEMU as the L2 VMM (checks the
#                        harness itself)
#   --cases LIST         comma-separated subset of the cases, in that order
#   --case-timeout S     per-case limit inside L1 (default 120)
#   --timeout S          limit for the whole L1 run (default 600, or 45 s
#                        per case plus 120 s when that is more)
#   --transport T        run the transport-neutral virtio cases with
#                        --virtio-transport T (pci-legacy, mmio, ...); the
#                        MSI-X and INTx cases are PCI-only
#   --verbose            stream the whole L1 console (always saved to a log)
#   --build-only         build the images, print the L1 image's path, stop
#
# Prints one "E2E <case>: PASS|FAIL ..." line per case and ends with
# "N passed, N failed"; exits 0 only if every expected case passed.
set -eu
LKVM_PROG=e2e
. "$(dirname "$0")/../lib/host.sh"

ALL_CASES="boot-marker boot-trace smp-2 smp-2-acpi-off mem-size hugetlbfs mem-above-4g platform-devices cmdline-append stdin-to-shell reboot-exit0 poweroff-exit0 panic-exit pvpanic-exit pvpanic-exit-mmio pvpanic-reboot-exit0 triple-fault-exit0 internal-error pvh-vmlinux missing-kernel bad-kernel
virtio-blk virtio-blk-two-disks virtio-blk-multiqueue virtio-pci-msix virtio-blk-ro virtio-blk-discard virtio-blk-lock
virtio-blk-pci-legacy virtio-blk-mmio virtio-blk-mmio-legacy virtio-pci-intx
virtio-blk-aio-io_uring virtio-blk-aio-libaio virtio-blk-aio-sync virtio-blk-direct-bdev disk-root-default
virtio-console virtio-rng net-user net-default net-tap net-tap-mq net-tap-vhost net-tap-vhost-legacy
9p-create-read-write 9p-append-truncate 9p-rename 9p-links 9p-chmod-mkdir 9p-readdir-2000 9p-big-file 9p-host-files
9p-ro-export 9p-hostile-symlink 9p-hostile-dotdot 9p-hostile-swap 9p-hostile-special-files 9p-hostile-ownership 9p-outside-unchanged
9p-mmio
sandbox-exit-status sandbox-true sandbox-host-file sandbox-panic setup-sandbox run-9p-root-shell net-sandbox net-none
bench-boot"
ALL_CASES=$(echo $ALL_CASES)

lkvm_bin=$LKVM_TOP/lkvm
wrapper=${LKVM_E2E_WRAPPER:-}
cases=$ALL_CASES
case_timeout=120
l1_timeout=
verbose=0
transport=
build_only=0

usage() { sed -n '/^# usage:/,/^# "N passed/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--vmm-wrapper) wrapper=$2; shift 2 ;;
	--qemu-shim) wrapper=$LKVM_TESTS_DIR/e2e/x86/qemu-shim.sh; shift ;;
	--cases) cases=${2//,/ }; shift 2 ;;
	--case-timeout) case_timeout=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	--transport) transport=$2; shift 2 ;;
	--verbose|-v) verbose=1; shift ;;
	--build-only) build_only=1; shift ;;
	-h|--help) usage ;;
	*) echo "e2e: unknown option '$1'" >&2; usage ;;
	esac
done
n_expected=$(lkvm_count_cases "$ALL_CASES" "$cases") || exit 2
if [ -z "$l1_timeout" ]; then
	l1_timeout=$((120 + 45 * n_expected))
	[ "$l1_timeout" -ge 600 ] || l1_timeout=600
fi

t_start=$(lkvm_now_ms)
lkvm_check_host_tools
lkvm_check_vmm "$wrapper" "$lkvm_bin"

lkvm_fetch_kernel
lkvm_build_l2_initrd
# ethstats (tests/e2e/tools/ethstats.c): the net cases' per-queue counters.
ethstats=$(lkvm_build_static_tool ethstats "$LKVM_TESTS_DIR/e2e/tools/ethstats.c") || exit 2
lkvm_build_l2_virtio_initrd "$ethstats:/usr/bin/ethstats"

# --- the L1 image -------------------------------------------------------------
lkvm_scratch e2e
# build_l1_image CASES: stage and pack the L1 image that runs CASES; sets
# l1_image.
build_l1_image() {
	{
		printf 'E2E_CASES="%s"\n' "$1"
		printf 'E2E_TIMEOUT=%s\n' "$case_timeout"
		printf 'VMM=lkvm\n'
		printf 'E2E_TRANSPORT=%s\n' "$transport"
	} >"$conf"
	lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/e2e/x86/cases.sh" "$conf"
	# Extras for single cases: the uncompressed vmlinux (PVH boot) and the smoke
	# stand-in kernel (a real triple fault, which a healthy Linux never does).
	case " $1 " in *" pvh-vmlinux "*)
		lkvm_extract_vmlinux
		cp "$VMLINUX" "$stage/l2/vmlinux" ;;
	esac
	lkvm_build_smoke_guest "$stage/l2/smoke.bzImage"
	# The virtio cases: their L2 initramfs, and L1's tools to check the disks.
	cp "$L2_VIRTIO_INITRD" "$stage/l2/initrd-virtio.cpio.gz"
	lkvm_stage_l1_disk_tools "$stage"
	# The net cases: tun for L1's tap.
	lkvm_stage_l1_net_tools "$stage"
	# lkvm sandbox: L1's own kernel and modules where a Debian host has them.
	lkvm_stage_l1_sandbox "$stage"
	if [ -n "$wrapper" ]; then
		install -m 755 "$wrapper" "$stage/usr/bin/lkvm"
		lkvm_stage_qemu "$stage"
	else
		lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
	fi
	# Cache the packed image by the hash of everything staged.
	l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-e2e")
	rm -f "$conf"
}
build_l1_image "$cases"
t_built=$(lkvm_now_ms)
if [ "$build_only" = 1 ]; then
	echo "$l1_image"
	exit 0
fi

lkvm_log "VMM under test: $vmm_desc"
lkvm_log "L1 image ${l1_image##*/} ($(du -h "$l1_image" | cut -f1)), kernel $KVER, cases: $cases"

# --- boot L1 and watch its console ---------------------------------------------
lkvm_new_log e2e
log=$LOG
lkvm_e2e_console "$verbose"
: >"$results"
lkvm_boot_l1 "$l1_image" "$l1_timeout" | lkvm_watch_l1 150 "$log" "$results"
touch "$results"
# QEMU 7.2's TCG now and then stops delivering L1's interrupts (README.md,
# "Known problems"); the watchdog kills such an L1.  That is the emulator's
# failure, not a case's: boot a fresh L1, once, for the cases it did not
# finish (the one it was in included).
if grep -q '^E2E-HOST-L1-WEDGED' "$results" && ! grep -q '^E2E-L1-DONE' "$results"; then
	rest=
	for c in $cases; do
		grep -qE "^E2E $c: (PASS|FAIL)" "$results" || rest="$rest $c"
	done
	if [ -n "$rest" ]; then
		echo "$(stamp) E2E-HOST-RETRY L1 wedged; a fresh L1 for:$rest"
		build_l1_image "${rest# }"
		sed -i 's/^E2E-HOST-L1-WEDGED/E2E-HOST-RETRIED-WEDGE/' "$results"
		lkvm_boot_l1 "$l1_image" "$l1_timeout" | lkvm_watch_l1 150 "$log" "$results"
	fi
fi
l1_rc=$(sed -n 's/^E2E-HOST-QEMU-EXIT //p' "$results" | tail -n1)
t_end=$(lkvm_now_ms)

# --- verdict -----------------------------------------------------------------
lkvm_e2e_verdict e2e "$cases" "$results" "$log" "$l1_rc" "$l1_timeout"

l1_boot=$(sed -n 's/^E2E-L1-KVM-READY uptime=\([0-9.]*s\).*/\1/p' "$results" | head -n1)
echo "e2e: image build $(((t_built - t_start) / 1000))s, L1 run $(((t_end - t_built) / 1000))s (L1 kvm ready at uptime ${l1_boot:-?}), total $(((t_end - t_start) / 1000))s; full console: $log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" = "$n_expected" ] && [ "$seen" = "$n_expected" ]
