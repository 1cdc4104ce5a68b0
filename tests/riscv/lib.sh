# Helpers of the riscv64 scripts (sysroot.sh, e2e.sh): Debian 13 (trixie)
# riscv64 packages fetched with the host's apt, but with apt state of their
# own in the cache, so the host's lists, status and sources stay untouched.
# Sourced (not executed); bash. Sources tests/e2e/lib.sh for the common
# cache, staging and L1 watchdog helpers.
#
# Cache layout (under ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests):
#   riscv64-apt/        sources.list, lists/, cache/, debs/ (the .debs)
#   riscv64-sysroot/    headers, static libraries and .pc files for a
#                       static riscv64 lkvm; bin/pkg-config; .stamp
#   riscv64-guest/      kernel-<ver>/ (the unpacked linux-image), busybox
#                       (static riscv64), .stamp

# shellcheck shell=bash
# shellcheck source=../e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

RV_SUITE=trixie
RV_TRIPLET=riscv64-linux-gnu
RV_APT_DIR=$LKVM_CACHE/riscv64-apt
RV_SYSROOT=$LKVM_CACHE/riscv64-sysroot
RV_GUEST_DIR=$LKVM_CACHE/riscv64-guest
# Bump when the sysroot's or the guest cache's layout changes.
RV_FORMAT=2

# The -dev packages whose headers, static libraries and .pc files a static
# riscv64 lkvm needs: the five libraries lkvm links, the compressors
# libarchive's read filters call (archive_read_support_filter_all), and
# trixie's kernel headers (KVM's riscv API is newer than Debian 12's
# cross linux-libc-dev: RV_KVM_HEADERS). The runtime packages are not needed.
RV_SYSROOT_PKGS="libfdt-dev libaio-dev libcap-ng-dev liburing-dev libarchive-dev
zlib1g-dev libbz2-dev liblzma-dev libzstd-dev liblz4-dev linux-libc-dev"
RV_SYSROOT_PKGS=$(echo $RV_SYSROOT_PKGS)
# The headers taken from trixie's linux-libc-dev (Linux 6.12): KVM's API
# with the riscv AIA device, SBI extension and ISA extension registers,
# and linux/blkdev.h, which trixie's liburing headers include.
RV_KVM_HEADERS="linux/kvm.h linux/const.h linux/stddef.h asm/kvm.h asm/ptrace.h linux/blkdev.h"
# What `pkg-config --libs libarchive` gives: the archive and the libraries
# the objects lkvm pulls out of it need (found by linking sysroot-check.c;
# nettle, acl and xml2 serve formats and disk access lkvm does not use).
RV_ARCHIVE_LIBS="-larchive -lzstd -llzma -llz4 -lbz2 -lz"

# rv_need_cross: the cross toolchain is installed.
rv_need_cross() {
	lkvm_need $RV_TRIPLET-gcc gcc-riscv64-linux-gnu
	lkvm_need $RV_TRIPLET-ar binutils-riscv64-linux-gnu
	lkvm_need $RV_TRIPLET-nm binutils-riscv64-linux-gnu
}

# rv_host_mirror: the Debian archive URI the host's apt uses (the source
# whose suite is the host's codename), or $LKVM_DEBIAN_MIRROR.
rv_host_mirror() {
	if [ -n "${LKVM_DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "${LKVM_DEBIAN_MIRROR%/}"
		return 0
	fi
	local codename f uri
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || lkvm_die "cannot tell the host's Debian codename from /etc/os-release; set LKVM_DEBIAN_MIRROR=URI of a Debian archive"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case "$f" in
		*.sources)
			# deb822: one paragraph per source.
			uri=$(awk -v s="$codename" '
				/^[[:space:]]*$/ { if (deb && suite && u != "") { print u; exit } deb = suite = 0; u = ""; next }
				/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
				/^URIs:/ { u = $2 }
				/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) suite = 1 }
				END { if (deb && suite && u != "") print u }' "$f" | head -n1) ;;
		*)
			uri=$(sed -e 's/\[[^]]*\]//' "$f" | awk -v s="$codename" '$1 == "deb" && $3 == s { print $2; exit }') ;;
		esac
		if [ -n "$uri" ]; then
			printf '%s\n' "${uri%/}"
			return 0
		fi
	done
	lkvm_die "no Debian '$codename' source in the host's apt configuration; set LKVM_DEBIAN_MIRROR=URI of a Debian archive"
}

# rv_apt_setup: the private apt configuration; sets the array RV_APT of
# apt-get/apt-cache options that point every state and config path into
# $RV_APT_DIR (only the host's apt.conf.d, e.g. a proxy, still applies).
rv_apt_setup() {
	lkvm_need apt-get apt
	lkvm_need dpkg-deb dpkg
	lkvm_need_file /usr/share/keyrings/debian-archive-keyring.gpg debian-archive-keyring
	local a=$RV_APT_DIR mirror
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/parts" "$a/debs"
	[ -e "$a/status" ] || : >"$a/status"
	mirror=$(rv_host_mirror) || exit 2
	# trixie main alone: its point releases carry the newest 6.12 kernel.
	printf 'deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$mirror" "$RV_SUITE" >"$a/sources.list.new"
	if ! cmp -s "$a/sources.list.new" "$a/sources.list"; then
		mv "$a/sources.list.new" "$a/sources.list"
		rm -f "$a/lists/"*_Packages* "$a/lists/"*Release*
	else
		rm -f "$a/sources.list.new"
	fi
	RV_APT=(
		-o "Dir::State::Lists=$a/lists"
		-o "Dir::State::status=$a/status"
		-o "Dir::Etc::SourceList=$a/sources.list"
		-o "Dir::Etc::SourceParts=$a/parts"
		-o "Dir::Etc::Preferences=$a/parts/none"
		-o "Dir::Etc::PreferencesParts=$a/parts"
		-o "Dir::Cache=$a/cache"
		-o "APT::Architecture=riscv64"
		-o "APT::Architectures::=riscv64"
		-o "Acquire::Languages=none"
		-q
	)
	# As root, apt downloads as the _apt user, which cannot write into
	# root's cache directory: download as root instead of warning.
	[ "$(id -u)" != 0 ] || RV_APT+=(-o "APT::Sandbox::User=root")
}

# rv_apt_update [force]: fetch the riscv64 package lists (once; again with
# "force" or when they are older than a day).
rv_apt_update() {
	local l
	l=$(ls "$RV_APT_DIR/lists/"*_Packages* 2>/dev/null | head -n1 || true)
	if [ "${1:-}" != force ] && [ -n "$l" ] && [ -z "$(find "$l" -mtime +0)" ]; then
		return 0
	fi
	lkvm_log "fetching the $RV_SUITE riscv64 package lists (private apt state in $RV_APT_DIR)"
	apt-get "${RV_APT[@]}" update >"$RV_APT_DIR/update.log" 2>&1 || true
	l=$(ls "$RV_APT_DIR/lists/"*_Packages* 2>/dev/null | head -n1 || true)
	[ -n "$l" ] || lkvm_die "apt-get update of the $RV_SUITE riscv64 lists failed: $(grep -m1 '^E:' "$RV_APT_DIR/update.log")"
}

# rv_versions PKG...: "name=version" of each package's candidate, one per
# line, in the order given; dies naming an unknown package.
rv_versions() {
	local p v
	for p in "$@"; do
		v=$(apt-cache "${RV_APT[@]}" policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		[ -n "$v" ] && [ "$v" != "(none)" ] || lkvm_die "no $RV_SUITE riscv64 package '$p' in the lists"
		printf '%s=%s\n' "$p" "$v"
	done
}

# rv_download NAME=VERSION...: the .debs into $RV_APT_DIR/debs (kept there);
# prints their paths, in order.
rv_download() {
	local pv p v deb missing=()
	for pv in "$@"; do
		p=${pv%%=*} v=${pv#*=}
		deb=$(rv_deb_path "$p" "$v")
		[ -s "$deb" ] || missing+=("$pv")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		lkvm_log "apt-get download ${missing[*]}"
		(cd "$RV_APT_DIR/debs" && apt-get "${RV_APT[@]}" download "${missing[@]}") >&2 ||
			lkvm_die "apt-get download ${missing[*]} failed (is the Debian archive reachable?)"
	fi
	for pv in "$@"; do
		p=${pv%%=*} v=${pv#*=}
		deb=$(rv_deb_path "$p" "$v")
		[ -s "$deb" ] || lkvm_die "apt-get download $pv left no .deb in $RV_APT_DIR/debs"
		printf '%s\n' "$deb"
	done
}

# rv_deb_path NAME VERSION: where apt-get download puts that package (the
# epoch's colon is written %3a; arch riscv64 or all).
rv_deb_path() {
	local v=${2//:/%3a} f
	for f in "$RV_APT_DIR/debs/$1_${v}_riscv64.deb" "$RV_APT_DIR/debs/$1_${v}_all.deb"; do
		[ -e "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	printf '%s\n' "$RV_APT_DIR/debs/$1_${v}_riscv64.deb"
}

# rv_prune_debs KEEP...: delete the cached .debs not named in KEEP (paths).
rv_prune_debs() {
	local f k keep
	for f in "$RV_APT_DIR/debs/"*.deb; do
		[ -e "$f" ] || continue
		keep=0
		for k in "$@"; do [ "$f" = "$k" ] && keep=1; done
		[ $keep = 1 ] || rm -f "$f"
	done
}

# ---------------------------------------------------------------------------
# The sysroot
# ---------------------------------------------------------------------------

# rv_stamp_header: the first line of the sysroot's stamp; a sysroot whose
# stamp starts differently is rebuilt.
rv_stamp_header() {
	printf 'lkvm-riscv64-sysroot format=%s sources=%s packages=%s\n' "$RV_FORMAT" \
		"$(cat "$(dirname "${BASH_SOURCE[0]}")/isoc23-compat.c" "$(dirname "${BASH_SOURCE[0]}")/sysroot-check.c" | sha256sum | cut -c1-12)" \
		"$RV_SYSROOT_PKGS"
}

# rv_sysroot [update]: make sure $RV_SYSROOT is complete. Without "update"
# a complete sysroot is used as it is (no network); with it, the package
# lists are refreshed and the sysroot rebuilt if a version changed.
rv_sysroot() {
	local hdr stamp=$RV_SYSROOT/.stamp
	rv_need_cross
	hdr=$(rv_stamp_header)
	if [ "${1:-}" != update ] && [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$hdr" ]; then
		return 0
	fi
	lkvm_need pkg-config pkg-config
	rv_apt_setup
	rv_apt_update "${1:+force}"
	local versions
	versions=$(rv_versions $RV_SYSROOT_PKGS) || exit 2
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hdr
$versions" ]; then
		touch "$stamp"
		return 0
	fi
	local debs deb tmp=$RV_SYSROOT.tmp.$$
	debs=$(rv_download $versions) || exit 2
	rm -rf "$tmp"
	trap 'rm -rf "$RV_SYSROOT.tmp.$$"' EXIT
	mkdir -p "$tmp"
	for deb in $debs; do
		case "${deb##*/}" in
		linux-libc-dev_*) dpkg-deb -x "$deb" "$tmp/.kernel-headers" ;;
		*) dpkg-deb -x "$deb" "$tmp" ;;
		esac || lkvm_die "dpkg-deb -x $deb failed"
	done
	rv_sysroot_fixup "$tmp"
	rv_sysroot_check "$tmp"
	printf '%s\n%s\n' "$hdr" "$versions" >"$tmp/.stamp"
	rm -rf "$RV_SYSROOT.old.$$"
	[ ! -e "$RV_SYSROOT" ] || mv "$RV_SYSROOT" "$RV_SYSROOT.old.$$"
	mv "$tmp" "$RV_SYSROOT"
	rm -rf "$RV_SYSROOT.old.$$"
	trap - EXIT
	lkvm_log "riscv64 sysroot ready: $(tail -n +2 "$RV_SYSROOT/.stamp" | tr "\n" " ")"
}

# rv_sysroot_fixup DIR: turn the unpacked packages into a sysroot for a
# static link: only headers, .a and .pc files; trixie's riscv kernel
# headers where <asm/...> finds them; .pc files for libfdt and libaio
# (their packages ship none); libarchive's .pc listing what a static link
# needs; the C23 shim when the toolchain's glibc predates 2.38; and
# bin/pkg-config, which answers for the sysroot.
rv_sysroot_fixup() {
	local s=$1 l=$1/usr/lib/$RV_TRIPLET d compat=
	local pc=$l/pkgconfig
	rm -rf "${s:?}/usr/share/doc" "${s:?}/usr/share/man" "${s:?}/usr/share/info" "${s:?}/usr/share/lintian" \
		"${s:?}/usr/share/doc-base" "${s:?}/usr/share/aclocal" "${s:?}/usr/bin" "${s:?}/bin"
	find "$l" -maxdepth 1 -name '*.so*' -exec rm -f {} +
	# Of trixie's kernel headers, only KVM's API (and what it includes that
	# is newer than in Debian 12's cross linux-libc-dev): the rest of
	# Linux 6.12's uapi clashes with glibc 2.36's headers (RWF_* in
	# linux/fs.h against sys/uio.h).
	local k=$s/.kernel-headers/usr/include h
	mkdir -p "$s/usr/include/linux" "$s/usr/include/asm"
	for h in $RV_KVM_HEADERS; do
		case "$h" in
		asm/*) cp "$k/$RV_TRIPLET/$h" "$s/usr/include/$h" ;;
		*) cp "$k/$h" "$s/usr/include/$h" ;;
		esac || lkvm_die "linux-libc-dev has no $h"
	done
	rm -rf "$s/.kernel-headers"
	mkdir -p "$pc" "$s/bin"

	# Debian 12's cross glibc (2.36) lacks the __isoc23_* functions that
	# trixie's libraries call (glibc 2.38 redirects strtol & co. to them).
	if ! $RV_TRIPLET-nm -g --defined-only "$($RV_TRIPLET-gcc -print-file-name=libc.a)" 2>/dev/null |
		grep -q ' T __isoc23_strtol$'; then
		$RV_TRIPLET-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -c \
			-o "$s/isoc23-compat.o" "$LKVM_TESTS_DIR/riscv/isoc23-compat.c" &&
			$RV_TRIPLET-ar rcs "$l/liblkvm-isoc23.a" "$s/isoc23-compat.o" ||
			lkvm_die "building the C23 shim (tests/riscv/isoc23-compat.c) failed"
		rm -f "$s/isoc23-compat.o"
		compat=" -llkvm-isoc23"
	fi

	rv_write_pc "$pc/libfdt.pc" libfdt "Flat device tree manipulation" "$(rv_deb_version libfdt-dev)" "-lfdt"
	rv_write_pc "$pc/libaio.pc" libaio "Linux-native asynchronous I/O access" "$(rv_deb_version libaio-dev)" "-laio"
	rv_write_pc "$pc/libarchive.pc" libarchive "Multi-format archive library (static)" \
		"$(sed -n 's/^Version: //p' "$pc/libarchive.pc")" "$RV_ARCHIVE_LIBS$compat"
	[ -z "$compat" ] || sed -i "s/^Libs: .*-lcap-ng\$/&$compat/" "$pc/libcap-ng.pc"
	rm -f "$pc/liburing-ffi.pc" "$l/liburing-ffi.a"

	cat >"$s/bin/pkg-config" <<'EOF'
#!/bin/sh
# pkg-config for the riscv64 sysroot this file lives in (made by
# tests/riscv/sysroot.sh): .pc files and -I/-L paths from the sysroot
# only, /usr/include included (it is the sysroot's).
s=$(cd "$(dirname "$0")/.." && pwd)
PKG_CONFIG_SYSROOT_DIR=$s
PKG_CONFIG_LIBDIR=$s/usr/lib/riscv64-linux-gnu/pkgconfig:$s/usr/share/pkgconfig
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
unset PKG_CONFIG_PATH
exec pkg-config "$@"
EOF
	chmod 755 "$s/bin/pkg-config"
}

# rv_deb_version PKG: the version of PKG in the download set (upstream part).
rv_deb_version() {
	local f
	f=$(ls "$RV_APT_DIR/debs/$1"_*.deb 2>/dev/null | head -n1)
	dpkg-deb -f "$f" Version 2>/dev/null | sed 's/^[0-9]*%3a//; s/^[0-9]*://; s/-[^-]*$//'
}

# rv_write_pc FILE NAME DESCRIPTION VERSION LIBS
rv_write_pc() {
	cat >"$1" <<EOF
prefix=/usr
libdir=\${prefix}/lib/$RV_TRIPLET
includedir=\${prefix}/include

Name: $2
Description: $3
Version: ${4:-0}
Libs: -L\${libdir} $5
Cflags: -I\${includedir}
EOF
}

# rv_sysroot_check DIR: link tests/riscv/sysroot-check.c statically against
# DIR with the flags its pkg-config gives; must give a static RISC-V ELF.
rv_sysroot_check() {
	local s=$1 out=$1/.check.$$ flags
	flags=$("$s/bin/pkg-config" --cflags --libs libfdt libaio libcap-ng liburing libarchive) ||
		lkvm_die "pkg-config of the sysroot $s failed"
	# shellcheck disable=SC2086
	if ! $RV_TRIPLET-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$out" \
		"$LKVM_TESTS_DIR/riscv/sysroot-check.c" $flags >"$s/.check.log" 2>&1 ||
		grep -v -e 'warning: Using' -e 'in function' "$s/.check.log" | grep -q .; then
		sed 's/^/  /' "$s/.check.log" >&2
		lkvm_die "a static riscv64 test link against the sysroot failed (flags: $flags)"
	fi
	file "$out" 2>/dev/null | grep -q 'RISC-V.*statically linked' ||
		lkvm_die "the test link did not give a static RISC-V executable: $(file "$out")"
	rm -f "$out" "$s/.check.log"
}

# ---------------------------------------------------------------------------
# The guest: trixie's riscv64 kernel and busybox
# ---------------------------------------------------------------------------

# rv_guest_kernel_pkg: the newest linux-image-6.12.*-riscv64 (what the
# linux-image-riscv64 metapackage depends on, if it is a 6.12).
rv_guest_kernel_pkg() {
	local p
	p=$(apt-cache "${RV_APT[@]}" depends linux-image-riscv64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.12\.[0-9]*+deb13-riscv64\)$/\1/p' | head -n1)
	if [ -z "$p" ]; then
		p=$(apt-cache "${RV_APT[@]}" pkgnames linux-image-6.12. 2>/dev/null |
			grep -E '^linux-image-6\.12\.[0-9]+\+deb13-riscv64$' | sort -V | tail -n1)
	fi
	[ -n "$p" ] || lkvm_die "no linux-image-6.12.*-riscv64 in the $RV_SUITE lists"
	printf '%s\n' "$p"
}

# rv_guest [update]: make sure $RV_GUEST_DIR holds the unpacked kernel and
# busybox. Sets RV_KVER, RV_KDIR, RV_KIMAGE (the Image), RV_KMODS,
# RV_KCONFIG and RV_BUSYBOX. Like rv_sysroot, no network once complete.
rv_guest() {
	local stamp=$RV_GUEST_DIR/.stamp hdr="lkvm-riscv64-guest format=$RV_FORMAT"
	if [ "${1:-}" = update ] || [ ! -f "$stamp" ] || [ "$(head -n1 "$stamp")" != "$hdr" ]; then
		rv_apt_setup
		rv_apt_update "${1:+force}"
		local kpkg versions
		kpkg=$(rv_guest_kernel_pkg) || exit 2
		versions=$(rv_versions "$kpkg" busybox-static) || exit 2
		if [ ! -f "$stamp" ] || [ "$(grep -v '^kernel=' "$stamp")" != "$hdr
$versions" ]; then
			local debs kdeb bdeb tmp=$RV_GUEST_DIR/tmp.$$ kver=${kpkg#linux-image-}
			debs=$(rv_download $versions) || exit 2
			kdeb=$(printf '%s\n' "$debs" | head -n1)
			bdeb=$(printf '%s\n' "$debs" | tail -n1)
			rm -rf "$tmp"
			mkdir -p "$tmp/k" "$tmp/b"
			lkvm_log "unpacking ${kdeb##*/} and ${bdeb##*/}"
			dpkg-deb -x "$kdeb" "$tmp/k" && dpkg-deb -x "$bdeb" "$tmp/b" ||
				lkvm_die "dpkg-deb -x of the guest packages failed"
			[ -f "$tmp/b/usr/bin/busybox" ] || lkvm_die "no usr/bin/busybox in ${bdeb##*/}"
			rm -rf "$tmp/k/usr/share"
			mkdir -p "$RV_GUEST_DIR"
			rm -rf "$RV_GUEST_DIR/kernel-$kver" "$RV_GUEST_DIR/busybox"
			mv "$tmp/k" "$RV_GUEST_DIR/kernel-$kver"
			mv "$tmp/b/usr/bin/busybox" "$RV_GUEST_DIR/busybox"
			rm -rf "$tmp"
			# Keep only this kernel (each unpacked tree is ~140 MB).
			for d in "$RV_GUEST_DIR"/kernel-*; do
				[ "$d" = "$RV_GUEST_DIR/kernel-$kver" ] || rm -rf "$d"
			done
			printf '%s\n%s\nkernel=%s\n' "$hdr" "$versions" "$kver" >"$stamp"
			# The kernel .deb (110 MB) is not needed once unpacked.
			rm -f "$kdeb"
		else
			touch "$stamp"
		fi
	fi
	RV_KVER=$(sed -n 's/^kernel=//p' "$stamp")
	RV_KDIR=$RV_GUEST_DIR/kernel-$RV_KVER
	RV_KIMAGE=$RV_KDIR/boot/vmlinux-$RV_KVER
	RV_KCONFIG=$RV_KDIR/boot/config-$RV_KVER
	RV_KMODS=$RV_KDIR/usr/lib/modules/$RV_KVER
	RV_BUSYBOX=$RV_GUEST_DIR/busybox
	[ -f "$RV_KIMAGE" ] && [ -d "$RV_KMODS" ] && [ -f "$RV_BUSYBOX" ] ||
		lkvm_die "the riscv64 guest cache $RV_GUEST_DIR is incomplete; rerun with --update"
}
