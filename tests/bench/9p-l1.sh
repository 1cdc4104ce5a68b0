#!/bin/sh
# virtio-9p benchmark, inside L1 (busybox sh) as /payload.sh; see
# tests/bench/9p.sh. Boots the L2 kernel with lkvm and with QEMU, in turn,
# each serving the same empty directory on a tmpfs, and runs
# p9bench (tests/bench/tools/) in the guest (lkvmtest=9pbench in
# tests/e2e/x86/l2-init.sh): sequential write and read of a big file, then
# create + stat + unlink of many small files.
#
#   lkvm  --9p DIR,bench
#   QEMU  -M pc -virtfs local,path=DIR,mount_tag=bench,security_model=none
#         (virtio-9p-pci: the same transport as lkvm's default)
#
# /etc/lkvm-test.conf sets BENCH_RUNS, BENCH_MIB, BENCH_FILES, BENCH_MSIZE,
# BENCH_TIMEOUT.
. /etc/lkvm-test.conf
BENCH_RUNS=${BENCH_RUNS:-1}
BENCH_MIB=${BENCH_MIB:-256}
BENCH_FILES=${BENCH_FILES:-5000}
BENCH_MSIZE=${BENCH_MSIZE:-524288}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
K=/l2/bzImage
I=/l2/initrd-bench.cpio.gz
P="lkvmtest=9pbench lkvm9pbench=$BENCH_MIB,$BENCH_FILES,$BENCH_MSIZE"
W=/tmp/bench
SHARE=/tmp/share/dir
mkdir -p "$W" /tmp/share
mount -t tmpfs -o size=$((BENCH_MIB + 256))m tmpfs /tmp/share

# A heartbeat tells the host that L1 is alive while a guest is quiet
# (l1_heartbeat: tests/e2e/lib/l1-lib.sh, in L1 as /l1-lib.sh).
. /l1-lib.sh
l1_heartbeat

# run_one VMM RUN: one boot on an empty export; prints a BENCH line per
# measurement.
run_one() {
	vmm=$1 run=$2 log=$W/$1-$2.log
	rm -rf "$SHARE"
	mkdir -p "$SHARE"
	if [ "$vmm" = lkvm ]; then
		set -- lkvm run -k $K -i $I -m 256 -c 1 -n none --9p "$SHARE,bench" -p "$P"
	else
		set -- qemu-system-x86_64 -M pc -bios /usr/share/qemu/bios-microvm.bin -nodefaults \
			-enable-kvm -cpu host -m 256 -smp 1 -display none -monitor none \
			-serial stdio -no-reboot \
			-virtfs "local,path=$SHARE,mount_tag=bench,security_model=none" \
			-kernel $K -initrd $I -append "console=ttyS0 reboot=k panic=-1 $P"
	fi
	l1_bench_boot "$log" "$vmm run=$run" "$@"
	rc=$?
	tr -d '\r' <"$log" | sed -n "s/^P9BENCH /BENCH 9p vmm=$vmm run=$run /p"
	tr -d '\r' <"$log" | sed -n "s/^P9BENCH-MSIZE /BENCH 9p vmm=$vmm run=$run msize=/p"
	l1_bench_check "$rc" "$log" 6 '^P9BENCH op=' "$vmm run=$run" "$vmm-$run"
}

echo "BENCH-CONFIG runs=$BENCH_RUNS mib=$BENCH_MIB files=$BENCH_FILES msize=$BENCH_MSIZE"
i=1
while [ "$i" -le "$BENCH_RUNS" ]; do
	for vmm in lkvm qemu; do
		run_one $vmm $i
	done
	i=$((i + 1))
done
echo "BENCH-END"
kill "$hb" 2>/dev/null
