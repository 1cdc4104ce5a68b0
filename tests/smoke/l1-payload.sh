#!/bin/sh
# L1 payload of tests/smoke/in-l1.sh: the smoke suite's guest cases on L1's
# /dev/kvm.  TCG is slow to start lkvm's threads, hence the longer settle.
cd /smoke || exit 1
SMOKE_SETTLE=3 bash /smoke/guest-cases.sh /usr/bin/lkvm /l2/smoke.bzImage 2>&1 |
	tee /tmp/smoke.out
echo "E2E-SMOKE-RESULT $(grep -E '^[0-9]+ passed, [0-9]+ failed$' /tmp/smoke.out | tail -n 1)"
