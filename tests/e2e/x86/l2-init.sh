#!/bin/sh
# /init of the L2 test guest (busybox only). Reads lkvmtest=<case> from
# /proc/cmdline and acts on it; see tests/e2e/x86/README.md.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
# l2_start, l2_arg, l2_end, pat, sha, wait_dev, blk_rw, rng_report,
# l2_shell, p9_mount, virtio_irqs, net_action: tests/e2e/lib/l2-lib.sh.
. /l2-lib.sh
l2_start

# --- virtio-9p (lkvmtest=9p; L1's side is in tests/e2e/x86/cases.sh) ------
# Every check prints NAME=ok, or NAME=<what went wrong>; L1 also checks the
# host side of each. Output read back from the exports is printed as
# "P9-READ: ..." lines, so that L1 sees whatever a hostile read returned.

# eq NAME GOT WANT
eq() {
	if [ "$2" = "$3" ]; then
		echo "$1=ok"
	else
		echo "$1=got '$2', expected '$3'"
	fi
}
# ok NAME CMD...: NAME=ok if CMD succeeds, else its error.
ok() {
	n=$1
	shift
	if "$@" </dev/null 2>/tmp/ok.err; then
		echo "$n=ok"
	else
		echo "$n=failed: $(head -c 300 /tmp/ok.err | tr '\n' ' ')"
	fi
}
# refused NAME ERRTEXT CMD...: NAME=ok if CMD fails with ERRTEXT in its
# error message.
refused() {
	n=$1 want=$2
	shift 2
	if "$@" </dev/null 2>/tmp/ref.err; then
		echo "$n=succeeded"
	elif grep -q "$want" /tmp/ref.err; then
		echo "$n=ok"
	else
		echo "$n=failed otherwise: $(head -c 300 /tmp/ref.err | tr '\n' ' ')"
	fi
}
shown() { sed 's/^/P9-READ: /'; }
# tick NAME: how long the checks since the last tick took (P9INFO_T_NAME=).
tick() {
	now=$(cut -d' ' -f1 /proc/uptime)
	echo "P9INFO_T_$1=$(awk -v a="${tick_t:-$now}" -v b="$now" 'BEGIN { printf "%.1f", b - a }')s"
	tick_t=$now
}

# p9_rw DIR FULL: file operations on a read-write export. FULL=1 adds a
# directory of 200 files made by the guest and a 64 MiB file.
p9_rw() {
	R=$1 full=$2
	# create, write, read
	echo hello-create >"$R/new.txt"
	eq P9_CRW_CREATE "$(cat "$R/new.txt")" hello-create
	pat w 100000 >"$R/w.bin"
	eq P9_CRW_WRITE "$(sha <"$R/w.bin")" "$(pat w 100000 | sha)"
	printf MIDDLE | dd of="$R/w.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
	echo "P9SHA_W=$(sha <"$R/w.bin")"
	eq P9_CRW_PREAD "$(dd if="$R/w.bin" bs=1 skip=4998 count=10 2>/dev/null)" \
		"$(pat w 5000 | tail -c 2)MIDDLE$(pat w 5008 | tail -c 2)"
	pat o 100000 >"$R/w2.bin"
	echo short >"$R/w2.bin" # O_TRUNC
	eq P9_CRW_OTRUNC "$(cat "$R/w2.bin"):$(stat -c %s "$R/w2.bin")" short:6
	tick crw
	# append, truncate
	echo line1 >"$R/a.txt"
	echo line2 >>"$R/a.txt"
	printf line3 >>"$R/a.txt"
	eq P9_AT_APPEND "$(cat "$R/a.txt" | tr '\n' ' ')" "line1 line2 line3"
	pat t 10000 >"$R/t.bin"
	ok P9_AT_TRUNCATE truncate -s 1234 "$R/t.bin"
	eq P9_AT_TRUNC_SIZE "$(stat -c %s "$R/t.bin")" 1234
	eq P9_AT_TRUNC_DATA "$(sha <"$R/t.bin")" "$(pat t 1234 | sha)"
	ok P9_AT_EXTEND truncate -s 5000 "$R/t.bin"
	eq P9_AT_EXTEND_ZEROS "$(tail -c 3766 "$R/t.bin" | tr -d '\000' | wc -c):$(stat -c %s "$R/t.bin")" 0:5000
	tick at
	# rename: in a directory, across directories, a directory, over a file
	echo r1 >"$R/r1"
	ok P9_REN_SAME mv "$R/r1" "$R/r2"
	eq P9_REN_SAME_RESULT "$([ -e "$R/r1" ] && echo still-there)$(cat "$R/r2")" r1
	mkdir "$R/da" "$R/db"
	echo x >"$R/da/f"
	ok P9_REN_ACROSS mv "$R/da/f" "$R/db/g"
	eq P9_REN_ACROSS_RESULT "$(ls "$R/da"):$(cat "$R/db/g")" :x
	mkdir "$R/dmv"
	echo y >"$R/dmv/in"
	ok P9_REN_DIR mv "$R/dmv" "$R/db/dmv2"
	eq P9_REN_DIR_RESULT "$([ -e "$R/dmv" ] && echo still-there)$(cat "$R/db/dmv2/in")" y
	echo new >"$R/ro1"
	echo old >"$R/ro2"
	ok P9_REN_OVER mv -f "$R/ro1" "$R/ro2"
	eq P9_REN_OVER_RESULT "$(cat "$R/ro2")" new
	tick ren
	# hard link
	echo hl >"$R/h1"
	ok P9_LNK_HARD ln "$R/h1" "$R/da/h2"
	eq P9_LNK_HARD_NLINK "$(stat -c %h "$R/h1")" 2
	eq P9_LNK_HARD_INODE "$(stat -c %i "$R/da/h2")" "$(stat -c %i "$R/h1")"
	echo more >>"$R/da/h2"
	eq P9_LNK_HARD_SHARED "$(cat "$R/h1" | tr '\n' ' ')" "hl more "
	# symlink, readlink
	echo tgt >"$R/target.txt"
	ok P9_LNK_SYM ln -s target.txt "$R/sl"
	eq P9_LNK_READLINK "$(readlink "$R/sl")" target.txt
	eq P9_LNK_FOLLOW "$(cat "$R/sl")" tgt
	ok P9_LNK_SYM_ABS ln -s /abs/path/nowhere "$R/sl2"
	eq P9_LNK_READLINK_ABS "$(readlink "$R/sl2")" /abs/path/nowhere
	eq P9_LNK_IS_LINK "$([ -L "$R/sl" ] && echo link)" link
	tick lnk
	# chmod, mkdir, rmdir, unlink
	echo m >"$R/m"
	ok P9_CM_CHMOD chmod 755 "$R/m"
	eq P9_CM_MODE_755 "$(stat -c %a "$R/m")" 755
	chmod 640 "$R/m"
	eq P9_CM_MODE_640 "$(stat -c %a "$R/m")" 640
	mkdir "$R/dm"
	chmod 700 "$R/dm"
	eq P9_CM_DIRMODE "$(stat -c %a "$R/dm")" 700
	ok P9_CM_MKDIR_P mkdir -p "$R/d1/d2/d3"
	ok P9_CM_RMDIR rmdir "$R/d1/d2/d3"
	eq P9_CM_RMDIR_GONE "$([ -e "$R/d1/d2/d3" ] && echo still-there)$([ -d "$R/d1/d2" ] && echo d2)" d2
	refused P9_CM_RMDIR_NOTEMPTY "not empty" rmdir "$R/d1"
	echo z >"$R/del"
	ok P9_CM_UNLINK rm "$R/del"
	eq P9_CM_UNLINK_GONE "$([ -e "$R/del" ] && echo still-there)" ""
	tick cm
	# directories listed completely: 2000 entries with long names made by
	# L1 (more than one readdir reply at any msize), listed by a shell glob
	# (readdir alone: ls would also stat each entry, a request each), and
	# 200 made here
	for f in "$R"/hmany/*; do
		echo "${f##*/}"
	done >/tmp/hmany.list
	echo "P9RD_HOST_COUNT=$(wc -l </tmp/hmany.list)"
	echo "P9RD_HOST_SHA=$(sort /tmp/hmany.list | sha)"
	tick rd_host
	if [ "$full" = 1 ]; then
		mkdir "$R/many"
		i=0
		while [ $i -lt 200 ]; do
			: >"$R/many/f$i"
			i=$((i + 1))
		done
		echo "P9RD_GUEST_COUNT=$(ls "$R/many" | wc -l)"
		echo "P9RD_GUEST_UNIQUE=$(ls "$R/many" | sort -u | wc -l)"
		echo "P9RD_GUEST_FIND=$(find "$R/many" -type f | wc -l)"
		tick rd_guest
		# 64 MiB in 1 MiB writes, read back after dropping the caches
		pat big64 67108864 | dd of="$R/big64.bin" bs=1M iflag=fullblock 2>/tmp/dd.err ||
			echo "P9_BIG_WRITE=failed: $(cat /tmp/dd.err)"
		sync
		echo 3 >/proc/sys/vm/drop_caches
		echo "P9BIG_SIZE=$(stat -c %s "$R/big64.bin")"
		echo "P9BIG_SHA=$(sha <"$R/big64.bin")"
		tick big
	fi
	# files L1 wrote before the boot
	echo "P9HOST_TXT=$(cat "$R/hostfile.txt")"
	echo "P9HOST_DEEP_SHA=$(sha <"$R/hdir/sub/deep.bin")"
}

# p9_ro DIR: every modifying request on a read-only export fails with
# EROFS; reading works.
p9_ro() {
	O=$1 e="Read-only file system"
	echo "P9RO_READ_TXT=$(cat "$O/file.txt")"
	echo "P9RO_READ_SHA=$(sha <"$O/sub/data.bin")"
	refused P9_RO_CREATE "$e" sh -c "echo x >'$O/newfile'"
	refused P9_RO_OPEN_TRUNC "$e" sh -c "echo x >'$O/file.txt'"
	refused P9_RO_APPEND "$e" sh -c "echo x >>'$O/file.txt'"
	refused P9_RO_WRITE "$e" dd if=/dev/zero of="$O/file.txt" bs=4 count=1 conv=notrunc
	refused P9_RO_TRUNCATE "$e" truncate -s 0 "$O/sub/data.bin"
	refused P9_RO_UNLINK "$e" rm "$O/file.txt"
	refused P9_RO_MKDIR "$e" mkdir "$O/newdir"
	refused P9_RO_RMDIR "$e" rmdir "$O/emptydir"
	refused P9_RO_RENAME "$e" mv -f "$O/file.txt" "$O/moved.txt"
	refused P9_RO_RENAME_DIR "$e" mv -f "$O/sub/data.bin" "$O/emptydir/x"
	refused P9_RO_LINK "$e" ln "$O/file.txt" "$O/hard"
	refused P9_RO_SYMLINK "$e" ln -s file.txt "$O/soft"
	refused P9_RO_CHMOD "$e" chmod 777 "$O/file.txt"
	refused P9_RO_CHOWN "$e" chown 1:1 "$O/file.txt"
	refused P9_RO_UTIMES "$e" touch "$O/file.txt"
	refused P9_RO_MKFIFO "$e" mkfifo "$O/fifo"
	echo "P9RO_LIST=$(ls -a "$O" | tr '\n' ' ')"
}

# p9_hostile DIR: a guest trying to reach outside its export. Whatever it
# reads is printed ("P9-READ: "); L1 checks that none of its own secrets
# (its /etc/passwd marker, a file beside the export, a file at its /)
# appears, and that nothing outside the export changed.
p9_hostile() {
	H=$1
	# a symlink to / (and to ../..) stored in the export and walked
	ok P9_H_SYMLINK_ROOT ln -s / "$H/x"
	echo "P9H_SYMLINK_ROOT_TARGET=$(readlink "$H/x")"
	cat "$H/x/etc/passwd" 2>&1 | shown
	ls "$H/x/" 2>&1 | shown
	ln -s ../../../../.. "$H/up"
	cat "$H/up/etc/passwd" "$H/up/e2e-secret" 2>&1 | shown
	ln -s /tmp/9p/secret "$H/abs"
	cat "$H/abs" 2>&1 | shown
	mkdir "$H/sub"
	ln -s ../../.. "$H/sub/esc"
	cat "$H/sub/esc/etc/passwd" "$H/sub/esc/secret" 2>&1 | shown
	# .. walks
	cat "$H/../../../../etc/passwd" "$H/../secret" "$H/sub/../../secret" 2>&1 | shown
	ls -a "$H/.." "$H/../.." 2>&1 | shown
	(cd "$H/sub" && cd ../.. && pwd && ls -a) 2>&1 | shown
	echo "P9_H_DOTDOT_DONE=ok"
	tick h_dotdot
	# a directory swapped with a symlink to / while another process walks
	# through it: only the directory's own file may ever be read
	mkdir "$H/d"
	echo inside >"$H/d/e2e-secret"
	ln -s / "$H/dl"
	rm -f /tmp/swap.stop
	(
		n=0
		while [ ! -e /tmp/swap.stop ]; do
			mv -T "$H/d" "$H/d.dir" && mv -T "$H/dl" "$H/d" &&
				mv -T "$H/d" "$H/dl" && mv -T "$H/d.dir" "$H/d" || break
			n=$((n + 1))
		done
		echo "$n" >/tmp/swap.count
	) 2>/tmp/swap.err &
	inside=0 err=0 other=0 i=0
	while [ $i -lt 600 ]; do
		l=
		if read -r l 2>/dev/null <"$H/d/e2e-secret"; then
			if [ "$l" = inside ]; then
				inside=$((inside + 1))
			else
				other=$((other + 1))
				echo "$l" | shown
			fi
		else
			err=$((err + 1))
		fi
		i=$((i + 1))
	done
	: >/tmp/swap.stop
	wait
	echo "P9H_SWAP=inside:$inside,failed:$err,other:$other,swaps:$(cat /tmp/swap.count 2>/dev/null)"
	[ ! -s /tmp/swap.err ] || head -n 3 /tmp/swap.err | shown
	tick h_swap
	# device nodes: creating them fails; the ones L1 made are the guest's
	# own devices, never L1's
	refused P9_H_MKNOD_CHR "" mknod "$H/dev" c 1 3
	refused P9_H_MKNOD_BLK "" mknod "$H/blk" b 1 0
	if mkfifo "$H/fifo" 2>/tmp/ff.err; then
		echo "P9H_MKFIFO=created"
	else
		echo "P9H_MKFIFO=refused: $(cat /tmp/ff.err)"
	fi
	echo "P9H_NODE_TYPES=$(stat -c %F "$H/hram" "$H/hzero" 2>&1 | tr '\n' ',')"
	echo HOSTILE-WRITE 2>&1 >"$H/hram" | shown
	# (only if mknod made it: a redirection would create a regular file)
	[ ! -e "$H/dev" ] || echo HOSTILE-WRITE 2>&1 >"$H/dev" | shown
	dd if="$H/hram" bs=512 count=1 2>&1 | od -c | head -n 4 | shown
	# ownership: no setuid/setgid file, no file of another uid on the host
	echo s >"$H/suid"
	echo g >"$H/sgid"
	echo o >"$H/own"
	mkdir "$H/sdir"
	chmod 4755 "$H/suid" 2>&1 | shown
	chmod 2755 "$H/sgid" 2>&1 | shown
	chmod 2775 "$H/sdir" 2>&1 | shown
	chown 1234:1234 "$H/own" 2>&1 | shown
	echo "P9H_OWN=$(stat -c '%n:%a:%u:%g' "$H/suid" "$H/sgid" "$H/sdir" "$H/own" | tr '\n' ' ')"
	echo "P9_H_DONE=ok"
}

# p9_action: mount every export lkvm offers (their tags in sysfs) and run
# the checks each tag asks for: e2e (p9_rw, full), mm (p9_rw, basic),
# e2ero (p9_ro), hostile (p9_hostile). lkvm9p=MSIZE on the command line.
p9_action() {
	msize=$(l2_arg lkvm9p)
	tags=
	for t in /sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag; do
		[ -e "$t" ] && tags="$tags $(tr -d '\000' <"$t")"
	done
	echo "P9INFO_TAGS=$(echo $tags)"
	for t in /sys/bus/virtio/drivers/9pnet_virtio/virtio*; do
		[ -e "$t" ] && echo "P9INFO_DEVPATH=$(readlink -f "$t")"
	done
	for t in $tags; do
		p9_mount "$t" "${msize:-524288}" || continue
		echo "P9INFO_MSIZE_$t=$(sed -n "s|^$t /mnt/$t 9p .*msize=\([0-9]*\).*|\1|p" /proc/mounts)"
		s0=$(cut -d' ' -f1 /proc/uptime)
		tick_t=$s0
		case "$t" in
		e2e) p9_rw "/mnt/$t" 1 ;;
		mm) p9_rw "/mnt/$t" 0 ;;
		e2ero) p9_ro "/mnt/$t" ;;
		hostile) p9_hostile "/mnt/$t" ;;
		esac
		echo "P9INFO_TIME_$t=$(awk -v a="$s0" '{ printf "%.1f", $1 - a }' /proc/uptime)s"
		sync
		umount "/mnt/$t" || echo "P9_UMOUNT_$t=failed"
	done
	echo "P9_END=ok"
}

# tcp_retrans: the TCP segments this guest has retransmitted so far
# (lkvmtest=netbench).
tcp_retrans() {
	awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) f[$i] = i; h = 1 } else print $f["RetransSegs"] }' /proc/net/snmp
}

# lkvmtest= may list several actions separated by commas; they run in turn.
for a in $(l2_arg lkvmtest | tr , ' '); do
case "$a" in
marker)
	;;
bootmark)
	# lkvm's boot-marker register, I/O port 0x3f0 (1008): marker 7, then
	# 9; --until-marker 9 (or 7) ends the VM there: the sleep never ends.
	printf '\007' | dd of=/dev/port bs=1 seek=1008 count=1 2>/dev/null
	echo "BOOTMARK=7"
	sleep 1 # the console's transmit buffer drains before the VM ends
	printf '\011' | dd of=/dev/port bs=1 seek=1008 count=1 2>/dev/null
	sleep 60
	echo "BOOTMARK=still-running"
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
	echo "CLOCKEVENT=$(cat /sys/devices/system/clockevents/clockevent0/current_device 2>/dev/null)"
	echo "TSC_DEADLINE=$(grep -c '^flags.* tsc_deadline_timer' /proc/cpuinfo)"
	;;
shell)
	l2_shell
	;;
panic)
	echo "LKVM-L2-PANICKING"
	echo c >/proc/sysrq-trigger
	;;
pvpanic)
	# The pvpanic driver (pvpanic-mmio, from the image's modules) bound
	# to lkvm's device, and the events it read from the register.
	d=$(ls -d /sys/bus/platform/drivers/pvpanic-mmio/*:* 2>/dev/null | head -n1)
	echo "PVPANIC_DEV=${d##*/}"
	echo "PVPANIC_CAPABILITY=$(cat "$d/capability" 2>/dev/null)"
	echo "PVPANIC_EVENTS=$(cat "$d/events" 2>/dev/null)"
	;;
rootmount)
	# What a distribution's initramfs does with a disk root: mount what
	# root= names, read-write if the command line says rw (read-only
	# otherwise, as the kernel), and read and write a file there.
	r=$(l2_arg root) mode=ro
	for w in $(cat /proc/cmdline); do
		case "$w" in rw|ro) mode=$w ;; esac
	done
	echo "ROOT_ARG=$r"
	echo "ROOT_MODE=$mode"
	mkdir -p /root
	if [ -n "$r" ] && wait_dev "$r" && mount -t ext2 -o "$mode" "$r" /root; then
		echo "ROOT_MARKER=$(cat /root/marker)"
		if echo "written by the guest" >/root/from-guest 2>/dev/null; then
			echo "ROOT_WRITE=ok"
		else
			echo "ROOT_WRITE=failed"
		fi
		umount /root
	else
		echo "ROOT_MOUNT=failed"
	fi
	sync
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
	rng_report
	;;
net)
	net_action
	;;
9p)
	p9_action
	;;
9pbench)
	# tests/bench/9p.sh: lkvm9pbench=MiB,FILES,MSIZE; p9bench is only in
	# the benchmark's image.
	set -- $(l2_arg lkvm9pbench | tr , ' ')
	if p9_mount bench "${3:-524288}" >/tmp/mount.log; then
		echo "P9BENCH-MSIZE $(sed -n 's|^bench /mnt/bench 9p .*msize=\([0-9]*\).*|\1|p' /proc/mounts)"
		p9bench seqwrite /mnt/bench/big.bin "${1:-256}" &&
			echo 3 >/proc/sys/vm/drop_caches &&
			p9bench seqread /mnt/bench/big.bin "${1:-256}" &&
			rm -f /mnt/bench/big.bin &&
			mkdir /mnt/bench/meta &&
			p9bench meta /mnt/bench/meta "${2:-5000}"
		umount /mnt/bench
	else
		cat /tmp/mount.log
	fi
	;;
netbench)
	# tests/bench/net.sh: lkvmnetbench=ADDR/PREFIX,SERVER,SECONDS,BASE,RUNS;
	# netperf is only in the benchmark's image. The guest connects to
	# SERVER's ports in turn, each connection retried while the port is
	# closed (L1 opens one port at a time, for one guest at a time): BASE
	# (one transaction: the guest is up), then RUNS times BASE+1 (a stream
	# to L1), BASE+2 (a stream from L1) and BASE+3 (1-byte ping-pong).
	set -- $(l2_arg lkvmnetbench | tr , ' ')
	if wait_dev /sys/class/net/eth0; then
		ip link set lo up
		ip link set eth0 up
		ip addr add "$1" dev eth0
		i=0
		while [ "$(cat /sys/class/net/eth0/operstate)" != up ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "NETBENCH-INFO features=$(cat /sys/class/net/eth0/device/features) queues=$(ls /sys/class/net/eth0/queues | grep -c '^rx-') operstate=$(cat /sys/class/net/eth0/operstate)"
		# The guest's timers: a clock event device other than the
		# local APIC (or a broadcast one) costs port I/O exits.
		c=/sys/devices/system/clockevents
		echo "NETBENCH-INFO clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource) clockevent=$(cat $c/clockevent0/current_device 2>/dev/null) broadcast=$(cat $c/broadcast/current_device 2>/dev/null) tsc_deadline=$(grep -c -w tsc_deadline_timer /proc/cpuinfo) arat=$(grep -c -w arat /proc/cpuinfo) x2apic=$(grep -c -w x2apic /proc/cpuinfo)"
		dmesg | grep -i -e 'apic timer' -e 'tsc' -e 'clockevent' -e 'calibrat' | head -n 12 | sed 's/^/NETBENCH-DMESG /'
		netperf rr-client -c "$2:$4" -n 1 -w 600 >/dev/null
		run=1
		while [ "$run" -le "$5" ]; do
			r0=$(tcp_retrans)
			netperf stream-send -c "$2:$(($4 + 1))" -t "$3" -w 600
			r1=$(tcp_retrans)
			netperf stream-recv -c "$2:$(($4 + 2))" -w 600
			r2=$(tcp_retrans)
			netperf rr-client -c "$2:$(($4 + 3))" -t "$3" -w 600
			r3=$(tcp_retrans)
			echo "NETBENCH-TCP run=$run test=g2h retrans=$((r1 - r0))"
			echo "NETBENCH-TCP run=$run test=h2g retrans=$((r2 - r1))"
			echo "NETBENCH-TCP run=$run test=rr retrans=$((r3 - r2))"
			run=$((run + 1))
		done
		s=
		for c in rx_bytes tx_bytes rx_packets tx_packets rx_errors tx_errors rx_dropped tx_dropped; do
			s="$s $c=$(cat "/sys/class/net/eth0/statistics/$c")"
		done
		echo "NETBENCH-INFO$s"
	else
		echo "LKVM-L2-NO-ETH0"
	fi
	;;
bench)
	# tests/bench/blk-io.sh: lkvmbench=MiB,SECONDS,DEPTH; blkio is only in
	# the benchmark's image.
	set -- $(l2_arg lkvmbench | tr , ' ')
	if wait_dev /dev/vda; then
		blkio seqwrite /dev/vda "${1:-128}" &&
			blkio seqread /dev/vda "${1:-128}" &&
			blkio randread /dev/vda "${2:-10}" "${3:-32}" "${1:-128}"
	else
		echo "LKVM-L2-NO-VDA"
	fi
	;;
idle)
	# tests/bench/memory.sh: stay at init doing nothing (the VMM's memory
	# is read meanwhile) until L1 kills the VMM.
	echo "LKVM-L2-IDLE"
	while :; do sleep 3600; done
	;;
poweroff)
	# With ACPI (lkvm's default) this powers off through PM1a S5.
	l2_end poweroff
	;;
*)
	echo "LKVM-L2-UNKNOWN-CASE '$a'"
	;;
esac
done

l2_end reboot
