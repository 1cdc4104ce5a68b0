#!/bin/bash
# virtio-9p benchmark: lkvm's 9p server against QEMU's virtfs, both serving
# a directory on the same tmpfs to the same Debian kernel as L2 inside one
# nested-KVM L1 (see tests/e2e/x86/run.sh). Not part of make check.
#
# usage: tests/bench/9p.sh [--lkvm PATH] [--runs N] [--mib N] [--files N]
#                          [--msize BYTES] [--timeout S]
#
#   --lkvm PATH     lkvm binary (default: ./lkvm at the top)
#   --runs N        boots per VMM (default 1), alternating
#   --mib N         MiB written then read sequentially (default 256)
#   --files N       files created, stat'ed and unlinked (default 5000)
#   --msize BYTES   9p msize asked by the guest, both VMMs (default 524288;
#                   Linux 6.1's virtio transport caps it at 512000)
#   --timeout S     limit for the whole L1 run (default 1800, or 450 s per
#                   run plus 300 s when that is more)
#
# lkvm runs `--9p DIR,bench`; QEMU runs `-virtfs local,path=DIR,
# mount_tag=bench,security_model=none` on -M pc (virtio-9p-pci, the same
# transport as lkvm's default). The guest mounts with trans=virtio,
# version=9p2000.L and cache=none (the default), and p9bench
# (tests/bench/tools/p9bench.c, static) does 1 MiB sequential writes (then fsync) and, after dropping
# the guest's caches, reads of --mib MiB, then creates, stats and unlinks
# --files empty files. Prints every measurement, then MB/s and ops/s per
# VMM (medians) and lkvm/QEMU. Absolute numbers under TCG mean little;
# compare within one run.
set -eu
LKVM_PROG=9p-bench
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
runs=1 mib=256 files=5000 msize=524288
l1_timeout=

usage() { sed -n '/^# usage:/,/^#   --timeout/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--files) files=$2; shift 2 ;;
	--msize) msize=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "9p-bench: unknown option '$1'" >&2; usage ;;
	esac
done
if [ -z "$l1_timeout" ]; then
	case "$runs" in ''|*[!0-9]*) ;; *) l1_timeout=$((300 + 450 * runs)) ;; esac
	[ "${l1_timeout:-0}" -ge 1800 ] || l1_timeout=1800
fi
for n in "$runs" "$mib" "$files" "$msize" "$l1_timeout"; do
	case "$n" in ''|*[!0-9]*|0) lkvm_die "--runs, --mib, --files, --msize and --timeout need positive numbers" ;; esac
done

lkvm_check_host_tools
lkvm_check_vmm "" "$lkvm_bin"
lkvm_fetch_kernel

# The guest's benchmark tool, static, into the virtio initramfs.
p9bench=$(lkvm_build_static_tool p9bench "$LKVM_TESTS_DIR/bench/tools/p9bench.c") || exit 2
lkvm_build_l2_virtio_initrd "$p9bench:/usr/bin/p9bench"

lkvm_scratch 9pbench
printf 'BENCH_RUNS=%s\nBENCH_MIB=%s\nBENCH_FILES=%s\nBENCH_MSIZE=%s\nBENCH_TIMEOUT=%s\n' \
	"$runs" "$mib" "$files" "$msize" 600 >"$conf"
# lkvm_stage_l1 wants L2_INITRD; the plain image is not used here.
L2_INITRD=$L2_VIRTIO_INITRD
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/bench/9p-l1.sh" "$conf"
rm -f "$stage/l2/initrd.cpio.gz"
cp "$L2_VIRTIO_INITRD" "$stage/l2/initrd-bench.cpio.gz"
lkvm_stage_qemu "$stage"
lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-9pbench")

lkvm_log "lkvm: $vmm_desc --9p; qemu: $(command -v qemu-system-x86_64) -M pc -virtfs local,security_model=none; $runs run(s)"
# L1 RAM: the exported tmpfs holds the big file once; 2 GiB as in the e2e
# run unless the file needs more.
l1_mem=2048
[ $((mib + 1024)) -le 2048 ] || l1_mem=$((mib + 1024))
lkvm_bench_boot_l1 9pbench "$l1_image" "$l1_timeout" "$l1_mem"

ok=1
lkvm_bench_finished 9p-bench "$results" "$log" || ok=0

# get VMM OP FIELD: that field of every matching measurement
get() {
	sed -n "s/^BENCH 9p vmm=$1 run=[0-9]* op=$2 .* $3=\([0-9.]*\).*/\1/p" "$results"
}

ms=$(sed -n 's/^BENCH 9p vmm=\([a-z]*\) run=[0-9]* msize=\([0-9]*\)$/\1 \2/p' "$results" | sort -u | paste -sd, - | sed 's/,/, /g')
echo
echo "virtio-9p inside one L1 (${mib} MiB sequential in 1 MiB requests, $files files; msize in use: ${ms:-?}; console: $log)"
printf '%-9s %16s %16s %10s\n' op lkvm qemu lkvm/qemu
for op in seqwrite seqread create stat unlink meta; do
	case $op in seq*) f=mbps u=MB/s ;; *) f=ops u=ops/s ;; esac
	a=$(get lkvm $op $f | median) b=$(get qemu $op $f | median)
	r=$(awk -v a="${a:-0}" -v b="${b:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-9s %16s %16s %10s\n' $op "${a:--} $u" "${b:--} $u" "$r"
	[ -n "$a" ] && [ -n "$b" ] || ok=0
done
[ "$ok" = 1 ] || { echo "9p-bench: FAILED (see above)"; exit 1; }
