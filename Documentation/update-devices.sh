#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Rewrite the generated DEVICES list of Documentation/lkvm-run.txt, the
# lines between ".. devices begin" and ".. devices end", from the Devices
# list 'lkvm help run' prints (virtio_device_types[]).  `make doc` runs it;
# tests/unit/vmm/frontend/test_cli.c fails while the page is out of date.
#
#   Documentation/update-devices.sh [LKVM]     (default: ./lkvm)
set -eu
lkvm=${1:-./lkvm}
case $lkvm in */*) ;; *) lkvm=./$lkvm ;; esac
page=$(dirname "$0")/lkvm-run.txt

# "  NAME  HELP" under "Devices:", up to the blank line; the page indents
# by 7 where --help indents by 2.
list=$("$lkvm" help run | sed -n '/^Devices:$/,/^$/{/^  /s/^/     /p;}')
if [ -z "$list" ]; then
	echo "$0: '$lkvm help run' shows no Devices list" >&2
	exit 1
fi
if [ "$(grep -c '^ *\.\. devices \(begin\|end\)$' "$page")" != 2 ]; then
	echo "$0: $page needs one '.. devices begin' and one '.. devices end' line" >&2
	exit 1
fi
tmp=$(mktemp "$page.XXXXXX")
trap 'rm -f "$tmp"' EXIT
LIST=$list awk '
	/^ *\.\. devices end$/ { print ENVIRON["LIST"]; skip = 0 }
	!skip { print }
	/^ *\.\. devices begin$/ { skip = 1 }
' "$page" >"$tmp"
if cmp -s "$tmp" "$page"; then
	echo "$page: up to date"
else
	cat "$tmp" >"$page"
	echo "$page: device list rewritten"
fi
