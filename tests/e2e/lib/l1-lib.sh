#!/bin/sh
# What every e2e payload's cases share (tests/e2e/x86/cases.sh,
# tests/e2e/riscv/cases.sh); installed in L1 as /l1-lib.sh (lkvm_stage_l1)
# and sourced by the payload after it has set W (work dir) and VMM.  The
# benchmarks' payloads (tests/bench/*-l1.sh) use its l1_heartbeat.
# busybox sh.

now_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# show PREFIX: copy stdin to the console, one prefixed line at a time.
show() {
	awk -v p="  [$1] " '{ sub(/\r+$/, ""); print p $0; fflush() }'
}

# stuck_diag PID: what a process that will not die is doing.
stuck_diag() {
	ps -o pid,stat,args | grep -v ' \[.*\]$'
	[ -n "$1" ] && [ -d "/proc/$1" ] || return 0
	for t in /proc/$1/task/*; do
		echo "task ${t##*/}: state $(sed -n 's/^State:[[:space:]]*//p' "$t/status") wchan $(cat "$t/wchan" 2>/dev/null)"
		cat "$t/stack" 2>/dev/null | head -n 12
	done
}

# run_vmm NAME FEEDER TIMEOUT VMM-ARGS...: run the VMM under busybox
# timeout. Its stdout (the L2 console) goes to $OUT and to the console, its
# stderr to $ERR; stdin is /dev/null, or the output of the shell function
# FEEDER. Sets RC (exit status), SECS (elapsed) and TXT ($OUT without CRs).
run_vmm() {
	name=$1 feeder=$2 tmo=$3
	shift 3
	OUT=$W/$name.out ERR=$W/$name.err RCF=$W/$name.rc TXT=$W/$name.txt
	rm -f "$OUT" "$ERR" "$RCF" "$TXT"
	: >"$OUT"
	echo "E2E-RUN $name: $VMM $*"
	t0=$(now_cs)
	# busybox timeout execs the VMM in its own process, so the pid that
	# sh -c writes to $PIDF is the VMM's.
	PIDF=$W/$name.pid
	rm -f "$PIDF"
	if [ "$feeder" = none ]; then
		{ sh -c 'echo $$ >"$0"; exec timeout -k 5 "$@"' "$PIDF" "$tmo" "$VMM" "$@" </dev/null 2>"$ERR"; echo $? >"$RCF"; } |
			tee "$OUT" | show "$name" &
	else
		"$feeder" | { sh -c 'echo $$ >"$0"; exec timeout -k 5 "$@"' "$PIDF" "$tmo" "$VMM" "$@" 2>"$ERR"; echo $? >"$RCF"; } |
			tee "$OUT" | show "$name" &
	fi
	# Wait for it, but give up 30 s after the timeout's KILL should have
	# ended it: a VMM stuck in the kernel (D state) cannot be killed, and
	# must neither block the remaining cases nor go unexplained.
	bg=$! n=0
	while kill -0 "$bg" 2>/dev/null; do
		if [ "$n" -ge $(((tmo + 35) * 5)) ]; then
			echo "E2E-STUCK $name: the VMM is still there $((tmo + 35))s after it started; abandoning it"
			stuck_diag "$(cat "$PIDF" 2>/dev/null)" | show "$name diag"
			echo 254 >"$RCF"
			break
		fi
		n=$((n + 1))
		sleep 0.2
	done
	[ "$n" -ge $(((tmo + 35) * 5)) ] || wait "$bg"
	t1=$(now_cs)
	RC=$(cat "$RCF" 2>/dev/null)
	[ -n "$RC" ] || RC=255
	CS=$((t1 - t0))
	SECS=$((CS / 100)).$((CS / 10 % 10))
	tr -d '\r' <"$OUT" >"$TXT"
	echo "$CS $tmo" >"$W/$name.meta"
	[ ! -s "$ERR" ] || show "$name stderr" <"$ERR"
	echo "E2E-TIME $name ${SECS}s status=$RC"
}

why=
timed_out() { [ "$RC" -ge 124 ] && [ "$CS" -ge $(((tmo - 1) * 100)) ]; }
expect_status() {
	for s in "$@"; do [ "$RC" = "$s" ] && return 0; done
	if [ "$RC" = 254 ]; then
		why="the VMM could not be killed after ${tmo}s (stuck in the kernel; see E2E-STUCK)"
	elif timed_out; then
		why="timed out after ${tmo}s (status $RC)"
	else
		why="exit status $RC, expected $*"
	fi
	return 1
}
expect_line() {
	grep -q -- "$1" "$TXT" && return 0
	why="$2"
	timed_out && why="$why (timed out after ${tmo}s)"
	return 1
}
# lkvm's own phases up to the guest's start, in trace order (both
# architectures' boot-trace cases check them with trace_check).
TRACE_VMM_PHASES="X:exec and dynamic loader|X:parse options|X:read kernel and initrd|X:open KVM, create VM|X:arch VM set-up|X:guest memory|X:device worker threads|X:platform devices|X:virtio devices|X:load kernel and initrd|X:create vCPUs|X:finish machine|X:start vCPU threads|i:vcpu0 first KVM_RUN"

# trace_check FILE MAX_US [@vmm] PH:NAME...: FILE is a --boot-trace file of the
# documented shape (include/lkvm/trace.h: one event per line, keys in a
# fixed order, nothing dropped), with each event (its first occurrence;
# PH is its "ph") in the order given, start times never going back, and
# every one ending inside 0..MAX_US; @vmm stands for TRACE_VMM_PHASES.
# Sets why on failure.
trace_check() {
	f=$1 max=$2
	shift 2
	if [ "${1:-}" = @vmm ]; then
		shift
		oifs=$IFS
		IFS='|'
		# shellcheck disable=SC2086
		set -- $TRACE_VMM_PHASES "$@"
		IFS=$oifs
	fi
	[ -s "$f" ] || { why="no trace file $f"; return 1; }
	head -n 1 "$f" | grep -q '^{"displayTimeUnit":"ms","otherData":{"origin":"[a-z]*","dropped_events":0},$' ||
		{ why="trace header: $(head -n 1 "$f")"; return 1; }
	[ "$(sed -n 2p "$f")" = '"traceEvents":[' ] && [ "$(tail -n 1 "$f")" = ']}' ] ||
		{ why="the trace's events are not one JSON array"; return 1; }
	bad=$(sed '1,2d;$d' "$f" | grep -v '^{"name":"[^"]*","cat":"[a-z]*","ph":"[XiCM]","ts":[0-9]*\(,"dur":[0-9]*\)\{0,1\},"pid":[0-9]*,"tid":[0-9]*\(,"s":"g"\)\{0,1\}\(,"args":{.*}\)\{0,1\}},\{0,1\}$' | head -n 1)
	[ -z "$bad" ] || { why="malformed trace line: $bad"; return 1; }
	[ "$(sed '1,2d;$d' "$f" | grep -vc ',$')" = 1 ] && [ "$(sed -n '$!{h;d};x;p' "$f" | grep -c ',$')" = 0 ] ||
		{ why="the trace's event separators are wrong"; return 1; }
	prev=0 prevname="the origin"
	for e in "$@"; do
		ph=${e%%:*} name=${e#*:}
		line=$(grep -m 1 "^{\"name\":\"$name\",\"cat\":\"[a-z]*\",\"ph\":\"$ph\"" "$f")
		[ -n "$line" ] || { why="the trace has no '$name' ($ph)"; return 1; }
		ts=$(echo "$line" | sed 's/.*"ts":\([0-9]*\).*/\1/')
		end=$ts
		[ "$ph" != X ] || end=$((ts + $(echo "$line" | sed 's/.*"dur":\([0-9]*\).*/\1/')))
		[ "$ts" -ge "$prev" ] ||
			{ why="'$name' (at ${ts} us) comes before '$prevname' (${prev} us)"; return 1; }
		[ "$end" -le "$max" ] ||
			{ why="'$name' ends at ${end} us, after the run's ${max} us"; return 1; }
		prev=$ts prevname=$name
	done
}

expect_marker() { expect_line '^LKVM-L2-INIT-OK$' "L2 init marker LKVM-L2-INIT-OK never appeared"; }
value() { sed -n "s/^$1=//p" "$TXT" | head -n1; }

# pat TAG BYTES: the pattern the guests write (the same as in l2-lib.sh:
# same busybox, same bytes).
pat() { yes "lkvm-$1-0123456789abcdef" | head -c "$2"; }
sha() { sha256sum | cut -d' ' -f1; }

# Helpers of stdin feeders (the shell functions run_vmm pipes into the
# VMM), which count half-seconds in i up to twice the case's timeout tmo.
# wait_for_output PATTERN: until the guest printed PATTERN; fails when lkvm
# exited or time is up first.
wait_for_output() {
	while ! grep -q "$1" "$OUT" 2>/dev/null; do
		[ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ] || return 1
		i=$((i + 1))
		sleep 0.5
	done
}
# wait_vmm_exit: until lkvm exited or time is up.
wait_vmm_exit() {
	while [ ! -e "$RCF" ] && [ $i -lt $((tmo * 2)) ]; do
		i=$((i + 1))
		sleep 0.5
	done
}
# exit_shell: end the guest's shell and wait for lkvm to exit.
exit_shell() {
	sleep 1
	printf 'exit\n'
	wait_vmm_exit
}

# feed_command READY LINE: (a feeder) types LINE into the guest's shell
# once it printed READY, then holds stdin open until the VMM has exited, so
# a case tests the input path, not the handling of EOF.
feed_command() {
	i=0
	wait_for_output "$1" || return 0
	sleep 1
	printf '%s\n' "$2"
	exit_shell
}

# feed_shell: feed_command for the serial shell: one short line (the 8250
# FIFO is 16 bytes).  The tty echoes the command; only the shell can print
# the product.
feed_shell() { feed_command LKVM-L2-SHELL-READY 'echo MAGIC-$((6*7))'; }

# l1_heartbeat: from now on a line every 30 s tells the host that L1 is
# alive while a guest is quiet (the host's watchdog kills an L1 silent for
# 150 s); kill "$hb" stops it.
l1_heartbeat() {
	(while :; do sleep 30; echo "E2E-L1-HEARTBEAT uptime=$(cut -d' ' -f1 /proc/uptime)"; done) &
	hb=$!
}

# l1_bench_boot LOG TAG CMD...: one benchmark boot: says so ("BENCH-RUN TAG:
# CMD"), then runs CMD (a VMM) under BENCH_TIMEOUT with its console in LOG.
# Returns CMD's status.
l1_bench_boot() {
	_log=$1 _tag=$2
	shift 2
	echo "BENCH-RUN $_tag: $*"
	timeout -k 5 "$BENCH_TIMEOUT" "$@" </dev/null >"$_log" 2>&1
}

# l1_bench_check STATUS LOG WANT PATTERN TAG LABEL: a BENCH-FAIL line, and
# the last console lines of LOG prefixed [LABEL], unless the boot of TAG
# exited 0 having printed WANT lines matching PATTERN.
l1_bench_check() {
	_n=$(grep -c "$4" "$2")
	if [ "$1" != 0 ] || [ "$_n" != "$3" ]; then
		echo "BENCH-FAIL $5: status $1, $_n of $3 results; last console lines:"
		tail -n 25 "$2" | tr -d '\r' | sed "s/^/  [$6] /"
	fi
}

# run_cases CASE...: run case_<name> (dashes as underscores) for each, in
# order, printing one "E2E <case>: PASS" or "E2E <case>: FAIL <why>" line
# (and the tail of a failed case's console), with a heartbeat every 30 s
# that tells the host L1 is alive while a case is quiet.
run_cases() {
	l1_heartbeat
	echo "E2E-L1-CASES $#: $*"
	echo "E2E-L1-VMM $(command -v "$VMM" || echo "$VMM: not found")"
	for c in "$@"; do
		why= TXT=
		fn=case_$(echo "$c" | tr - _)
		if ! command -v "$fn" >/dev/null 2>&1; then
			echo "E2E $c: FAIL unknown case"
			continue
		fi
		if "$fn"; then
			echo "E2E $c: PASS"
		else
			echo "E2E $c: FAIL ${why:-failed}"
			echo "E2E-TAIL $c: last 30 console lines:"
			tail -n 30 "${TXT:-$W/$c.txt}" 2>/dev/null | show "$c tail"
		fi
	done
	kill "$hb" 2>/dev/null
}

# --- virtio-net ---------------------------------------------------------------
#
# L1's side of the net cases (the guest's is net_action in l2-lib.sh,
# lkvmtest=net): servers, the stdin feeders that ping or fetch from the
# guest while it waits, and the checks.  NET_BYTES is the size of the
# small transfers (the payload passes another to the guest as
# lkvmnetbytes=); net_guest is the guest's address for feed_net_tap, which
# also pings it with net_bigping data bytes and fetches net_big bytes from
# it when those are set.
NET_BYTES=1048576
net_guest= net_bigping= net_big=

# wait_dev_l1 PATH: up to 5 s for a device node in L1.
wait_dev_l1() {
	n=0
	while [ ! -e "$1" ] && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -e "$1" ]
}

# net_tun: /dev/net/tun in L1 (tun.ko from /modules if it is not there).
net_tun() {
	[ -c /dev/net/tun ] || insmod /modules/tun.ko || { why="insmod tun failed in L1"; return 1; }
	wait_dev_l1 /dev/net/tun || { why="no /dev/net/tun in L1"; return 1; }
}

# net_ifup_script ADDR/PREFIX: $W/net-ifup, a script= for a tap lkvm
# makes: it records the tap's name in $W/net-ifup.log, gives it ADDR/PREFIX
# and brings it up.
net_ifup_script() {
	{
		echo '#!/bin/sh'
		echo "echo \"\$1\" >$W/net-ifup.log"
		echo "ip addr add $1 dev \"\$1\" && ip link set \"\$1\" up"
	} >"$W/net-ifup"
	chmod 755 "$W/net-ifup"
}

# net_check_slirp_lease: the guest's DHCP client got libslirp's lease
# (10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3) and eth0 has the address.
net_check_slirp_lease() {
	[ "$(value NET_DHCP)" = ok ] || { why="DHCP in the guest: $(value NET_DHCP)"; return 1; }
	[ "$(value NET_DHCP_IP)" = 10.0.2.15 ] && [ "$(value NET_DHCP_MASK)" = 24 ] &&
		[ "$(value NET_DHCP_ROUTER)" = 10.0.2.2 ] && [ "$(value NET_DHCP_DNS)" = 10.0.2.3 ] ||
		{ why="DHCP lease ip=$(value NET_DHCP_IP)/$(value NET_DHCP_MASK) router=$(value NET_DHCP_ROUTER) dns=$(value NET_DHCP_DNS), expected 10.0.2.15/24, 10.0.2.2, 10.0.2.3"; return 1; }
	[ "$(value NET_ADDR)" = 10.0.2.15/24 ] || { why="eth0 has '$(value NET_ADDR)' after DHCP"; return 1; }
}

# bigpat TAG BYTES FILE: the bulk transfers' pattern (the same as in
# l2-lib.sh): copies of `pat TAG 1000003` (a prime number of bytes, so
# that data misplaced by a page or a buffer cannot match) cut to BYTES.
bigpat() {
	pat "$1" 1000003 >"$W/bigpat.blk"
	# one cat for all the copies (a process costs under nested TCG)
	n=$(($2 / 1000003 + 1)) bp_size=$2 bp_f=$3
	set --
	while [ $n -gt 0 ]; do
		set -- "$@" "$W/bigpat.blk"
		n=$((n - 1))
	done
	cat "$@" >"$bp_f"
	truncate -s "$bp_size" "$bp_f"
	rm -f "$W/bigpat.blk"
}

# net_sha TAG BYTES: sha256 of bigpat TAG BYTES, computed once per L1 run.
net_sha() {
	if [ ! -s "$W/net-sha-$1-$2" ]; then
		bigpat "$1" "$2" "$W/net-sha.tmp"
		sha <"$W/net-sha.tmp" >"$W/net-sha-$1-$2"
		rm -f "$W/net-sha.tmp"
	fi
	cat "$W/net-sha-$1-$2"
}

# l1_ip NAME: L1's counter NAME of the Ip: lines of /proc/net/snmp.
l1_ip() {
	awk -v k="$1" '/^Ip:/ { if (!h) { for (i = 2; i <= NF; i++) if ($i == k) c = i; h = 1 } else print $c }' /proc/net/snmp
}

# net_serve ADDR [BIG]: L1's servers for a net case: httpd serving the
# pattern net-get as /f (and bigpat net-big, BIG bytes, as /big) on ADDR:8080
# (every address for "any"; then checked on 127.0.0.1), and nc storing one
# upload from port 8081 in $W/net-put.bin; checks that httpd answers on
# ADDR.
net_serve() {
	net_stop
	# L1's own addresses (127.0.0.1, and the tap's) are reached over lo.
	ip link set lo up
	rm -rf "$W/www" "$W/net-put.bin" "$W/net-hold"
	mkdir -p "$W/www"
	pat net-get $NET_BYTES >"$W/www/f"
	if [ -n "${2:-}" ]; then
		bigpat net-big "$2" "$W/www/big"
		[ -s "$W/net-sha-net-big-$2" ] || sha <"$W/www/big" >"$W/net-sha-net-big-$2"
	fi
	if [ "$1" = any ]; then
		httpd -f -p 8080 -h "$W/www" &
		set -- 127.0.0.1
	else
		httpd -f -p "$1:8080" -h "$W/www" &
	fi
	net_httpd=$!
	# busybox nc -l ends when its stdin does: give it a FIFO that L1 holds
	# open (fd 9) so that it ends when the guest's connection closes.
	mkfifo "$W/net-hold"
	nc -l -p 8081 <"$W/net-hold" >"$W/net-put.bin" &
	net_nc=$!
	exec 9>"$W/net-hold"
	i=0
	while [ "$(printf 'GET /f HTTP/1.0\r\n\r\n' | nc -w 5 "$1" 8080 2>/dev/null | tail -c $NET_BYTES | sha)" != "$(pat net-get $NET_BYTES | sha)" ]; do
		i=$((i + 1))
		[ $i -lt 20 ] || { echo "E2E-INFO L1's httpd does not serve /f on $1:8080"; return 1; }
		sleep 0.5
	done
}

# net_stop: end net_serve's servers (and net_dns's).
net_stop() {
	exec 9>&-
	# (A bare wait would wait for the heartbeat too.)
	for pid in ${net_httpd:-} ${net_nc:-} ${net_dns:-}; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -z "${net_dns:-}" ] || rm -f /etc/resolv.conf
	net_httpd= net_nc= net_dns=
	rm -f "$W/www/big"
}

# net_bit N: bit N of the guest's negotiated virtio-net features.
net_bit() { value NET_FEATURES | cut -c$(($1 + 1)); }

# net_check CASE SRV TRANSPORT: the guest's virtio_net bound the card
# (default MAC, carrier up) where TRANSPORT puts it, pinged SRV (L1's end)
# and moved NET_BYTES each way intact.
net_check() {
	expect_marker && expect_status 0 || return 1
	[ "$(value NET_ETH0)" = present ] || { why="no eth0 in the guest: $(value NET_ETH0)"; return 1; }
	[ "$(value NET_DRIVER)" = virtio_net ] || { why="eth0's driver is '$(value NET_DRIVER)', expected virtio_net"; return 1; }
	[ "$(value NET_MAC)" = 02:15:15:15:15:15 ] || { why="eth0's MAC is '$(value NET_MAC)', expected 02:15:15:15:15:15"; return 1; }
	[ "$(value NET_LINK)" = up ] || { why="eth0's operstate is '$(value NET_LINK)': no carrier (VIRTIO_NET_S_LINK_UP)"; return 1; }
	echo "E2E-INFO $1: $3, mtu $(value NET_MTU), features $(value NET_FEATURES); eth0 rx $(value NET_STAT_rx_bytes) B/$(value NET_STAT_rx_packets) pkts, tx $(value NET_STAT_tx_bytes) B/$(value NET_STAT_tx_packets) pkts, errors rx $(value NET_STAT_rx_errors) tx $(value NET_STAT_tx_errors), dropped rx $(value NET_STAT_rx_dropped) tx $(value NET_STAT_tx_dropped); $(grep '^NET_T_' "$TXT" | tr '\n' ' ')"
	p=$(value NET_DEVPATH)
	case "$3" in
	pci*) case "$p" in */pci0000:*) ;; *) why="eth0 is not a PCI device over $3: $p"; return 1 ;; esac ;;
	mmio*) case "$p" in */pci0000:*|'') why="eth0 is not a virtio-mmio platform device over $3: $p"; return 1 ;; esac ;;
	esac
	case "$3" in *-legacy) v1=0 ;; *) v1=1 ;; esac
	[ "$(net_bit 32)" = $v1 ] || { why="VIRTIO_F_VERSION_1 is '$(net_bit 32)' over $3, expected $v1"; return 1; }
	[ "$(value NET_PING)" = ok ] || { why="the guest's ping to $2: $(value NET_PING)"; return 1; }
	case "$(value NET_GET_STATUS)" in
	*" 200 "*) ;;
	*) why="the guest's GET of http://$2:8080/f: status '$(value NET_GET_STATUS)', $(value NET_GET_TOTAL) bytes"; return 1 ;;
	esac
	[ "$(value NET_GET_SHA)" = "$(pat net-get $NET_BYTES | sha)" ] ||
		{ why="the guest received $NET_BYTES bytes from L1 wrong ($(value NET_GET_TOTAL) bytes in the reply)"; return 1; }
	[ "$(value NET_PUT)" = sent ] || { why="the guest's upload to $2:8081: $(value NET_PUT)"; return 1; }
	n=$(stat -c %s "$W/net-put.bin" 2>/dev/null)
	[ "$n" = $NET_BYTES ] && [ "$(sha <"$W/net-put.bin")" = "$(pat net-put $NET_BYTES | sha)" ] ||
		{ why="L1 received ${n:-no} bytes of the guest's $NET_BYTES-byte upload, or different ones"; return 1; }
}

# net_check_big CASE BYTES: the bulk transfers both ways (lkvmnetbig=):
# what the guest fetched from L1's /big and what L1 fetched from the
# guest's, each checked by sha256 on the receiving side.
net_check_big() {
	mib=$(($2 / 1048576))
	up_cs=$(cat "$W/net-bigput.cs" 2>/dev/null)
	echo "E2E-INFO $1: $mib MiB L1->guest in $(value NET_T_big_get), guest->L1 in $((${up_cs:-0} / 100)).$((${up_cs:-0} / 10 % 10))s"
	[ "$(value NET_BIG_GET_RC)" = 0 ] && [ "$(value NET_BIG_GET_SHA)" = "$(net_sha net-big "$2")" ] ||
		{ why="the guest's wget of $mib MiB from L1: status '$(value NET_BIG_GET_RC)' $(value NET_BIG_GET_ERR), sha256 $(value NET_BIG_GET_SHA)"; return 1; }
	[ "$(cat "$W/net-bigput.rc" 2>/dev/null)" = 0 ] && [ "$(cat "$W/net-bigput.sha" 2>/dev/null)" = "$(net_sha net-big-up "$2")" ] ||
		{ why="L1's wget of $mib MiB from the guest: status '$(cat "$W/net-bigput.rc" 2>/dev/null)' $(head -c 200 "$W/net-bigput.err" 2>/dev/null), sha256 $(cat "$W/net-bigput.sha" 2>/dev/null)"; return 1; }
}

# feed_net_user: (the feeder of the user-mode cases) while the guest waits,
# L1 fetches what it serves (lkvmnetfwd=7000) through hostfwd=
# tcp:127.0.0.1:2222-:7000 into $W/net-fwd.bin (nc's status in
# $W/net-fwd.rc); then releases it.
feed_net_user() {
	i=0
	wait_for_output LKVM-L2-NET-WAITING || return 0
	# Input held open (the FIFO of net_serve): nc ends when the guest's
	# server closes the connection.
	timeout 60 nc -w 10 127.0.0.1 2222 <"$W/net-hold" >"$W/net-fwd.bin" 2>"$W/net-fwd.err"
	echo $? >"$W/net-fwd.rc"
	printf 'go\n'
	wait_vmm_exit
}

# feed_net_tap: while the guest waits, L1 pings it (net_guest), with
# net_bigping data bytes too if set, and fetches its /big (net_big bytes,
# if set) into sha256sum; then releases it.
feed_net_tap() {
	i=0
	wait_for_output LKVM-L2-NET-WAITING || return 0
	ping -c 3 -i 0.2 -W 5 "$net_guest" >"$W/net-tap-ping.out" 2>&1
	echo $? >"$W/net-tap-ping.rc"
	if [ -n "$net_bigping" ]; then
		ping -c 3 -i 0.2 -W 5 -s "$net_bigping" "$net_guest" >"$W/net-tap-bigping.out" 2>&1
		echo $? >"$W/net-tap-bigping.rc"
	fi
	if [ -n "$net_big" ]; then
		t0=$(now_cs)
		{ timeout 300 wget -q -O - "http://$net_guest:8000/big" 2>"$W/net-bigput.err"; echo $? >"$W/net-bigput.rc"; } |
			sha >"$W/net-bigput.sha"
		echo $(($(now_cs) - t0)) >"$W/net-bigput.cs"
	fi
	printf 'go\n'
	wait_vmm_exit
}
