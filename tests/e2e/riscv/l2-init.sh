#!/bin/sh
# /init of the riscv64 L2 test guest (busybox, the virtio modules in
# /modules). Prints LKVM-L2-INIT-OK, loads the modules, does the actions
# listed in lkvmtest=<action>[,<action>...] on the kernel command line, and
# ends with lkvmend=poweroff (the default; SBI system reset, shutdown) or
# lkvmend=reboot (SBI system reset, reboot). Its output lines are read by
# tests/e2e/riscv/cases.sh in L1.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -t 1 ] || exec </dev/console >/dev/console 2>&1
# The applet links come from the host's busybox; add any this one has more.
/bin/busybox --install -s 2>/dev/null
# Keep late kernel messages from splitting our lines (panics still print).
echo 1 >/proc/sys/kernel/printk

echo "LKVM-L2-INIT-OK"

if [ -f /etc/l2-modules ]; then
	for m in $(cat /etc/l2-modules); do
		insmod "/modules/$m" || echo "LKVM-L2-INSMOD-FAILED $m"
	done
fi

# pat TAG BYTES: the pattern L1 (tests/e2e/riscv/cases.sh) computes the same way.
pat() { yes "lkvm-rv-$1-0123456789abcdef" | head -c "$2"; }

# wait_dev PATH: devices appear as their drivers probe; give them 10 s.
wait_dev() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# blk_rw DEV TAG: the pattern TAG-a at 0 (64 KiB), TAG-b at 1 MiB + 512
# (8 KiB) and TAG-c in the last 12 KiB, written with O_DIRECT and fsync,
# read back with O_DIRECT. Prints BLK_* lines.
blk_rw() {
	d=$1 tag=$2
	wait_dev "/dev/$d" || { echo "BLK_RW=no /dev/$d"; return 1; }
	size=$(blockdev --getsize64 "/dev/$d")
	echo "BLK_SIZE=$size"
	echo "BLK_DEVPATH=$(readlink -f "/sys/block/$d/device")"
	ok=ok
	for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
		set -- $r
		pat "$tag-$1" "$3" | dd of="/dev/$d" bs=4096 iflag=fullblock \
			oflag=seek_bytes,direct seek="$2" conv=notrunc,fsync 2>/dev/null ||
			{ ok="write-failed-at-$2"; break; }
	done
	if [ $ok = ok ]; then
		for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
			set -- $r
			want=$(pat "$tag-$1" "$3" | sha256sum | cut -d' ' -f1)
			got=$(dd if="/dev/$d" bs=4096 iflag=skip_bytes,direct skip="$2" \
				count=$(($3 / 4096)) 2>/dev/null | sha256sum | cut -d' ' -f1)
			[ "$want" = "$got" ] || { ok="readback-differs-at-$2"; break; }
		done
	fi
	echo "BLK_RW=$ok"
}

t= end=poweroff
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest=*) t=${w#lkvmtest=} ;;
	lkvmend=*) end=${w#lkvmend=} ;;
	esac
done

for a in $(echo "$t" | tr , ' '); do
	case "$a" in
	marker) ;;
	info)
		echo "CPUS_ONLINE=$(cat /sys/devices/system/cpu/online)"
		echo "NCPU=$(grep -c '^processor' /proc/cpuinfo)"
		echo "ISA=$(sed -n 's/^isa[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
		echo "CMDLINE=$(cat /proc/cmdline)"
		;;
	shell)
		echo "LKVM-L2-SHELL-READY"
		sh
		echo "LKVM-L2-SHELL-DONE"
		;;
	blk)
		blk_rw vda "$(sed -n 's/.*lkvmblk=\([a-z0-9-]*\).*/\1/p' /proc/cmdline)"
		sync
		;;
	rng)
		if wait_dev /dev/hwrng; then
			echo "RNG_CURRENT=$(cat /sys/class/misc/hw_random/rng_current)"
			echo "RNG_BYTES=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
			echo "RNG_SHA1=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
			echo "RNG_SHA2=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
		else
			echo "RNG_CURRENT=none"
		fi
		;;
	9p)
		# The export tagged "e2e": read L1's file, write one back.
		mkdir -p /mnt
		i=0
		while ! mount -t 9p -o trans=virtio,version=9p2000.L e2e /mnt 2>/tmp/mount.err; do
			i=$((i + 1))
			[ $i -lt 20 ] || { echo "P9_MOUNT=failed: $(cat /tmp/mount.err)"; break; }
			sleep 0.5
		done
		if [ $i -lt 20 ]; then
			echo "P9_MOUNT=ok"
			echo "P9_READ=$(cat /mnt/from-l1.txt)"
			pat 9p 100000 >/mnt/from-l2.bin && sync && echo "P9_WRITE=ok"
			umount /mnt
		fi
		;;
	irqchip)
		# Which interrupt controllers the device tree gave, and whether
		# any PCI interrupt is an MSI(-X).
		echo "IRQCHIP=$(ls /proc/device-tree/soc | grep -E '^(interrupt-controller|aplic|imsics)@' | tr '\n' ' ')"
		echo "MSI_IRQS=$(grep -c PCI-MSI /proc/interrupts)"
		;;
	hvc)
		# --console virtio: a line written to hvc0 must reach lkvm's stdout.
		if wait_dev /dev/hvc0; then
			echo "LKVM-L2-HVC-HELLO" >/dev/hvc0
			# hvc0 is a virtual tty; its virtio device is the driver's.
			echo "HVC_DEVPATH=$(readlink -f /sys/bus/virtio/drivers/virtio_console/virtio* 2>/dev/null | head -n1)"
		else
			echo "HVC_DEVPATH=none"
		fi
		;;
	*) echo "LKVM-L2-UNKNOWN-ACTION '$a'" ;;
	esac
done

if [ "$end" = reboot ]; then
	echo "LKVM-L2-REBOOTING"
	reboot -f
else
	echo "LKVM-L2-POWERING-OFF"
	poweroff -f
fi
# Should not get here; never let init exit (that panics the kernel).
sleep 10
echo "LKVM-L2-$end-FAILED"
while :; do sleep 3600; done
