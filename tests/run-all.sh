#!/bin/bash
# `make check`: every suite, then one closing line with the totals.
#   unit   host-only unit tests (no /dev/kvm)
#   smoke  tiny stand-in guests on the host's /dev/kvm, plus CLI errors
#   e2e    real Debian kernels under nested KVM inside QEMU (slow; minutes)
#   e2e-riscv  the riscv64 lkvm (build/riscv64/lkvm) booting Debian's
#          riscv64 kernel under nested KVM in QEMU's riscv64 emulator
# usage: tests/run-all.sh [--lkvm PATH] [SUITE...]   (default: unit smoke e2e)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
lkvm=$top/lkvm
if [ "${1:-}" = --lkvm ]; then lkvm=$2; shift 2; fi
suites=${*:-unit smoke e2e}
total_pass=0 total_fail=0 status=0
offline= # suites (or parts) skipped because a download failed

for s in $suites; do
	echo "=== $s"
	case $s in
	unit)
		# The Makefile passes the binaries it built (stale ones from deleted
		# tests must not run); by hand, take what is there.
		# shellcheck disable=SC2206
		bins=(${UNIT_TESTS:-$(cd "$top" && find build/tests -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)})
		cmd=("$top/tests/unit/run.sh" "${bins[@]/#build/$top/build}") ;;
	smoke) cmd=("$top/tests/smoke/run.sh" --lkvm "$lkvm") ;;
	e2e) cmd=("$top/tests/e2e/x86/run.sh" --lkvm "$lkvm") ;;
	e2e-riscv)
		# The riscv64 lkvm links against a downloaded sysroot: build it
		# here, after the host-only suites, so they run without network.
		"$top/tools/riscv-sysroot/sysroot.sh" >/dev/null
		rc=$?
		if [ "$rc" = 0 ]; then
			${MAKE:-make} -s -C "$top" riscv-lkvm
			rc=$?
		fi
		if [ "$rc" = 77 ]; then
			offline+=" $s"
			echo "=== $s: SKIPPED: no network for the riscv64 sysroot (exit 77)"
			status=1
			continue
		elif [ "$rc" != 0 ]; then
			echo "=== $s: cannot build the riscv64 lkvm (exit $rc)"
			total_fail=$((total_fail + 1))
			status=1
			continue
		fi
		cmd=("$top/tests/e2e/riscv/run.sh" --lkvm "$top/build/riscv64/lkvm") ;;
	*) echo "run-all: unknown suite '$s'" >&2; exit 2 ;;
	esac
	log=$(mktemp)
	"${cmd[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ "$rc" = 77 ]; then
		# A download failed: skipped (or partly), never a pass.
		offline+=" $s"
		status=1
		if [ -z "$line" ]; then
			echo "=== $s: SKIPPED: no network (exit 77)"
			continue
		fi
	fi
	if [ -z "$line" ]; then
		echo "=== $s: no result line (exit $rc)"
		total_fail=$((total_fail + 1))
		status=1
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }; f=${f%% failed*}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$rc" = 0 ] && [ "$f" = 0 ] || status=1
	note=
	[ "$rc" != 77 ] || note=", partly skipped: no network"
	echo "=== $s: $line (exit $rc)$note"
done
[ -z "$offline" ] || echo "=== NOT RUN for lack of network (a download failed):$offline"
echo "$total_pass passed, $total_fail failed"
exit $status
