#!/bin/bash
# Network benchmark: lkvm's virtio-net against QEMU's, both running the
# same Debian kernel as L2 inside one nested-KVM L1 (see
# tests/e2e/x86/run.sh), on the same backend, measured with the same tool.
# Not part of make check.
#
# usage: tests/bench/net.sh [--lkvm PATH] [--runs N] [--secs N]
#                           [--backends LIST] [--trace] [--timeout S]
#
#   --lkvm PATH      lkvm binary (default: ./lkvm at the top)
#   --runs N         measurements of each test per VMM and backend
#                    (default 3), lkvm's and QEMU's turns alternating
#   --secs N         seconds of each measurement (default 5)
#   --backends LIST  tap,vhost,user (default all three): a tap in L1
#                    (lkvm -n mode=tap,tapif=TAP / QEMU -netdev tap), a
#                    tap with vhost_net (vhost=on on both), or libslirp
#                    user mode (-n mode=user / -netdev user)
#   --trace          trace KVM's exits in L1 during each test and print
#                    their reasons and port I/O ports per test (slows the
#                    figures down: for finding out why, not for them)
#   --timeout S      limit for the whole L1 run (default: 300 s, plus per
#                    backend 300 s and 6 x (--secs + 10) s per run)
#
# For each backend L1 boots one guest with lkvm and one with QEMU side by
# side; each guest runs netperf (tests/bench/tools/netperf.c, static)
# against netperf in L1: a TCP stream guest to host (g2h) and host to
# guest (h2g) in MB/s, and 1-byte request/response round trips per second
# over TCP (rr), each for --secs seconds, one guest at a time (the other
# idles). The figures are L1's end (one clock for both VMMs); the guest's
# end is logged beside them. Prints every measurement, then per backend and
# test the medians, lkvm/QEMU, and the same ratio of the figures divided
# by the host CPU time L1 got during each (other work on the host starves
# L1 at times), then what each row cost L1 (VM exits, CPU time of vCPU,
# device and vhost threads). Absolute numbers under TCG mean little;
# compare within one run.
set -eu
LKVM_PROG=net-bench
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
runs=3 secs=5 backends="tap vhost user" trace=0
l1_timeout=

usage() { sed -n '/^# usage:/,/^#   --timeout/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--backends) backends=${2//,/ }; shift 2 ;;
	--trace) trace=1; shift ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "net-bench: unknown option '$1'" >&2; usage ;;
	esac
done
for n in "$runs" "$secs" ${l1_timeout:+"$l1_timeout"}; do
	case "$n" in ''|*[!0-9]*|0) lkvm_die "--runs, --secs and --timeout need positive numbers" ;; esac
done
[ -n "$backends" ] || lkvm_die "--backends: give at least one of tap, vhost, user"
for b in $backends; do
	case "$b" in tap|vhost|user) ;; *) lkvm_die "unknown backend '$b' (tap, vhost, user)" ;; esac
done
nb=$(echo $backends | wc -w)
# Per backend: two boots side by side, then 6 measurements per run.
be_timeout=$((300 + 6 * runs * (secs + 10)))
[ -n "$l1_timeout" ] || l1_timeout=$((300 + nb * be_timeout))

lkvm_check_host_tools
lkvm_check_vmm "" "$lkvm_bin"
lkvm_fetch_kernel

# The benchmark tool, static: into the virtio initramfs and into L1.
netperf=$(lkvm_build_static_tool netperf "$LKVM_TESTS_DIR/bench/tools/netperf.c") || exit 2
lkvm_build_l2_virtio_initrd "$netperf:/usr/bin/netperf"

lkvm_scratch netbench
printf 'BENCH_RUNS=%s\nBENCH_SECS=%s\nBENCH_TIMEOUT=%s\nBENCH_BACKENDS="%s"\nBENCH_TRACE=%s\n' \
	"$runs" "$secs" "$be_timeout" "$backends" "$trace" >"$conf"
# lkvm_stage_l1 wants L2_INITRD; the plain image is not used here.
L2_INITRD=$L2_VIRTIO_INITRD
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/bench/net-l1.sh" "$conf"
rm -f "$stage/l2/initrd.cpio.gz"
cp "$L2_VIRTIO_INITRD" "$stage/l2/initrd-bench.cpio.gz"
# tun for the tap, vhost_net for vhost=on, with their dependencies, in
# load order (/etc/net-modules, for net-l1.sh to insmod).
lkvm_module_closure tun vhost_net
lkvm_stage_modules "$stage" net-modules
lkvm_stage_qemu "$stage"
lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
lkvm_stage_binary "$stage" "$netperf" /usr/bin/netperf
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-netbench")

# L1 prints BENCH-SNAP at the start and end of each test: note there how
# much host CPU L1's QEMU has used (and the host's load), to tell a slow
# VMM from an L1 that other work on the host starved.
hz=$(getconf CLK_TCK)
lkvm_on_line() {
	case "$1" in
	BENCH-SNAP*) lkvm_bench_snap "$1" ;;
	BENCH-RUN*|BENCH-FAIL*|BENCH-UNSUPPORTED*|"BENCH net "*|"BENCH net-trace "*|E2E-*|"  ["*) printf '%s\n' "$1" ;;
	esac
}

lkvm_log "lkvm: $vmm_desc; qemu: $(command -v qemu-system-x86_64) -M pc virtio-net-pci; backends: $backends; $runs run(s) of ${secs}s per test"
lkvm_bench_boot_l1 netbench "$l1_image" "$l1_timeout"

ok=1
lkvm_bench_finished net-bench "$results" "$log" || ok=0

echo
echo "virtio-net inside one L1 (TCP, ${secs}s per test, L1's end of each; medians of $runs run(s); console: $log)"
# The tables, from the BENCH lines:
#   net       a test's figures (L1's end, then the guest's as guest_*)
#   net-prof  L1's counters over a test (net-l1.sh's snap)
#   host-snap the host CPU L1 had used at each test boundary
# "host CPU" is the share of one host CPU that L1 got during the test
# (1.00: all of it); "per CPU" divides each run's figure by it before the
# medians are taken.
awk -v backends="$backends" -v runs="$runs" '
function kv(from,    i, n, a) {
	for (i = from; i <= NF; i++) {
		n = index($i, "=")
		if (n) f[substr($i, 1, n - 1)] = substr($i, n + 1)
	}
}
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	if (!n) return ""
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return a[int((n + 1) / 2)]
}
# the share of one host CPU that L1 got during a turn, 0 if unknown
function cpu_share(vm, b, t, r,    a, z) {
	a = vm SUBSEP b SUBSEP t SUBSEP r SUBSEP "a"; z = vm SUBSEP b SUBSEP t SUBSEP r SUBSEP "b"
	if (!(a in hwall) || !(z in hwall) || hwall[z] <= hwall[a]) return 0
	return (hcpu[z] - hcpu[a]) / (hwall[z] - hwall[a])
}
/^BENCH net / {
	split("", f); kv(3)
	k = f["vmm"] SUBSEP f["backend"] SUBSEP f["test"]
	v = (f["test"] == "rr") ? f["tps"] : f["mbps"]
	if (v != "" && !("error" in f)) { val[k] = val[k] " " v; rv[k, f["run"]] = v }
	next
}
/^BENCH net-guest / {
	split("", f); kv(3)
	k = f["vmm"] SUBSEP f["backend"] SUBSEP f["test"]
	if (f["retrans"] != "") rt[k] = rt[k] " " f["retrans"]
	next
}
/^BENCH net-prof / {
	split("", f); kv(3)
	k = f["vmm"] SUBSEP f["backend"] SUBSEP f["test"]
	for (x in f) if (x != "vmm" && x != "backend" && x != "test" && x != "run") prof[k, x] = prof[k, x] " " f[x]
	# the threads other than the vCPUs (per-thread ticks round apart)
	d = f["vmm_ticks"] - f["vcpu_ticks"]
	prof[k, "dev_ticks"] = prof[k, "dev_ticks"] " " (d > 0 ? d : 0)
	next
}
/^BENCH host-snap / {
	# NAME is VMM-BACKEND-TEST-RUN-a (start) or -b (end)
	split("", f); kv(4); split($3, p, "-")
	k = p[1] SUBSEP p[2] SUBSEP p[3] SUBSEP p[4] SUBSEP p[5]
	hcpu[k] = f["cpu"] / f["hz"]; hwall[k] = f["wall_ms"] / 1000; hload[k] = f["load"]
	next
}
END {
	nb = split(backends, B, " ")
	nt = split("g2h h2g rr", T, " ")
	desc["g2h"] = "stream guest->host"; desc["h2g"] = "stream host->guest"; desc["rr"] = "1-byte req/resp"
	printf "%-7s %-23s %15s %15s %9s   %-10s %-10s %9s\n", "backend", "test", "lkvm", "qemu", "lkvm/qemu", "host CPU", "load", "per CPU"
	for (i = 1; i <= nb; i++) for (j = 1; j <= nt; j++) {
		b = B[i]; t = T[j]; u = (t == "rr") ? "trans/s" : "MB/s"
		for (m = 1; m <= 2; m++) {
			vm = (m == 1) ? "lkvm" : "qemu"
			k = vm SUBSEP b SUBSEP t
			med[vm] = median(val[k])
			sh = ""; nl = ""; ld = ""
			for (r = 1; r <= runs; r++) {
				s = cpu_share(vm, b, t, r)
				if (s <= 0) continue
				sh = sh " " s; ld = ld " " hload[vm, b, t, r, "b"]
			}
			share[vm] = median(sh); load[vm] = median(ld)
		}
		# lkvm/QEMU of each run (adjacent turns), and of the figures per
		# host CPU: the medians of those
		pr = ""; pn = ""
		for (r = 1; r <= runs; r++) {
			kl = "lkvm" SUBSEP b SUBSEP t; kq = "qemu" SUBSEP b SUBSEP t
			if (!((kl, r) in rv) || !((kq, r) in rv) || rv[kq, r] <= 0) continue
			pr = pr " " rv[kl, r] / rv[kq, r]
			sl = cpu_share("lkvm", b, t, r); sq = cpu_share("qemu", b, t, r)
			if (sl > 0 && sq > 0) pn = pn " " (rv[kl, r] / sl) / (rv[kq, r] / sq)
		}
		pr = median(pr); pn = median(pn)
		printf "%-7s %-23s %15s %15s %9s   %-10s %-10s %9s\n", b, t " " desc[t],
			(med["lkvm"] != "" ? med["lkvm"] " " u : (b == "vhost" && unsup ? "unsupported" : "-")),
			(med["qemu"] != "" ? med["qemu"] " " u : "-"), (pr != "" ? sprintf("%.2f", pr) : "-"),
			sprintf("%s/%s", share["lkvm"] != "" ? sprintf("%.2f", share["lkvm"]) : "-", share["qemu"] != "" ? sprintf("%.2f", share["qemu"]) : "-"),
			sprintf("%s/%s", load["lkvm"] != "" ? load["lkvm"] : "-", load["qemu"] != "" ? load["qemu"] : "-"),
			(pn != "" ? sprintf("%.2f", pn) : "-")
		if (med["lkvm"] == "" || med["qemu"] == "") missing = 1
	}
	printf "\n(lkvm, qemu: medians; lkvm/qemu: the median of the runs'"'"' ratios, each of adjacent turns;\n"
	printf " host CPU: the share of one host CPU L1 got, and the host'"'"'s load, during lkvm'"'"'s/QEMU'"'"'s turns;\n"
	printf " per CPU: lkvm/qemu again, each figure divided by the host CPU L1 got meanwhile)\n"
	# The cost of each row, from the counters L1 read over the test: per
	# MB (streams) or per transaction (rr), the VM exits and the CPU time
	# of the vCPU threads of the VMM, its other threads (the device model)
	# and the kernel threads of vhost; segments retransmitted by the guest
	# and by L1, and drops of the input backlog of L1, over the whole test.
	printf "\ncost per MB (streams) or per transaction (rr); medians\n"
	printf "%-7s %-4s %-5s %8s %8s %8s %8s %9s %9s %9s %8s %8s %7s\n", "backend", "test", "vmm", "exits", "io_ex", "irq_inj", "halt_ex", "vcpu_us", "dev_us", "vhost_us", "retr_l2", "retr_l1", "drops"
	for (i = 1; i <= nb; i++) for (j = 1; j <= nt; j++) for (m = 1; m <= 2; m++) {
		b = B[i]; t = T[j]; vm = (m == 1) ? "lkvm" : "qemu"
		k = vm SUBSEP b SUBSEP t
		rate = median(val[k]); secs = median(prof[k, "l1_ticks"]) / 100
		if (rate == "" || secs <= 0) continue
		per = secs * rate
		printf "%-7s %-4s %-5s", b, t, vm
		split("exits io_exits irq_injections halt_exits", X, " ")
		for (x = 1; x <= 4; x++) printf " %8.1f", median(prof[k, X[x]]) / per
		vc = median(prof[k, "vcpu_ticks"]); dv = median(prof[k, "dev_ticks"]); vh = median(prof[k, "vhost_ticks"])
		printf " %9.0f %9.0f %9.0f", vc * 10000 / per, dv * 10000 / per, vh * 10000 / per
		printf " %8s %8s %7s\n", median(rt[k]), median(prof[k, "l1_retrans"]), median(prof[k, "l1_backlog_drops"])
	}
	exit missing
}' unsup="$(grep -c '^BENCH-UNSUPPORTED lkvm vhost' "$results" || true)" "$results" || ok=0

# The virtio-net features each guest negotiated (sysfs bits), per backend:
# the same offloads on both sides make the rows comparable.
echo
for b in $backends; do
	fl=$(sed -n "s/^BENCH net-info vmm=lkvm backend=$b features=\([01]*\).*/\1/p" "$results" | head -n1)
	fq=$(sed -n "s/^BENCH net-info vmm=qemu backend=$b features=\([01]*\).*/\1/p" "$results" | head -n1)
	[ -n "$fl$fq" ] || continue
	if [ "$fl" = "$fq" ]; then
		echo "features $b: the same on both ($fl)"
	else
		echo "features $b: lkvm ${fl:-?}"
		echo "features $b: qemu ${fq:-?}"
	fi
done
# The guests' timers: lkvm's guest has no TSC deadline timer, so Linux
# calibrates the local APIC timer against the PIT at boot, and under a
# loaded nested TCG that check can fail ("APIC timer disabled due to
# verification failure"): the guest then ticks on the PIT, each
# reprogramming two port I/O exits (io_ex above).
for b in $backends; do
	for v in lkvm qemu; do
		c=$(sed -n "s/^BENCH net-info vmm=$v backend=$b clocksource=[^ ]* \(clockevent=[^ ]* broadcast=[^ ]*\).*/\1/p" "$results" | head -n1)
		[ -z "$c" ] || echo "timer $b $v: $c"
	done
done
if grep -q '^BENCH-UNSUPPORTED' "$results"; then
	sed -n 's/^BENCH-UNSUPPORTED /not measured: /p' "$results"
fi
[ "$ok" = 1 ] || { echo "net-bench: FAILED (see above)"; exit 1; }
