#!/bin/sh
# Block I/O benchmark, inside L1 (busybox sh) as /payload.sh; see
# tests/bench/blk-io.sh. Boots the L2 kernel with lkvm and with QEMU, in
# turn, on the same backing store, and runs blkio (tests/bench/tools/) in
# the guest (lkvmtest=bench in tests/e2e/x86/l2-init.sh): O_DIRECT sequential
# write and read, then 4 KiB random reads at a queue depth, all on
# /dev/vda.
#
# Two backing stores, each with the matching caching mode in both VMMs:
#   buffered  an image file on tmpfs, through the host page cache:
#             lkvm --disk IMG (io_uring)  /  QEMU cache=writeback,aio=io_uring
#   direct    a brd ramdisk (/dev/ram0) with O_DIRECT:
#             lkvm --disk /dev/ram0,direct  /  QEMU cache=none,aio=io_uring
# QEMU runs -M pc (qboot firmware) with virtio-blk-pci: the same transport
# (modern virtio-pci, MSI-X, one queue per vCPU) as lkvm's default.
#
# /etc/lkvm-test.conf sets BENCH_RUNS, BENCH_MIB, BENCH_SECS, BENCH_DEPTH,
# BENCH_TIMEOUT, BENCH_MODES.
. /etc/lkvm-test.conf
BENCH_RUNS=${BENCH_RUNS:-1}
BENCH_MIB=${BENCH_MIB:-128}
BENCH_SECS=${BENCH_SECS:-10}
BENCH_DEPTH=${BENCH_DEPTH:-32}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
BENCH_MODES=${BENCH_MODES:-buffered direct}
BENCH_VMMS=${BENCH_VMMS:-lkvm qemu}
K=/l2/bzImage
I=/l2/initrd-bench.cpio.gz
# No network card: QEMU's side has none (-nodefaults), and lkvm gives
# one by default; a --baseline lkvm from before -n has none anyway.
BASE_NONIC=
if command -v lkvm-base >/dev/null && lkvm-base run --help 2>&1 | grep -q -- '--network'; then
	BASE_NONIC="-n none"
fi
P="lkvmtest=bench lkvmbench=$BENCH_MIB,$BENCH_SECS,$BENCH_DEPTH"
W=/tmp/bench
mkdir -p "$W" /tmp/disks
mount -t tmpfs -o size=$((BENCH_MIB + 256))m tmpfs /tmp/disks
IMG=/tmp/disks/bench.img
insmod /modules/brd.ko rd_nr=1 rd_size=$(((BENCH_MIB + 16) * 1024)) max_part=0 ||
	echo "BENCH-FAIL insmod brd failed"
# brd allocates its pages on first write: fill it once so that the first
# VMM does not pay for that alone.
dd if=/dev/zero of=/dev/ram0 bs=1M oflag=direct 2>/dev/null

# A heartbeat tells the host that L1 is alive while a guest is quiet
# (l1_heartbeat: tests/e2e/lib/l1-lib.sh, in L1 as /l1-lib.sh).
. /l1-lib.sh
l1_heartbeat

# run_one VMM MODE RUN: one boot; prints a BENCH line per measurement.
run_one() {
	vmm=$1 mode=$2 run=$3 log=$W/$1-$2-$3.log
	if [ "$mode" = buffered ]; then
		rm -f "$IMG"
		truncate -s $((BENCH_MIB + 16))M "$IMG"
		dev=$IMG lopt= qcache=writeback
	else
		dev=/dev/ram0 lopt=,direct qcache=none
	fi
	if [ "$vmm" = lkvm ] || [ "$vmm" = base ]; then
		# base: another lkvm build (blk-io.sh --baseline)
		bin=lkvm nonic="-n none"
		[ "$vmm" = lkvm ] || bin=lkvm-base nonic=$BASE_NONIC
		set -- $bin run -k $K -i $I -m 256 -c 1 $nonic --disk "$dev$lopt" -p "$P"
	else
		set -- qemu-system-x86_64 -M pc -bios /usr/share/qemu/bios-microvm.bin -nodefaults \
			-enable-kvm -cpu host -m 256 -smp 1 -display none -monitor none \
			-serial stdio -no-reboot \
			-drive "file=$dev,if=none,id=d0,format=raw,cache=$qcache,aio=io_uring" \
			-device virtio-blk-pci,drive=d0 \
			-kernel $K -initrd $I -append "console=ttyS0 reboot=k panic=-1 $P"
	fi
	l1_bench_boot "$log" "$vmm $mode run=$run" "$@"
	rc=$?
	tr -d '\r' <"$log" | sed -n "s/^BLKIO /BENCH blk vmm=$vmm mode=$mode run=$run /p"
	l1_bench_check "$rc" "$log" 3 '^BLKIO ' "$vmm $mode run=$run" \
		"$vmm-$mode-$run"
}

echo "BENCH-CONFIG runs=$BENCH_RUNS mib=$BENCH_MIB secs=$BENCH_SECS depth=$BENCH_DEPTH modes=$BENCH_MODES"
i=1
while [ "$i" -le "$BENCH_RUNS" ]; do
	for mode in $BENCH_MODES; do
		for vmm in $BENCH_VMMS; do
			run_one $vmm $mode $i
		done
	done
	i=$((i + 1))
done
echo "BENCH-END"
kill "$hb" 2>/dev/null
