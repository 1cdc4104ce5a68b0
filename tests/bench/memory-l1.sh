#!/bin/sh
# VMM memory benchmark, inside L1 (busybox sh) as /payload.sh; see
# tests/bench/memory.sh. Boots the L2 kernel (-m 256 -c 1, no network
# unless asked) with each configuration in turn, waits for the L2 init to
# sit idle (lkvmtest=idle in tests/e2e/x86/l2-init.sh), reads the VMM's
# /proc/PID/smaps and prints one BENCH line per boot: RSS outside guest RAM
# (the largest anonymous mapping of at least the guest's size), split into
# anonymous and file-backed, plus the biggest mappings (BENCH-MAP) with the
# thread whose stack each is, when it is one.
#
# /etc/lkvm-test.conf sets BENCH_TIMEOUT, BENCH_SETTLE (seconds at idle
# before reading) and BENCH_VMMS (lkvm, base, kvmtool: which binaries).
. /etc/lkvm-test.conf
BENCH_TIMEOUT=${BENCH_TIMEOUT:-180}
BENCH_SETTLE=${BENCH_SETTLE:-5}
BENCH_VMMS=${BENCH_VMMS:-lkvm}
K=/l2/bzImage
I=/l2/initrd.cpio.gz
P=lkvmtest=idle
MEM=256
W=/tmp/bench
mkdir -p "$W" "$W/share" "$W/home"
# One sparse 64 MiB raw image per VMM (each may write its own).
for v in $BENCH_VMMS; do
	dd if=/dev/zero of="$W/$v.img" bs=1M count=0 seek=64 2>/dev/null
done
echo hello >"$W/share/file"

. /l1-lib.sh
l1_heartbeat

# smaps_report TAG PID: the BENCH and BENCH-MAP lines of one VMM.
smaps_report() {
	tag=$1 pid=$2
	# Each thread's stack pointer (from its syscall file: it is blocked in
	# a syscall at idle) names the mapping that is its stack.
	for t in /proc/$pid/task/*; do
		set -- $(cat "$t/syscall" 2>/dev/null)
		[ $# -ge 8 ] && echo "SP $8 $(cat "$t/comm" | tr ' ' _)"
	done >"$W/sp"
	ntask=$(ls /proc/$pid/task | wc -l)
	awk -v tag="$tag" -v gmin=$((MEM * 1024)) -v ntask="$ntask" '
	function hex(s,   i, v) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	$1 == "SP" { nsp++; spv[nsp] = hex($2); spn[nsp] = $3; next }
	/^[0-9a-f]+-[0-9a-f]+ / {
		n++; split($1, ab, "-"); lo[n] = hex(ab[1]); hi[n] = hex(ab[2])
		perm[n] = $2; path[n] = ""
		for (i = 6; i <= NF; i++) path[n] = path[n] (i > 6 ? " " : "") $i
		next
	}
	$1 == "Size:" { size[n] = $2 }
	$1 == "Rss:" { rss[n] = $2 }
	$1 == "Anonymous:" { anon[n] = $2 }
	$1 == "AnonHugePages:" { thp[n] = $2 }
	END {
		g = 0
		for (i = 1; i <= n; i++)
			if (path[i] == "" && size[i] >= gmin && (!g || size[i] > size[g]))
				g = i
		for (i = 1; i <= n; i++) {
			if (i == g) continue
			tr += rss[i]; ta += anon[i]; tt += thp[i]
		}
		printf "BENCH mem vmm=%s rss_kb=%d anon_kb=%d file_kb=%d thp_kb=%d guest_rss_kb=%d threads=%d maps=%d\n", \
			tag, tr, ta, tr - ta, tt, g ? rss[g] : -1, ntask, n
		# The ten biggest by RSS, guest RAM left out.
		for (k = 0; k < 10; k++) {
			b = 0
			for (i = 1; i <= n; i++)
				if (i != g && !done[i] && rss[i] > 0 && (!b || rss[i] > rss[b]))
					b = i
			if (!b) break
			done[b] = 1
			what = path[b]
			for (j = 1; j <= nsp; j++)
				if (spv[j] >= lo[b] && spv[j] < hi[b])
					what = what "[stack:" spn[j] "]"
			printf "BENCH-MAP vmm=%s rss_kb=%d anon_kb=%d thp_kb=%d size_kb=%d %s %s\n", \
				tag, rss[b], anon[b], thp[b], size[b], perm[b], what == "" ? "[anon]" : what
		}
	}' "$W/sp" "/proc/$pid/smaps"
}

# measure TAG CMD...: boot, wait for idle, report, kill.
measure() {
	tag=$1
	shift
	log=$W/$tag.log
	echo "BENCH-RUN $tag: $*"
	"$@" </dev/null >"$log" 2>&1 &
	pid=$!
	n=0
	while ! grep -q LKVM-L2-IDLE "$log" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$n" -ge $((BENCH_TIMEOUT * 5)) ]; then
			echo "BENCH-FAIL $tag: the guest never reached idle; last console lines:"
			tail -n 25 "$log" | tr -d '\r' | sed "s/^/  [$tag] /"
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return
		fi
		n=$((n + 1))
		sleep 0.2
	done
	sleep "$BENCH_SETTLE"
	smaps_report "$tag" "$pid"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

echo "BENCH-CONFIG vmms=$BENCH_VMMS thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
for v in $BENCH_VMMS; do
	case $v in
	kvmtool)
		# kvmtool keeps state in ~/.lkvm; -n mode=none: no network card.
		measure kvmtool env HOME=$W/home kvmtool run -k $K -i $I -m $MEM -c 1 \
			-d "$W/kvmtool.img" -n mode=none -p "$P"
		;;
	lkvm|base)
		b=lkvm
		[ "$v" = base ] && b=lkvm-base
		measure "$v-nodisk" $b run -k $K -i $I -m $MEM -c 1 -n none -p "$P"
		measure "$v" $b run -k $K -i $I -m $MEM -c 1 -n none -d "$W/$v.img" -p "$P"
		measure "$v-9p" $b run -k $K -i $I -m $MEM -c 1 -n none -d "$W/$v.img" \
			--9p "$W/share,share" -p "$P"
		measure "$v-user" $b run -k $K -i $I -m $MEM -c 1 -n mode=user -d "$W/$v.img" -p "$P"
		;;
	esac
done
echo "BENCH-END"
kill "$hb" 2>/dev/null
