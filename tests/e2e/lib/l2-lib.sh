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

# virtio_irqs: the guest's interrupt lines for virtio devices, as
# "IRQ: <line of /proc/interrupts>".
virtio_irqs() {
	grep virtio /proc/interrupts | while read -r l; do echo "IRQ: $l"; done
}

# --- virtio-net (lkvmtest=net; L1's side is net_serve etc. in l1-lib.sh) --
# lkvmnet=dhcp (busybox udhcpc, lease applied by net_dhcp_script) or
# lkvmnet=IP/PREFIX (set by hand) says how eth0 gets its address;
# lkvmnetsrv=IP is L1's end: it answers pings, serves /f (the pattern
# net-get) with busybox httpd on port 8080 and takes an upload (the
# pattern net-put) on port 8081.  lkvmnetwait=1: once configured, print
# LKVM-L2-NET-WAITING and wait for a line on the console (L1 pings the
# guest, or fetches from it, meanwhile).  Optional:
#   lkvmnetbytes=N    the size of the download, the upload and what
#                     lkvmnetfwd= serves (default 1 MiB; L1's NET_BYTES)
#   lkvmnetfwd=PORT   serve the pattern net-fwd once on PORT while
#                     waiting (L1 fetches it through hostfwd=)
#   lkvmnetdns=NAME   resolve NAME with nslookup through the lease's DNS
#                     server (written to /etc/resolv.conf)
#   lkvmnetbigping=N  also ping L1 with N data bytes (N = MTU - 28: one
#                     unfragmented packet of the MTU)
#   lkvmnetbig=BYTES  bulk TCP both ways: serve BYTES (bigpat net-big-up)
#                     as /big with httpd on port 8000 while waiting (pinned
#                     to the last CPU), then fetch /big (BYTES, bigpat
#                     net-big) from L1's httpd with wget (pinned to CPU 0)
# Prints NET_<name>= lines that L1 checks, NET_T_<phase>= timings, eth0's
# per-queue driver statistics as NET_ETHS_<name>= (where the image has
# ethstats, tests/e2e/tools/ethstats.c: the x86 one) and the IP
# fragmentation counters as NET_IP_<name>=.

# bigpat TAG BYTES FILE: the bulk transfers' pattern (the same as in
# l1-lib.sh): copies of `pat TAG 1000003` (a prime number of bytes, so
# that data misplaced by a page or a buffer cannot match) cut to BYTES; much
# faster to make than pat itself.
bigpat() {
	pat "$1" 1000003 >/tmp/bigpat.blk
	# one cat for all the copies (a process costs under nested TCG)
	n=$(($2 / 1000003 + 1)) bp_size=$2 bp_f=$3
	set --
	while [ $n -gt 0 ]; do
		set -- "$@" /tmp/bigpat.blk
		n=$((n - 1))
	done
	cat "$@" >"$bp_f"
	truncate -s "$bp_size" "$bp_f"
	rm -f /tmp/bigpat.blk
}

# net_dhcp_script: udhcpc's -s program: applies the lease to the interface
# and writes what it got to /tmp/dhcp.env.
net_dhcp_script() {
	cat >/tmp/udhcpc.sh <<'EOS'
#!/bin/sh
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -z "$router" ] || ip route add default via "${router%% *}" dev "$interface"
	for d in $dns; do echo "nameserver $d"; done >/etc/resolv.conf
	{
		echo "NET_DHCP_IP=$ip"
		echo "NET_DHCP_MASK=$mask"
		echo "NET_DHCP_ROUTER=$router"
		echo "NET_DHCP_DNS=$dns"
		echo "NET_DHCP_SERVER=$serverid"
	} >/tmp/dhcp.env
	;;
esac
EOS
	chmod 755 /tmp/udhcpc.sh
}

# net_tick NAME: how long the network phase since the last tick took.
net_tick() {
	now=$(cut -d' ' -f1 /proc/uptime)
	echo "NET_T_$1=$(awk -v a="${net_t:-$now}" -v b="$now" 'BEGIN { printf "%.1f", b - a }')s"
	net_t=$now
}

# net_ip_counters: the IP fragmentation and reassembly counters of
# /proc/net/snmp as NET_IP_<name>=.
net_ip_counters() {
	awk '/^Ip:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 2; i <= NF; i++) if (n[i] ~ /^(Frag|Reasm)/) print "NET_IP_" n[i] "=" $i }' /proc/net/snmp
}

net_action() {
	how=$(l2_arg lkvmnet) srv=$(l2_arg lkvmnetsrv) big=$(l2_arg lkvmnetbig)
	nb=$(l2_arg lkvmnetbytes)
	nb=${nb:-1048576}
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	if ! wait_dev /sys/class/net/eth0; then
		echo "NET_ETH0=missing: $(ls /sys/class/net | tr '\n' ' ')"
		return 1
	fi
	echo "NET_ETH0=present"
	echo "NET_DRIVER=$(basename "$(readlink /sys/class/net/eth0/device/driver)")"
	echo "NET_DEVPATH=$(readlink -f /sys/class/net/eth0/device)"
	echo "NET_MAC=$(cat /sys/class/net/eth0/address)"
	echo "NET_MTU=$(cat /sys/class/net/eth0/mtu)"
	echo "NET_FEATURES=$(cat /sys/class/net/eth0/device/features 2>/dev/null)"
	echo "NET_QUEUES=$(ls /sys/class/net/eth0/queues | grep -c '^rx-')"
	echo "NET_TXQUEUES=$(ls /sys/class/net/eth0/queues | grep -c '^tx-')"
	net_t=
	net_tick start
	ip link set lo up
	ip link set eth0 up
	if [ "$how" = dhcp ]; then
		net_dhcp_script
		if timeout 60 udhcpc -f -q -n -t 10 -T 2 -i eth0 -s /tmp/udhcpc.sh >/tmp/udhcpc.log 2>&1; then
			echo "NET_DHCP=ok"
			cat /tmp/dhcp.env
		else
			echo "NET_DHCP=failed: $(tail -n 3 /tmp/udhcpc.log | tr '\n' ' ')"
		fi
	else
		ip addr add "$how" dev eth0
	fi
	echo "NET_ADDR=$(ip -o -f inet addr show dev eth0 | awk '{ print $4 }' | head -n1)"
	# The carrier (lkvm's VIRTIO_NET_S_LINK_UP) makes eth0 "up" once the
	# kernel's link watch has run (within a second or so).
	i=0
	while [ "$(cat /sys/class/net/eth0/operstate)" != up ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "NET_LINK=$(cat /sys/class/net/eth0/operstate)"
	net_tick config
	if ping -c 3 -i 0.2 -W 5 "$srv" >/tmp/ping.log 2>&1; then
		echo "NET_PING=ok"
	else
		echo "NET_PING=failed: $(tail -n 2 /tmp/ping.log | tr '\n' ' ')"
	fi
	bp=$(l2_arg lkvmnetbigping)
	if [ -n "$bp" ]; then
		# One ICMP echo of the MTU each way: it must neither be lost
		# nor fragmented (L1 checks NET_IP_FragCreates).
		if ping -c 3 -i 0.2 -W 5 -s "$bp" "$srv" >/tmp/ping.log 2>&1; then
			echo "NET_PING_BIG=ok"
		else
			echo "NET_PING_BIG=failed: $(tail -n 2 /tmp/ping.log | tr '\n' ' ')"
		fi
	fi
	dns=$(l2_arg lkvmnetdns)
	if [ -n "$dns" ]; then
		# busybox nslookup asks the first nameserver of /etc/resolv.conf
		# (the lease's) for A and AAAA.
		timeout 30 nslookup "$dns" >/tmp/ns.log 2>&1
		echo "NET_DNS_SERVER=$(sed -n 's/^Server:[[:space:]]*//p' /tmp/ns.log | head -n1)"
		echo "NET_DNS_ADDR=$(awk '/^Name:/ { n = 1 } n && /^Address:/ { print $2 }' /tmp/ns.log | tr '\n' ' ' | sed 's/ $//')"
		sed 's/^/NET-DNS-LOG: /' /tmp/ns.log
	fi
	net_tick ping
	# lkvmnetfwd=PORT: serve the pattern net-fwd once on PORT while
	# waiting, for L1 to fetch through a hostfwd= rule.
	fwd=$(l2_arg lkvmnetfwd) fwd_pid= big_pid=
	# The upload, made now: a pipeline into nc would time the pattern's
	# processes (slow under nested TCG) as the upload.
	pat net-put "$nb" >/tmp/put.bin
	if [ -n "$fwd" ]; then
		pat net-fwd "$nb" >/tmp/fwd.bin
		nc -l -p "$fwd" </tmp/fwd.bin >/dev/null 2>&1 &
		fwd_pid=$!
		sleep 0.5
	fi
	if [ -n "$big" ]; then
		# httpd sends with sendfile(): large segments, as a real server.
		mkdir -p /tmp/www
		bigpat net-big-up "$big" /tmp/www/big
		net_tick big_make
		taskset -c $((ncpu - 1)) httpd -f -p 8000 -h /tmp/www &
		big_pid=$!
		sleep 0.5
	fi
	if [ "$(l2_arg lkvmnetwait)" = 1 ]; then
		echo "LKVM-L2-NET-WAITING"
		read -r _
		echo "LKVM-L2-NET-RELEASED"
	fi
	net_tick waiting
	[ -z "$fwd_pid" ] || kill "$fwd_pid" 2>/dev/null
	[ -z "$big_pid" ] || { kill "$big_pid" 2>/dev/null; rm -f /tmp/www/big; }
	# Download: an HTTP/1.0 GET of /f from L1's httpd; the body is the
	# last $nb bytes of the reply.
	printf 'GET /f HTTP/1.0\r\n\r\n' | timeout 60 nc -w 10 "$srv" 8080 >/tmp/get.out 2>/tmp/get.err
	net_tick get
	echo "NET_GET_STATUS=$(head -n 1 /tmp/get.out | tr -d '\r')"
	echo "NET_GET_TOTAL=$(wc -c </tmp/get.out)"
	echo "NET_GET_SHA=$(tail -c "$nb" /tmp/get.out | sha)"
	net_tick get_sha
	# Upload: the pattern net-put to L1's nc listener, which stores it.
	# busybox nc shuts its sending side down at the end of its input and
	# exits when L1's end closes, i.e. once L1 has read everything.
	if timeout 60 nc -w 10 "$srv" 8081 </tmp/put.bin 2>/tmp/put.err; then
		echo "NET_PUT=sent"
	else
		echo "NET_PUT=failed: $(head -c 300 /tmp/put.err | tr '\n' ' ')"
	fi
	net_tick put
	if [ -n "$big" ]; then
		# Bulk download, straight into sha256sum (wget checks the status
		# and strips the header; its status is the pipe's first).
		{ timeout 300 taskset -c 0 wget -q -O - "http://$srv:8080/big" 2>/tmp/bigget.err; echo $? >/tmp/bigget.rc; } | sha >/tmp/bigget.sha
		echo "NET_BIG_GET_RC=$(cat /tmp/bigget.rc)"
		echo "NET_BIG_GET_ERR=$(head -c 200 /tmp/bigget.err | tr '\n' ' ')"
		echo "NET_BIG_GET_SHA=$(cat /tmp/bigget.sha)"
		net_tick big_get
	fi
	for c in rx_bytes tx_bytes rx_packets tx_packets rx_errors tx_errors rx_dropped tx_dropped; do
		echo "NET_STAT_$c=$(cat "/sys/class/net/eth0/statistics/$c")"
	done
	! command -v ethstats >/dev/null || ethstats eth0 2>&1 | sed 's/^/NET_ETHS_/'
	net_ip_counters
	virtio_irqs
}
