#!/bin/sh
# /init of the riscv64 L2 test guest (busybox, the virtio modules in
# /modules). Prints LKVM-L2-INIT-OK, loads the modules, does the actions
# listed in lkvmtest=<action>[,<action>...] on the kernel command line, and
# ends with lkvmend=poweroff (the default; SBI system reset, shutdown) or
# lkvmend=reboot (SBI system reset, reboot). Its output lines are read by
# tests/e2e/riscv/cases.sh in L1.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
# l2_start, l2_arg, l2_end, pat, wait_dev, blk_rw, rng_report, l2_shell,
# p9_mount, net_action: tests/e2e/lib/l2-lib.sh.
. /l2-lib.sh
l2_start

for a in $(l2_arg lkvmtest | tr , ' '); do
	case "$a" in
	marker) ;;
	bootmark)
		# lkvm's boot-marker register, where the device tree says:
		# marker 7, then 9, which --until-marker 9 ends the VM on.
		n=$(ls -d /proc/device-tree/soc/boot-marker@* 2>/dev/null | head -n 1)
		echo "BOOTMARK_NODE=${n##*/}"
		a=0x${n##*@}
		devmem "$a" 8 7
		echo "BOOTMARK=7"
		sleep 1 # the console's transmit buffer drains before the VM ends
		devmem "$a" 8 9
		sleep 60
		echo "BOOTMARK=still-running"
		;;
	info)
		echo "CPUS_ONLINE=$(cat /sys/devices/system/cpu/online)"
		echo "NCPU=$(grep -c '^processor' /proc/cpuinfo)"
		echo "ISA=$(sed -n 's/^isa[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
		echo "CMDLINE=$(cat /proc/cmdline)"
		# lkvm's pvpanic node as the guest's device tree has it (Debian
		# 13's riscv64 kernel has no driver for it).
		echo "PVPANIC_DT=$(cat /proc/device-tree/soc/pvpanic@*/compatible 2>/dev/null)"
		;;
	shell) l2_shell ;;
	blk)
		# The pattern's tag is the case's name (lkvmblk=).
		blk_rw vda "$(l2_arg lkvmblk)"
		sync
		;;
	rng) rng_report ;;
	net) net_action ;;
	9p)
		# The export tagged "e2e": read L1's file, write one back.
		if p9_mount e2e; then
			echo "P9_READ=$(cat /mnt/e2e/from-l1.txt)"
			pat 9p 100000 >/mnt/e2e/from-l2.bin && sync && echo "P9_WRITE=ok"
			umount /mnt/e2e
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

end=$(l2_arg lkvmend)
l2_end "${end:-poweroff}"
