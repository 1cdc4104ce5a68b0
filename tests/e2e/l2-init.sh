#!/bin/sh
# /init of the L2 test guest (busybox only). Reads lkvmtest=<case> from
# /proc/cmdline and acts on it; see tests/e2e/README.md.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Without a /dev/console node in the image the kernel gave us no stdio.
# With console=hvc0 alone (a kernel whose virtio_console is a module),
# /dev/console cannot be opened yet: fall back to the UART. (A failed
# redirection on exec would end this shell, so try it in a subshell.)
if [ ! -t 1 ]; then
	if (: </dev/console) 2>/dev/null; then
		exec </dev/console >/dev/console 2>&1
	else
		exec </dev/ttyS0 >/dev/ttyS0 2>&1
	fi
fi
# Keep late kernel messages from splitting our output lines (panics are
# KERN_EMERG and still print).
echo 1 >/proc/sys/kernel/printk

echo "LKVM-L2-INIT-OK"

# The virtio image (see lkvm_build_l2_virtio_initrd) carries the virtio and
# ext4 modules, dependencies first; the plain image has none.
if [ -f /etc/l2-modules ]; then
	for m in $(cat /etc/l2-modules); do
		insmod "/modules/$m" || echo "LKVM-L2-INSMOD-FAILED $m"
	done
fi

# pat TAG BYTES: the deterministic test pattern; L1 (tests/e2e/cases.sh)
# computes the same bytes with the same busybox to check the image files.
pat() { yes "lkvm-$1-0123456789abcdef" | head -c "$2"; }

# wait_dev PATH: devices appear as their drivers probe; give them 10 s.
wait_dev() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# blk_rw DEV: write the pattern of the disk's serial at three places (the
# start, a 512-byte-aligned offset that is not 4 KiB-aligned, and the last
# 12 KiB), with O_DIRECT so each write reaches the device, then read each
# back with O_DIRECT and compare. Prints DISK_<dev>=... lines for L1.
blk_rw() {
	d=${1#/dev/}
	wait_dev "/dev/$d" || { echo "DISK_$d=missing"; return 1; }
	size=$(blockdev --getsize64 "/dev/$d")
	serial=$(cat "/sys/block/$d/serial" 2>/dev/null)
	echo "DISK_${d}_SIZE=$size"
	echo "DISK_${d}_SERIAL=$serial"
	echo "DISK_${d}_DEVPATH=$(readlink -f "/sys/block/$d/device")"
	echo "DISK_${d}_FEATURES=$(cat "/sys/block/$d/device/features" 2>/dev/null)"
	echo "DISK_${d}_MQ=$(ls "/sys/block/$d/mq" 2>/dev/null | wc -l)"
	ok=ok
	for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
		set -- $r
		pat "$serial-$1" "$3" | dd of="/dev/$d" bs=4096 iflag=fullblock \
			oflag=seek_bytes,direct seek="$2" conv=notrunc,fsync 2>/dev/null ||
			{ ok="write-failed-at-$2"; break; }
	done
	# Read back through the device, not the page cache.
	if [ $ok = ok ]; then
		for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
			set -- $r
			want=$(pat "$serial-$1" "$3" | sha256sum | cut -d' ' -f1)
			got=$(dd if="/dev/$d" bs=4096 iflag=skip_bytes,direct skip="$2" \
				count=$(($3 / 4096)) 2>/dev/null | sha256sum | cut -d' ' -f1)
			[ "$want" = "$got" ] || { ok="readback-differs-at-$2"; break; }
		done
	fi
	echo "DISK_${d}_RW=$ok"
}

# virtio_irqs: the guest's interrupt lines for virtio devices.
virtio_irqs() {
	grep virtio /proc/interrupts | while read -r l; do echo "IRQ: $l"; done
}

t=
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest=*) t=${w#lkvmtest=} ;;
	esac
done

# lkvmtest= may list several actions separated by commas; they run in turn.
for a in $(echo "$t" | tr , ' '); do
case "$a" in
marker)
	;;
info)
	echo "NCPU=$(grep -c '^processor' /proc/cpuinfo)"
	echo "MEMTOTAL_KB=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)"
	echo "CMDLINE=$(cat /proc/cmdline)"
	# The platform: RTC time, the PCI host bridge, serial interrupts, RAM map.
	echo "EPOCH=$(date +%s)"
	echo "PCI_00_CLASS=$(cat /sys/bus/pci/devices/0000:00:00.0/class 2>/dev/null)"
	echo "TTYS0_IRQS=$(awk '/ttyS0/ { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i; else break; print n }' /proc/interrupts)"
	echo "RAM_ABOVE_4G=$(grep -c '^1[0-9a-f]\{8\}-.* : System RAM' /proc/iomem)"
	;;
shell)
	echo "LKVM-L2-SHELL-READY"
	sh
	echo "LKVM-L2-SHELL-DONE"
	;;
panic)
	echo "LKVM-L2-PANICKING"
	echo c >/proc/sysrq-trigger
	;;
reboot)
	;;
blk)
	# Two disks: vda gets an ext2 file system with files that L1 checks
	# with debugfs and e2fsck; vdb gets raw patterns that L1 checks with
	# cmp, and carries a region L1 wrote before the boot that the guest
	# must read back.
	blk_rw vdb
	wait_dev /dev/vda
	echo "DISK_vda_SIZE=$(blockdev --getsize64 /dev/vda)"
	echo "DISK_vda_SERIAL=$(cat /sys/block/vda/serial 2>/dev/null)"
	echo "DISK_vda_MQ=$(ls /sys/block/vda/mq 2>/dev/null | wc -l)"
	echo "PRE_SHA=$(dd if=/dev/vdb bs=4096 skip=1024 count=256 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
	mkdir -p /mnt
	if mke2fs -F /dev/vda >/tmp/mke2fs.log 2>&1 && mount -t ext2 /dev/vda /mnt; then
		echo "hello from the lkvm guest" >/mnt/hello.txt
		mkdir /mnt/dir
		pat big 300000 >/mnt/dir/big.bin
		sync
		umount /mnt
		# Again from the disk, not from the page cache.
		echo 3 >/proc/sys/vm/drop_caches
		mount -t ext2 -o ro /dev/vda /mnt &&
			echo "EXT2_READBACK=$(cat /mnt/dir/big.bin | sha256sum | cut -d' ' -f1)" &&
			umount /mnt
		echo "EXT2=written"
	else
		echo "EXT2=failed"
		cat /tmp/mke2fs.log
	fi
	virtio_irqs
	;;
blk-rw)
	# Every virtio disk in turn.
	for p in /sys/block/vd*; do
		[ -e "$p" ] && blk_rw "${p##*/}"
	done
	[ -e /sys/block/vda ] || echo "DISKS=none"
	virtio_irqs
	;;
blk-ro)
	wait_dev /dev/vda
	echo "RO_SYSFS=$(cat /sys/block/vda/ro)"
	echo "RO_GETRO=$(blockdev --getro /dev/vda)"
	echo "RO_SHA_GUEST=$(dd if=/dev/vda bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
	if pat ro 4096 | dd of=/dev/vda bs=4096 oflag=direct conv=notrunc,fsync 2>/tmp/dd.err; then
		echo "RO_DD=succeeded"
	else
		echo "RO_DD=failed: $(cat /tmp/dd.err)"
	fi
	mkdir -p /mnt
	if mount -t ext2 -o rw /dev/vda /mnt 2>/dev/null && touch /mnt/x 2>/dev/null; then
		echo "RO_MOUNT=writable"
	else
		echo "RO_MOUNT=refused"
	fi
	umount /mnt 2>/dev/null
	sync
	;;
blk-discard)
	wait_dev /dev/vda
	echo "DISCARD_MAX=$(cat /sys/block/vda/queue/discard_max_bytes)"
	# 16 MiB from 4 MiB on.
	if blkdiscard -o 4194304 -l 16777216 /dev/vda 2>/tmp/bd.err; then
		echo "BLKDISCARD=ok"
	else
		echo "BLKDISCARD=failed: $(cat /tmp/bd.err)"
	fi
	sync
	# The discarded range must read back as zeros from the device.
	echo "DISCARDED_SHA=$(dd if=/dev/vda bs=65536 skip=64 count=256 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
	;;
hold)
	# Keep the disk busy until L1 sends a line on the console.
	wait_dev /dev/vda
	echo "LKVM-L2-HOLDING"
	read -r _
	echo "LKVM-L2-RELEASED"
	;;
hvc)
	# virtio-console: output on hvc0 alone, then a shell on hvc0.
	if wait_dev /dev/hvc0; then
		echo "LKVM-L2-HVC-HELLO" >/dev/hvc0
		echo "LKVM-L2-HVC-READY"
		# No controlling terminal needed: the shell reads and writes hvc0.
		sh </dev/hvc0 >/dev/hvc0 2>&1
		echo "LKVM-L2-HVC-DONE"
	else
		echo "LKVM-L2-NO-HVC0"
	fi
	;;
rng)
	if wait_dev /dev/hwrng; then
		echo "RNG_CURRENT=$(cat /sys/class/misc/hw_random/rng_current)"
		echo "RNG_AVAILABLE=$(cat /sys/class/misc/hw_random/rng_available)"
		echo "RNG_BYTES=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
		echo "RNG_BIG=$(dd if=/dev/hwrng bs=4096 count=4 iflag=fullblock 2>/dev/null | wc -c)"
		echo "RNG_SHA1=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
		echo "RNG_SHA2=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
		echo "RNG_ZERO=$(head -c 64 /dev/zero | sha256sum | cut -d' ' -f1)"
	else
		echo "RNG_CURRENT=none"
	fi
	;;
bench)
	# tests/bench/blk-io.sh: lkvmbench=MiB,SECONDS,DEPTH; blkio is only in
	# the benchmark's image.
	set -- $(sed -n 's/.*lkvmbench=\([0-9,]*\).*/\1/p' /proc/cmdline | tr , ' ')
	if wait_dev /dev/vda; then
		blkio seqwrite /dev/vda "${1:-128}" &&
			blkio seqread /dev/vda "${1:-128}" &&
			blkio randread /dev/vda "${2:-10}" "${3:-32}" "${1:-128}"
	else
		echo "LKVM-L2-NO-VDA"
	fi
	;;
poweroff)
	# With ACPI (lkvm's default) this powers off through PM1a S5.
	echo "LKVM-L2-POWERING-OFF"
	poweroff -f
	sleep 10
	echo "LKVM-L2-POWEROFF-FAILED"
	;;
*)
	echo "LKVM-L2-UNKNOWN-CASE '$a'"
	;;
esac
done

echo "LKVM-L2-REBOOTING"
reboot -f
# Should not get here; never let init exit (that panics the kernel).
sleep 10
echo "LKVM-L2-REBOOT-FAILED"
poweroff -f
while :; do sleep 3600; done
