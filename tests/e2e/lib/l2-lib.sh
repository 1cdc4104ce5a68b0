# What the L2 test guests' /init scripts share (tests/e2e/x86/l2-init.sh,
# tests/e2e/riscv/l2-init.sh).  Staged into every L2 image as /l2-lib.sh
# (lkvm_stage_l2_init in host.sh) and sourced by /init; busybox sh.  Only
# defines functions: l2_start does the common start-up, l2_end the end.
#
# The lines printed here are read by the cases in L1 (../x86/cases.sh,
# ../riscv/cases.sh), which compute the same test patterns (pat in
# l1-lib.sh) with the same busybox.

# l2_start: mount /proc, /sys and /dev, make sure of a console, print the
# marker LKVM-L2-INIT-OK and load the image's modules (/etc/l2-modules,
# dependencies first, from /modules; an image without that file has none).
l2_start() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	# Without a /dev/console node in the image the kernel gave us no
	# stdio.  With console=hvc0 alone (a kernel whose virtio_console is a
	# module), /dev/console cannot be opened yet: fall back to the UART.
	# (A failed redirection on exec would end this shell, so try it in a
	# subshell.)
	if [ ! -t 1 ]; then
		if (: </dev/console) 2>/dev/null; then
			exec </dev/console >/dev/console 2>&1
		else
			exec </dev/ttyS0 >/dev/ttyS0 2>&1
		fi
	fi
	# The applet links are the host busybox's (the image may hold another
	# architecture's busybox): add any this one has more.
	/bin/busybox --install -s 2>/dev/null
	# Keep late kernel messages from splitting our output lines (panics
	# are KERN_EMERG and still print).
	echo 1 >/proc/sys/kernel/printk

	echo "LKVM-L2-INIT-OK"

	if [ -f /etc/l2-modules ]; then
		for m in $(cat /etc/l2-modules); do
			insmod "/modules/$m" || echo "LKVM-L2-INSMOD-FAILED $m"
		done
	fi
}

# l2_arg NAME: the value of NAME=... on the kernel command line (empty if
# absent; the last one if repeated).  lkvmtest=<action>[,<action>...] says
# what to do.
l2_arg() {
	v=
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1="*) v=${w#"$1="} ;;
		esac
	done
	printf '%s\n' "$v"
}

# l2_end reboot|poweroff: end the guest (never returns).  If that fails,
# print LKVM-L2-REBOOT-FAILED or LKVM-L2-POWEROFF-FAILED and try the other
# way, so that the VMM still ends.
l2_end() {
	if [ "$1" = poweroff ]; then
		echo "LKVM-L2-POWERING-OFF"
		poweroff -f
	else
		echo "LKVM-L2-REBOOTING"
		reboot -f
	fi
	# Should not get here; never let init exit (that panics the kernel).
	sleep 10
	echo "LKVM-L2-$(echo "$1" | tr '[:lower:]' '[:upper:]')-FAILED"
	if [ "$1" = poweroff ]; then reboot -f; else poweroff -f; fi
	while :; do sleep 3600; done
}

# pat TAG BYTES: the deterministic test pattern (l1-lib.sh has the same).
pat() { yes "lkvm-$1-0123456789abcdef" | head -c "$2"; }
sha() { sha256sum | cut -d' ' -f1; }

# wait_dev PATH: devices appear as their drivers probe; give them 10 s.
wait_dev() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# blk_rw DEV [TAG]: write the pattern TAG-a, -b, -c (TAG: the disk's
# serial by default) at three places (the start, 64 KiB; a 512-byte-aligned
# offset that is not 4 KiB-aligned, 1 MiB + 512, 8 KiB; the last 12 KiB),
# with O_DIRECT and fsync so each write reaches the device, then read each
# back with O_DIRECT and compare.  Prints DISK_<dev>_SIZE/SERIAL/DEVPATH/
# FEATURES/MQ= (size, serial, sysfs device path, negotiated feature bits,
# blk-mq queue count) and DISK_<dev>_RW=ok or what failed; DISK_<dev>=missing
# if the disk never appeared.
blk_rw() {
	d=${1#/dev/}
	wait_dev "/dev/$d" || { echo "DISK_$d=missing"; return 1; }
	size=$(blockdev --getsize64 "/dev/$d")
	serial=$(cat "/sys/block/$d/serial" 2>/dev/null)
	tag=${2:-$serial}
	echo "DISK_${d}_SIZE=$size"
	echo "DISK_${d}_SERIAL=$serial"
	echo "DISK_${d}_DEVPATH=$(readlink -f "/sys/block/$d/device")"
	echo "DISK_${d}_FEATURES=$(cat "/sys/block/$d/device/features" 2>/dev/null)"
	echo "DISK_${d}_MQ=$(ls "/sys/block/$d/mq" 2>/dev/null | wc -l)"
	ok=ok
	for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
		set -- $r
		pat "$tag-$1" "$3" | dd of="/dev/$d" bs=4096 iflag=fullblock \
			oflag=seek_bytes,direct seek="$2" conv=notrunc,fsync 2>/dev/null ||
			{ ok="write-failed-at-$2"; break; }
	done
	# Read back through the device, not the page cache.
	if [ $ok = ok ]; then
		for r in "a 0 65536" "b 1049088 8192" "c $((size - 12288)) 12288"; do
			set -- $r
			want=$(pat "$tag-$1" "$3" | sha)
			got=$(dd if="/dev/$d" bs=4096 iflag=skip_bytes,direct skip="$2" \
				count=$(($3 / 4096)) 2>/dev/null | sha)
			[ "$want" = "$got" ] || { ok="readback-differs-at-$2"; break; }
		done
	fi
	echo "DISK_${d}_RW=$ok"
}

# rng_report: what /dev/hwrng gives (RNG_CURRENT=none without one):
# RNG_CURRENT=, RNG_AVAILABLE=, the byte counts of a 64-byte and a 16 KiB
# read (RNG_BYTES=, RNG_BIG=), sha256 of two 64-byte reads (RNG_SHA1=,
# RNG_SHA2=) and of 64 zero bytes (RNG_ZERO=).
rng_report() {
	if wait_dev /dev/hwrng; then
		echo "RNG_CURRENT=$(cat /sys/class/misc/hw_random/rng_current)"
		echo "RNG_AVAILABLE=$(cat /sys/class/misc/hw_random/rng_available)"
		echo "RNG_BYTES=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
		echo "RNG_BIG=$(dd if=/dev/hwrng bs=4096 count=4 iflag=fullblock 2>/dev/null | wc -c)"
		echo "RNG_SHA1=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | sha)"
		echo "RNG_SHA2=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | sha)"
		echo "RNG_ZERO=$(head -c 64 /dev/zero | sha)"
	else
		echo "RNG_CURRENT=none"
	fi
}

# l2_shell: a shell on the console, between LKVM-L2-SHELL-READY and
# LKVM-L2-SHELL-DONE (the cases type into it through the VMM's stdin).
l2_shell() {
	echo "LKVM-L2-SHELL-READY"
	sh
	echo "LKVM-L2-SHELL-DONE"
}

# p9_mount TAG [MSIZE]: mount the virtio-9p export TAG on /mnt/TAG
# (9p2000.L, the transport's default msize unless MSIZE), retrying while
# the device probes; prints P9_MOUNT_<tag>=ok or why not.
p9_mount() {
	mkdir -p "/mnt/$1"
	i=0
	while ! mount -t 9p -o "trans=virtio,version=9p2000.L${2:+,msize=$2}" "$1" "/mnt/$1" 2>/tmp/mount.err; do
		i=$((i + 1))
		if [ $i -ge 20 ]; then
			echo "P9_MOUNT_$1=failed: $(cat /tmp/mount.err)"
			return 1
		fi
		sleep 0.5
	done
	echo "P9_MOUNT_$1=ok"
}
