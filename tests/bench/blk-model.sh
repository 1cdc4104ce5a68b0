#!/bin/bash
# Device-model throughput: lkvm's virtio-blk device and disk backends driven
# on the host by tests/bench/tools/blkbench.c (a fake guest on a real ring,
# no KVM), against fio doing the same workloads directly on the same file with the
# matching I/O engine. Shows what the device model costs over the raw
# backend. Not part of make check; needs fio (./deps.sh installs it).
#
# usage: tests/bench/blk-model.sh [--secs S] [--qd N] [--mib N] [--direct]
#                                 [--dir DIR]
#
#   --secs S    seconds per workload (default 5)
#   --qd N      requests in flight (default 32)
#   --mib N     size of the test file (default 512)
#   --direct    O_DIRECT for both (the file system under DIR must allow it)
#   --dir DIR   where the test file goes (default ${TMPDIR:-/var/tmp})
#
# Workloads (as blkbench defines them): seqwrite and seqread with 128 KiB
# requests, randread with 4 KiB requests. Engines: io_uring <-> fio
# io_uring, libaio <-> fio libaio, sync (lkvm's thread pool of min(qd, 16)
# threads) <-> fio psync with as many jobs. Prints MB/s and IOPS for both
# and blkbench as a percentage of fio.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=5 qd=32 mib=512 direct=0 dir=${TMPDIR:-/var/tmp}

usage() { sed -n '/^# usage:/,/^#   --dir/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "blk-model: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--secs) secs=$2; shift 2 ;;
	--qd) qd=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--direct) direct=1; shift ;;
	--dir) dir=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "blk-model: unknown option '$1'" >&2; usage ;;
	esac
done
for n in "$secs" "$qd" "$mib"; do
	case "$n" in ''|*[!0-9]*|0) die "--secs, --qd and --mib need positive numbers" ;; esac
done
command -v fio >/dev/null || die "fio not found; install the Debian package 'fio' (apt-get install fio)"

# --- build blkbench against lkvm's objects (the Makefile's rule) ----------
cd "$top"
bench=build/bench/blkbench
make -s "$bench" >/dev/null || die "building $bench failed (make $bench)"

# --- the test file -----------------------------------------------------------
img=$dir/lkvm-blk-model.$$.img
trap 'rm -f "$img" "$img".out' EXIT
dd if=/dev/zero of="$img" bs=1M count="$mib" conv=fsync status=none || die "cannot write $img"

dflag=
[ "$direct" = 0 ] || dflag=--direct
"$bench" --backend all --qd "$qd" --secs "$secs" $dflag "$img" | tee "$img.out" |
	sed 's/^/  /'
# A benchmark whose device model failed must not print a table of dashes.
[ "$(grep -c '^BLKBENCH .* errors=0$' "$img.out")" -eq 9 ] ||
	die "blkbench did not complete all 9 backend/workload runs without errors (see above)"

# fio_run ENGINE WORKLOAD: "MBps IOPS" of fio on the same file.
# --invalidate=0: fio would otherwise drop the file's page cache before
# each job, and buffered runs would compare the page cache with the disk.
fio_run() {
	local eng=$1 rw bs jobs=1 depth=$qd t
	case "$2" in
	seqwrite) rw=write bs=128k ;;
	seqread) rw=read bs=128k ;;
	randread) rw=randread bs=4k ;;
	esac
	if [ "$eng" = psync ]; then
		jobs=$((qd < 16 ? qd : 16)) depth=1
	fi
	t=$(fio --name=model --filename="$img" --rw=$rw --bs=$bs --ioengine="$eng" \
		--iodepth=$depth --numjobs=$jobs --group_reporting --direct="$direct" --invalidate=0 \
		--size="${mib}M" --time_based --runtime="$secs" --minimal 2>/dev/null) || return 1
	# terse v3: read KB/s and IOPS are fields 7-8, write 48-49.
	if [ "$rw" = write ]; then
		echo "$t" | awk -F';' '{ printf "%.1f %d\n", $48 * 1024 / 1e6, $49 }'
	else
		echo "$t" | awk -F';' '{ printf "%.1f %d\n", $7 * 1024 / 1e6, $8 }'
	fi
}

echo
echo "virtio-blk device model vs fio on $img's file system (qd $qd, ${secs}s each, direct=$direct)"
printf '%-9s %-9s %12s %12s %9s %12s %12s %9s\n' backend workload "model MB/s" "fio MB/s" "%" "model IOPS" "fio IOPS" "%"
for be in io_uring libaio sync; do
	case $be in sync) eng=psync ;; *) eng=$be ;; esac
	for w in seqwrite seqread randread; do
		line=$(grep "backend=$be workload=$w " "$img.out" | head -n1)
		mm=$(echo "$line" | sed -n 's/.* mbps=\([0-9.]*\).*/\1/p')
		mi=$(echo "$line" | sed -n 's/.* iops=\([0-9]*\).*/\1/p')
		set -- $(fio_run "$eng" "$w" || echo "- -")
		printf '%-9s %-9s %12s %12s %9s %12s %12s %9s\n' $be $w "${mm:--}" "$1" \
			"$(awk -v a="${mm:-0}" -v b="$1" 'BEGIN { if (a > 0 && b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')" \
			"${mi:--}" "$2" \
			"$(awk -v a="${mi:-0}" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')"
	done
done
