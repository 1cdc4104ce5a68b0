#!/bin/bash
# Block I/O benchmark: lkvm's virtio-blk against QEMU's, both running the
# same Debian kernel as L2 inside one nested-KVM L1 (see tests/e2e/x86/run.sh),
# on the same backing store with the same caching mode. Not part of
# make check.
#
# usage: tests/bench/blk-io.sh [--lkvm PATH] [--runs N] [--mib N]
#                              [--secs N] [--depth N] [--modes LIST]
#                              [--baseline PATH] [--timeout S]
#
#   --lkvm PATH    lkvm binary (default: ./lkvm at the top)
#   --runs N       boots per VMM and mode (default 1), alternating
#   --mib N        MiB written then read sequentially (default 128)
#   --secs N       seconds of 4 KiB random reads (default 10)
#   --depth N      random reads in flight (default 32)
#   --modes LIST   buffered,direct (default both): an image file on tmpfs
#                  through the page cache (QEMU cache=writeback), or a brd
#                  ramdisk with O_DIRECT (lkvm ,direct; QEMU cache=none)
#   --baseline PATH  another lkvm binary (an earlier build) measured in
#                  the same runs as "base", with lkvm/base ratios
#   --timeout S    limit for the whole L1 run (default 1800)
#
# In the guest, blkio (tests/bench/tools/blkio.c, static) does O_DIRECT
# sequential 1 MiB writes and reads and Linux-AIO 4 KiB random reads on
# /dev/vda. Prints
# every measurement, then MB/s and IOPS per VMM (medians) and lkvm/QEMU.
# Absolute numbers under TCG mean little; compare within one run.
set -eu
LKVM_PROG=blk-bench
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
runs=1 mib=128 secs=10 depth=32 modes="buffered direct"
l1_timeout=1800
baseline=

usage() { sed -n '/^# usage:/,/^#   --timeout/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--depth) depth=$2; shift 2 ;;
	--modes) modes=${2//,/ }; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "blk-bench: unknown option '$1'" >&2; usage ;;
	esac
done
for n in "$runs" "$mib" "$secs" "$depth"; do
	case "$n" in ''|*[!0-9]*|0) lkvm_die "--runs, --mib, --secs and --depth need positive numbers" ;; esac
done
for m in $modes; do
	case "$m" in buffered|direct) ;; *) lkvm_die "unknown mode '$m' (buffered, direct)" ;; esac
done

[ -z "$baseline" ] || [ -x "$baseline" ] || lkvm_die "--baseline $baseline: not an executable"
vmms="lkvm qemu${baseline:+ base}"
lkvm_check_host_tools
lkvm_check_vmm "" "$lkvm_bin"
lkvm_fetch_kernel

# The guest's benchmark tool, static, into the virtio initramfs.
blkio=$(lkvm_build_static_tool blkio "$LKVM_TESTS_DIR/bench/tools/blkio.c") || exit 2
lkvm_build_l2_virtio_initrd "$blkio:/usr/bin/blkio"

lkvm_scratch blkbench
printf 'BENCH_RUNS=%s\nBENCH_MIB=%s\nBENCH_SECS=%s\nBENCH_DEPTH=%s\nBENCH_TIMEOUT=%s\nBENCH_MODES="%s"\nBENCH_VMMS="%s"\n' \
	"$runs" "$mib" "$secs" "$depth" 300 "$modes" "$vmms" >"$conf"
# lkvm_stage_l1 wants L2_INITRD; the plain image is not used here.
L2_INITRD=$L2_VIRTIO_INITRD
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/bench/blk-io-l1.sh" "$conf"
rm -f "$stage/l2/initrd.cpio.gz"
cp "$L2_VIRTIO_INITRD" "$stage/l2/initrd-bench.cpio.gz"
lkvm_stage_l1_disk_tools "$stage"
lkvm_stage_qemu "$stage"
lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
[ -z "$baseline" ] || lkvm_stage_binary "$stage" "$baseline" /usr/bin/lkvm-base
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-blkbench")

lkvm_log "lkvm: $vmm_desc; qemu: $(command -v qemu-system-x86_64) -M pc virtio-blk-pci; modes: $modes; $runs run(s)"
# More L1 RAM: the image (tmpfs) and the ramdisk hold the data twice.
lkvm_bench_boot_l1 blkbench "$l1_image" "$l1_timeout" $((2048 + 2 * mib))

ok=1
lkvm_bench_finished blk-bench "$results" "$log" || ok=0

# get VMM MODE OP FIELD: that field of every matching measurement
get() {
	sed -n "s/^BENCH blk vmm=$1 mode=$2 run=[0-9]* op=$3 .* $4=\([0-9.]*\).*/\1/p" "$results"
}

echo
echo "virtio-blk inside one L1 (guest O_DIRECT; ${mib} MiB sequential, ${secs}s 4 KiB random reads at depth $depth; console: $log)"
# quotient A B: A/B to two places, or - without both.
quotient() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
if [ -n "$baseline" ]; then
	printf '%-9s %-9s %12s %12s %12s %10s %10s\n' mode op lkvm qemu base lkvm/qemu lkvm/base
else
	printf '%-9s %-9s %12s %12s %10s\n' mode op lkvm qemu lkvm/qemu
fi
for m in $modes; do
	for op in seqwrite seqread randread; do
		if [ $op = randread ]; then f=iops u=IOPS; else f=mbps u=MB/s; fi
		a=$(get lkvm "$m" $op $f | median) b=$(get qemu "$m" $op $f | median)
		if [ -n "$baseline" ]; then
			c=$(get base "$m" $op $f | median)
			printf '%-9s %-9s %12s %12s %12s %10s %10s\n' "$m" $op "${a:--} $u" "${b:--} $u" \
				"${c:--} $u" "$(quotient "$a" "$b")" "$(quotient "$a" "$c")"
			[ -n "$c" ] || ok=0
		else
			printf '%-9s %-9s %12s %12s %10s\n' "$m" $op "${a:--} $u" "${b:--} $u" "$(quotient "$a" "$b")"
		fi
		[ -n "$a" ] && [ -n "$b" ] || ok=0
	done
done
[ "$ok" = 1 ] || { echo "blk-bench: FAILED (see above)"; exit 1; }
