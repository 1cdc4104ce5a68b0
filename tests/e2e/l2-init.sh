#!/bin/sh
# /init of the L2 test guest (busybox only). Reads lkvmtest=<case> from
# /proc/cmdline and acts on it; see tests/e2e/README.md.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Without a /dev/console node in the image the kernel gave us no stdio.
[ -t 1 ] || exec </dev/console >/dev/console 2>&1
# Keep late kernel messages from splitting our output lines (panics are
# KERN_EMERG and still print).
echo 1 >/proc/sys/kernel/printk

echo "LKVM-L2-INIT-OK"

t=
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest=*) t=${w#lkvmtest=} ;;
	esac
done

case "$t" in
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
poweroff)
	# With ACPI (lkvm's default) this powers off through PM1a S5.
	echo "LKVM-L2-POWERING-OFF"
	poweroff -f
	sleep 10
	echo "LKVM-L2-POWEROFF-FAILED"
	;;
*)
	echo "LKVM-L2-UNKNOWN-CASE '$t'"
	;;
esac

echo "LKVM-L2-REBOOTING"
reboot -f
# Should not get here; never let init exit (that panics the kernel).
sleep 10
echo "LKVM-L2-REBOOT-FAILED"
poweroff -f
while :; do sleep 3600; done
