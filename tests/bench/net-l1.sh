#!/bin/sh
# Network benchmark, inside L1 (busybox sh) as /payload.sh; see
# tests/bench/net.sh. For each backend, boots the L2 kernel with lkvm and
# with QEMU side by side, each with one virtio-net card on that backend,
# and measures with netperf (tests/bench/tools/netperf.c) at both ends.
# The guests (lkvmtest=netbench in tests/e2e/x86/l2-init.sh) connect to
# L1's ports in a fixed order, retrying while a port is closed; L1 opens
# one port at a time, so it decides which guest runs which test when:
#   BASE+0  one transaction: the guest is up
#   BASE+1  g2h  the guest streams to L1 (L1: stream-recv)
#   BASE+2  h2g  L1 streams to the guest (L1: stream-send)
#   BASE+3  rr   1-byte request/response over TCP (L1: rr-server)
# BASE is 5000 for lkvm and 6000 for QEMU. Each test runs BENCH_RUNS
# times, lkvm's and QEMU's turns alternating (ABBA), so that both meet the
# same load on the host; the other guest is idle meanwhile (its connect
# retries cost a SYN and a reset every 200 ms).
#
# Backends, the same on both sides:
#   tap    a tap each (tap0 192.168.33.1/24 for lkvm, tap1 192.168.34.1/24
#          for QEMU; the guest is .2):  lkvm -n mode=tap,tapif=tapN
#          QEMU -netdev tap,ifname=tapN,script=no,downscript=no
#   vhost  the same with lkvm's vhost=on and QEMU's vhost=on (vhost_net)
#   user   libslirp; the guests are 10.0.2.15/24 and reach L1's
#          loopback at 10.0.2.2:  lkvm -n mode=user  /  QEMU -netdev user
# QEMU runs -M pc (qboot) with virtio-net-pci, lkvm's default transport
# (modern virtio-pci, MSI-X), the same MAC; both guests get 256 MiB and
# one vCPU.
#
# /etc/lkvm-test.conf sets BENCH_RUNS, BENCH_SECS, BENCH_TIMEOUT (per
# backend) and BENCH_BACKENDS.
. /etc/lkvm-test.conf
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECS=${BENCH_SECS:-5}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
BENCH_BACKENDS=${BENCH_BACKENDS:-tap vhost user}
VMMS="lkvm qemu"
TESTS="g2h h2g rr"
K=/l2/bzImage
I=/l2/initrd-bench.cpio.gz
W=/tmp/bench
mkdir -p "$W"

# A heartbeat tells the host that L1 is alive while a guest is quiet
# (l1_heartbeat: tests/e2e/lib/l1-lib.sh, in L1 as /l1-lib.sh).
. /l1-lib.sh
l1_heartbeat

# tun, vhost_net and their dependencies (net.sh staged them, in order).
for m in $(cat /etc/net-modules); do
	grep -q "^${m%.ko} " /proc/modules || insmod "/modules/$m" ||
		echo "BENCH-FAIL insmod $m failed"
done
i=0
while { [ ! -c /dev/net/tun ] || [ ! -c /dev/vhost-net ]; } && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up
for n in 0 1; do
	tunctl -t tap$n >/dev/null || echo "BENCH-FAIL tunctl -t tap$n failed"
	ip addr add 192.168.$((33 + n)).1/24 dev tap$n
	ip link set tap$n up
done

# snap VMM NAME: what the measurements cost (a cheap profile), into
# $W/snap.NAME as "name value" lines: the VM's exit counters from KVM's
# debugfs (summed over its vCPUs), the CPU time of the VMM's vCPU threads,
# of all its threads and of its vhost worker threads, L1's TCP
# retransmissions and input backlog drops, and L1's busy and total time
# (times in USER_HZ ticks). First a BENCH-SNAP line: net.sh notes there how
# much of the host's CPU L1 has had.
KVM_STATS="exits io_exits mmio_exits halt_exits irq_exits irq_window_exits insn_emulation irq_injections halt_wakeup halt_successful_poll hypercalls"
snap() {
	echo "BENCH-SNAP $2"
	pid=$(cat "$W/$1.pid")
	d=$(ls -d /sys/kernel/debug/kvm/"$pid"-[0-9]* 2>/dev/null | head -n 1)
	{
		for f in $KVM_STATS; do
			echo "$f $(cat "$d/$f" 2>/dev/null || echo 0)"
		done
		# utime and stime are the 12th and 13th fields after "(comm) ".
		sed 's/.*) //' "/proc/$pid/stat" | awk '{ print "vmm_ticks", $12 + $13 }'
		for t in /proc/$pid/task/*; do
			case "$(cat "$t/comm")" in
			lkvm-vcpu*|CPU*/KVM) sed 's/.*) //' "$t/stat" ;;
			esac
		done | awk '{ n += $12 + $13 } END { print "vcpu_ticks", n + 0 }'
		for c in $(grep -l "^vhost-$pid\$" /proc/[0-9]*/comm 2>/dev/null); do
			sed 's/.*) //' "${c%/comm}/stat"
		done | awk '{ n += $12 + $13 } END { print "vhost_ticks", n + 0 }'
		awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) f[$i] = i; h = 1 } else print "l1_retrans", $f["RetransSegs"] }' /proc/net/snmp
		(set -- $(head -n 1 /proc/net/softnet_stat) && echo "l1_backlog_drops $((0x$2))")
		head -n 1 /proc/stat | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; print "l1_busy_ticks", t - $5 - $6; print "l1_ticks", t }'
	} >"$W/snap.$2"
}

# prof TAG A B: a BENCH net-prof line, snap B minus snap A.
prof() {
	[ -f "$W/snap.$2" ] && [ -f "$W/snap.$3" ] || return 0
	awk -v tag="$1" 'NR == FNR { a[$1] = $2; next }
		{ s = s " " $1 "=" $2 - a[$1] } END { print "BENCH net-prof " tag s }' \
		"$W/snap.$2" "$W/snap.$3"
}

# trace_on PID, trace_off TAG (net.sh --trace): KVM's kvm_exit and kvm_pio
# events over a test, summed up for PID's threads (as they were when the
# test began: the VMM may be gone by its end) in a BENCH net-trace line:
# exit reasons, then the ports of port I/O exits. Tracing slows the
# measured figures down.
T=/sys/kernel/tracing
trace_on() {
	tids=$(ls /proc/$1/task | tr '\n' ' ')
	[ -e $T/trace ] || mount -t tracefs tracefs $T
	echo 0 >$T/tracing_on
	echo 4096 >$T/buffer_size_kb
	: >$T/trace
	echo 1 >$T/events/kvm/kvm_exit/enable
	echo 1 >$T/events/kvm/kvm_pio/enable
	echo 1 >$T/tracing_on
}
trace_off() {
	echo 0 >$T/tracing_on
	echo 0 >$T/events/kvm/kvm_exit/enable
	echo 0 >$T/events/kvm/kvm_pio/enable
	awk -v tids=" $tids" -v tag="$1" '
		{
			# "COMM-TID [CPU] ...": COMM may hold spaces ("CPU 0/KVM")
			if (!match($0, /-[0-9]+ +\[[0-9]+\]/)) next
			tid = substr($0, RSTART + 1, RLENGTH - 1); sub(/ .*/, "", tid)
			if (index(tids, " " tid " ") == 0) next
		}
		/kvm_exit:/ { for (i = 1; i <= NF; i++) if ($i == "reason") { r[$(i + 1)]++; break } }
		/kvm_pio:/ { for (i = 1; i <= NF; i++) if ($i == "at") { p[$(i + 1) "/" $(i - 1)]++; break } }
		END {
			s = "BENCH net-trace " tag " exits:"
			for (x in r) s = s " " x "=" r[x]
			s = s " pio:"
			for (x in p) s = s " " x "=" p[x]
			print s
		}' $T/trace
}

alive() { [ -e "$W/$1.pid" ] && kill -0 "$(cat "$W/$1.pid")" 2>/dev/null; }

# start_vm VMM BACKEND: boot it in the background, console in $W/VMM.log,
# pid (the VMM's: busybox timeout execs it) in $W/VMM.pid.
start_vm() {
	vmm=$1 be=$2
	if [ "$vmm" = lkvm ]; then n=0 base=5000; else n=1 base=6000; fi
	case $be in
	user) addr=10.0.2.15/24 srv=10.0.2.2 ln=mode=user qn=user ;;
	tap) addr=192.168.$((33 + n)).2/24 srv=192.168.$((33 + n)).1 ln=mode=tap,tapif=tap$n
		qn=tap,ifname=tap$n,script=no,downscript=no ;;
	vhost) addr=192.168.$((33 + n)).2/24 srv=192.168.$((33 + n)).1 ln=mode=tap,tapif=tap$n,vhost=on
		qn=tap,ifname=tap$n,script=no,downscript=no,vhost=on ;;
	esac
	P="quiet lkvmtest=netbench lkvmnetbench=$addr,$srv,$BENCH_SECS,$base,$BENCH_RUNS"
	if [ "$vmm" = lkvm ]; then
		set -- lkvm run -k $K -i $I -m 256 -c 1 -n "$ln" -p "$P"
	else
		# debug-threads: the vCPU thread is "CPU 0/KVM" (snap)
		set -- qemu-system-x86_64 -M pc -bios /usr/share/qemu/bios-microvm.bin -nodefaults \
			-enable-kvm -cpu host -m 256 -smp 1 -display none -monitor none \
			-serial stdio -no-reboot -name bench,debug-threads=on \
			-netdev "$qn,id=n0" -device virtio-net-pci,netdev=n0,mac=02:15:15:15:15:15,romfile= \
			-kernel $K -initrd $I -append "console=ttyS0 reboot=k panic=-1 $P"
	fi
	echo "BENCH-RUN $vmm $be: $*"
	rm -f "$W/$vmm.pid" "$W/$vmm.rc"
	{
		sh -c 'echo $$ >"$0"; exec timeout -k 5 "$@"' "$W/$vmm.pid" "$BENCH_TIMEOUT" "$@" \
			</dev/null >"$W/$vmm.log" 2>&1
		echo $? >"$W/$vmm.rc"
	} &
	eval "job_$vmm=\$!"
	i=0
	while [ ! -s "$W/$vmm.pid" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# serve VMM PORT OUT ARGS...: L1's end of one test for VMM's guest, in
# the foreground; gives up when the VMM has exited.
serve() {
	vmm=$1 port=$2 out=$3
	shift 3
	netperf "$@" -l "$port" -w "$BENCH_TIMEOUT" >"$out" 2>&1 &
	sp=$!
	while kill -0 "$sp" 2>/dev/null; do
		if ! alive "$vmm"; then
			kill "$sp" 2>/dev/null
			echo "NETPERF mode=$1 error=vmm-exited" >>"$out"
			break
		fi
		sleep 0.2
	done
	wait "$sp" 2>/dev/null
}

# measure VMM BACKEND RUN TEST: one test of one guest, with a snapshot
# before and after; prints its BENCH net and net-prof lines.
measure() {
	vmm=$1 be=$2 run=$3 t=$4 tag="vmm=$1 backend=$2 run=$3 test=$4"
	if [ "$vmm" = lkvm ]; then base=5000; else base=6000; fi
	alive "$vmm" || return 0
	case $t in
	g2h) port=$((base + 1)) m=stream-recv ;;
	h2g) port=$((base + 2)) m=stream-send ;;
	rr) port=$((base + 3)) m=rr-server ;;
	esac
	out=$W/l1-$vmm-$t-$run.out
	snap "$vmm" "$vmm-$be-$t-$run-a"
	[ "${BENCH_TRACE:-0}" = 0 ] || trace_on "$(cat "$W/$vmm.pid")"
	if [ $t = h2g ]; then
		serve "$vmm" $port "$out" $m -t "$BENCH_SECS"
	else
		serve "$vmm" $port "$out" $m
	fi
	[ "${BENCH_TRACE:-0}" = 0 ] || trace_off "$tag"
	snap "$vmm" "$vmm-$be-$t-$run-b"
	l1=$(sed -n "s/^NETPERF mode=$m //p" "$out" | head -n 1)
	echo "BENCH net $tag ${l1:-error=none}"
	prof "$tag" "$vmm-$be-$t-$run-a" "$vmm-$be-$t-$run-b"
}

# guest_lines VMM BACKEND: the guest's own figures (the RUN-th NETPERF
# line of each mode), its retransmissions and its info lines.
guest_lines() {
	vmm=$1 be=$2
	tr -d '\r' <"$W/$vmm.log" >"$W/$vmm.txt"
	sed -n "s/^NETBENCH-INFO /BENCH net-info vmm=$vmm backend=$be /p" "$W/$vmm.txt"
	sed -n "s/^NETBENCH-DMESG /BENCH net-dmesg vmm=$vmm backend=$be: /p" "$W/$vmm.txt"
	for t in $TESTS; do
		case $t in
		g2h) m=stream-send ;;
		h2g) m=stream-recv ;;
		rr) m=rr-client ;;
		esac
		run=1
		sed -n "s/^NETPERF mode=$m //p" "$W/$vmm.txt" | grep -v '^error=' | while read -r l; do
			rt=$(sed -n "s/^NETBENCH-TCP run=$run test=$t retrans=//p" "$W/$vmm.txt" | head -n 1)
			echo "BENCH net-guest vmm=$vmm backend=$be run=$run test=$t $l retrans=${rt:-?}"
			run=$((run + 1))
		done
	done
}

# check VMM BACKEND: a BENCH-FAIL with the console's tail unless the VMM
# exited 0 with every test measured at L1's end; a BENCH-UNSUPPORTED
# instead for an lkvm that refuses vhost=on.
check() {
	vmm=$1 be=$2 rc=$(cat "$W/$1.rc" 2>/dev/null)
	if [ "$vmm" = lkvm ] && [ "$be" = vhost ] && [ "$rc" = 2 ] && grep -q 'vhost' "$W/$vmm.txt"; then
		echo "BENCH-UNSUPPORTED $vmm $be: $(grep -m1 vhost "$W/$vmm.txt")"
		return
	fi
	n=$(cat "$W"/l1-$vmm-*.out 2>/dev/null | grep -c '^NETPERF mode=[a-z-]* [bt]')
	want=$((3 * BENCH_RUNS))
	if [ "${rc:-none}" != 0 ] || [ "$n" != $want ]; then
		echo "BENCH-FAIL $vmm $be: status ${rc:-none}, $n of $want tests measured; last console lines:"
		tail -n 25 "$W/$vmm.txt" | sed "s/^/  [$vmm-$be] /"
		grep -h error= "$W"/l1-$vmm-*.out 2>/dev/null | head -n 5 | sed "s/^/  [$vmm-$be L1] /"
	fi
}

# one_backend BACKEND: both guests up, the tests in turn, the guests'
# figures once they have finished.
one_backend() {
	be=$1
	rm -f "$W"/l1-*.out "$W"/snap.* "$W"/*.log "$W"/*.txt
	for v in $VMMS; do
		start_vm $v "$be"
	done
	# Both guests up (one transaction each), however long the boots take.
	for v in $VMMS; do
		if [ "$v" = lkvm ]; then base=5000; else base=6000; fi
		serve $v $base "$W/l1-ready-$v" rr-server
	done
	run=1
	while [ "$run" -le "$BENCH_RUNS" ]; do
		if [ $((run % 2)) = 1 ]; then order="lkvm qemu"; else order="qemu lkvm"; fi
		for t in $TESTS; do
			for v in $order; do
				measure $v "$be" $run $t
			done
		done
		run=$((run + 1))
	done
	# The guests print their figures and reboot.
	i=0
	while { alive lkvm || alive qemu; } && [ $i -lt 600 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	for v in $VMMS; do
		alive $v && kill "$(cat "$W/$v.pid")" 2>/dev/null
	done
	# (A bare wait would wait for the heartbeat too.)
	wait $job_lkvm $job_qemu
	for v in $VMMS; do
		guest_lines $v "$be"
		check $v "$be"
	done
}

echo "BENCH-CONFIG runs=$BENCH_RUNS secs=$BENCH_SECS backends=$BENCH_BACKENDS"
for be in $BENCH_BACKENDS; do
	one_backend "$be"
done
echo "BENCH-END"
kill "$hb" 2>/dev/null
