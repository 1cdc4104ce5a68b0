# The build machine's side of every nested (L1) harness: the e2e suites of
# both architectures (tests/e2e/x86/, tests/e2e/riscv/), the smoke suite's
# guest cases in L1 (tests/smoke/in-l1.sh) and the benchmarks
# (tests/bench/).  Kernel fetch, module closure, initramfs staging and
# packing, the x86 L1 (QEMU TCG with AMD SVM) and its watchdog, the
# verdict.  Sourced (not executed); bash.  Builds on tools/lib.sh
# (LKVM_TOP, LKVM_CACHE, lkvm_log, lkvm_die, lkvm_need, lkvm_need_file).
#
# Layout of the cache:
#   linux-image-<ver>-amd64-unsigned_*.deb    the guest kernel package
#   kernel-<ver>-amd64/                       dpkg -x of it (.unpacked stamp)
#   build/                                    initramfs images, bootstamp,
#                                             named by content hash
#   logs/                                     full L1 consoles of recent runs

# shellcheck shell=bash

# shellcheck source=../../../tools/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../tools/lib.sh"
LKVM_TESTS_DIR=$LKVM_TOP/tests
LKVM_BUILD=$LKVM_CACHE/build
# Bump to invalidate every cached image when the packing logic changes.
LKVM_IMAGE_FORMAT=4

# Monotonic-ish wall clock in milliseconds (for the reports only).
lkvm_now_ms() { date +%s%3N; }

# Host tools every harness needs.
lkvm_check_host_tools() {
	lkvm_need qemu-system-x86_64 qemu-system-x86
	lkvm_need_file /bin/busybox busybox-static
	lkvm_need cpio cpio
	lkvm_need gzip gzip
	lkvm_need strings binutils
	lkvm_need ldd libc-bin
	lkvm_need dpkg dpkg
	lkvm_need sha256sum coreutils
	lkvm_need timeout coreutils
	# busybox must be the static build: it runs in initramfs images
	# without any shared library.
	if ldd /bin/busybox >/dev/null 2>&1; then
		lkvm_die "/bin/busybox is dynamically linked; install 'busybox-static' (apt-get install busybox-static)"
	fi
}

# lkvm_hash TAG FILE...: one sha256 over TAG and the names and contents of
# the files (16 hex digits).
lkvm_hash() {
	local f tag=$1
	shift
	{
		printf 'format %s %s\n' "$LKVM_IMAGE_FORMAT" "$tag"
		for f in "$@"; do
			printf '%s\n' "$f"
			sha256sum <"$f"
		done
	} | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------------------
# Guest kernel
# ---------------------------------------------------------------------------

# lkvm_fetch_kernel: make sure a Debian amd64 kernel is downloaded and
# unpacked in the cache. Sets KVER (e.g. 6.1.0-56-amd64), KDIR (the unpacked
# tree), KIMAGE (its bzImage) and KMODS (its lib/modules/$KVER directory).
# Offline fallback: when apt cannot tell the current ABI, reuse the newest
# kernel already unpacked in the cache.
lkvm_fetch_kernel() {
	local abi deps deb
	mkdir -p "$LKVM_CACHE"
	lkvm_need apt-cache apt
	lkvm_need apt-get apt

	deps=$(apt-cache depends linux-image-amd64 2>/dev/null || true)
	abi=$(printf '%s\n' "$deps" |
		sed -n 's/^ *Depends: \(linux-image-[0-9][0-9.]*-[0-9]*-amd64\)$/\1/p' | head -n1)
	if [ -z "$abi" ]; then
		local have
		have=$(ls -d "$LKVM_CACHE"/kernel-*-amd64/.unpacked 2>/dev/null | sort -V | tail -n1 || true)
		if [ -n "$have" ]; then
			KDIR=${have%/.unpacked}
			KVER=${KDIR##*/kernel-}
			lkvm_log "apt-cache knows no linux-image-amd64 (empty apt lists?); reusing cached kernel $KVER"
		else
			lkvm_die "apt-cache depends linux-image-amd64 found no kernel package: the apt lists look empty. Run 'apt-get update' first (the README's dependency step does)."
		fi
	else
		KVER=${abi#linux-image-}
		KDIR=$LKVM_CACHE/kernel-$KVER
	fi

	if [ ! -e "$KDIR/.unpacked" ]; then
		local pkg=linux-image-$KVER-unsigned
		deb=$(ls "$LKVM_CACHE/${pkg}"_*_amd64.deb 2>/dev/null | sort -V | tail -n1 || true)
		if [ -z "$deb" ]; then
			lkvm_log "downloading $pkg with apt-get download (into $LKVM_CACHE)"
			# apt-get download writes to the current directory. As root it
			# warns that the _apt sandbox user cannot access the directory;
			# that is harmless.
			(cd "$LKVM_CACHE" && apt-get download "$pkg") >&2 ||
				lkvm_offline "apt-get download $pkg failed (is Debian's archive reachable? run 'apt-get update'?)"
			deb=$(ls "$LKVM_CACHE/${pkg}"_*_amd64.deb 2>/dev/null | sort -V | tail -n1 || true)
			[ -n "$deb" ] || lkvm_die "apt-get download $pkg produced no .deb in $LKVM_CACHE"
		fi
		lkvm_log "unpacking ${deb##*/}"
		rm -rf "$KDIR.tmp.$$"
		mkdir -p "$KDIR.tmp.$$"
		dpkg -x "$deb" "$KDIR.tmp.$$" || lkvm_die "dpkg -x $deb failed"
		touch "$KDIR.tmp.$$/.unpacked"
		if [ ! -e "$KDIR/.unpacked" ]; then
			rm -rf "$KDIR"
			mv "$KDIR.tmp.$$" "$KDIR"
		fi
		rm -rf "$KDIR.tmp.$$"
	fi

	KIMAGE=$KDIR/boot/vmlinuz-$KVER
	KMODS=$KDIR/lib/modules/$KVER
	[ -f "$KIMAGE" ] || lkvm_die "no $KIMAGE in the unpacked kernel package (remove $KDIR and retry)"
	[ -d "$KMODS" ] || lkvm_die "no $KMODS in the unpacked kernel package (remove $KDIR and retry)"
}

# lkvm_ko_cat FILE: the bytes of a kernel module, a .ko or an xz-compressed
# .ko.xz (Debian 13 compresses its modules).
lkvm_ko_cat() {
	case "$1" in
	*.xz) xz -dc "$1" || lkvm_die "cannot decompress $1 (needs xz-utils)" ;;
	*) cat "$1" ;;
	esac
}

# lkvm_install_module SRC DIR: copy a module into DIR as NAME.ko,
# decompressed; prints NAME.ko.
lkvm_install_module() {
	local n=${1##*/}
	n=${n%.xz}
	lkvm_ko_cat "$1" >"$2/$n"
	printf '%s\n' "$n"
}

# lkvm_module_closure NAME...: sets the array LKVM_MODULES to the paths of
# the modules and of everything they depend on, dependencies first (reads
# the depends= line of each .ko or .ko.xz with strings). - and _ are the
# same.
lkvm_module_closure() {
	local -A seen=()
	LKVM_MODULES=()
	_lkvm_visit() {
		local name=$1 key p deps d
		key=${name//-/_}
		case "${seen[$key]:-}" in
		done) return 0 ;;
		busy) lkvm_die "module dependency loop at $name" ;;
		esac
		seen[$key]=busy
		p=$(find "$KMODS/kernel" \( -name "${key}.ko" -o -name "${key//_/-}.ko" \
			-o -name "${key}.ko.xz" -o -name "${key//_/-}.ko.xz" \) -print | head -n1)
		[ -n "$p" ] || lkvm_die "kernel module $name not found under $KMODS"
		deps=$(lkvm_ko_cat "$p" | strings | sed -n 's/^depends=//p' | head -n1)
		for d in ${deps//,/ }; do
			_lkvm_visit "$d"
		done
		seen[$key]=done
		LKVM_MODULES+=("$p")
	}
	local m
	for m in "$@"; do _lkvm_visit "$m"; done
}

# ---------------------------------------------------------------------------
# Initramfs staging
# ---------------------------------------------------------------------------

# lkvm_stage_base DIR: an empty root with busybox and its applet links.
# LKVM_BUSYBOX names another static busybox to copy (another
# architecture's); the applet links are still those of the host's
# /bin/busybox, which the foreign one cannot list here (an init script
# may add any missing ones with `busybox --install -s`).
lkvm_stage_base() {
	local d=$1 a
	rm -rf "$d"
	mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,run}
	chmod 1777 "$d/tmp"
	cp "${LKVM_BUSYBOX:-/bin/busybox}" "$d/bin/busybox"
	chmod 755 "$d/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ -e "$d/$a" ] || ln -s /bin/busybox "$d/$a"
	done
	# The kernel opens /dev/console for init before anything is mounted.
	# Creating the node needs root; the init scripts also reopen the console
	# after mounting devtmpfs, so an image built without it still works.
	mknod -m 600 "$d/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$d/dev/null" c 1 3 2>/dev/null || true
}

# lkvm_stage_binary DIR SRC DEST: copy an executable to DIR/DEST and, when it
# is dynamically linked, every shared library ldd lists plus the loader, each
# at the path ldd names; and the libraries of LKVM_DLOPEN_LIBS that SRC
# names (lkvm loads them only when used: include/lkvm/dlib.h), with theirs.
LKVM_DLOPEN_LIBS="libarchive.so.13 libslirp.so.0"
lkvm_stage_binary() {
	local d=$1 src=$2 dest=$3 lib so objs
	[ -x "$src" ] || lkvm_die "$src is not an executable file"
	mkdir -p "$d/$(dirname "$dest")"
	cp -L "$src" "$d/$dest"
	chmod 755 "$d/$dest"
	head -c 4 "$src" | grep -q 'ELF' || return 0
	# "not a dynamic executable" (static) gives no paths.
	ldd "$src" >/dev/null 2>&1 || return 0
	objs=$src
	for so in $LKVM_DLOPEN_LIBS; do
		grep -qaF "$so" "$src" || continue
		lib=$(/sbin/ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
		[ -n "$lib" ] || lkvm_die "$src loads $so, which is not installed (./deps.sh installs it)"
		objs="$objs $lib"
		mkdir -p "$d/$(dirname "$lib")"
		cp -L "$lib" "$d/$lib"
	done
	# (with several files, ldd heads each one's list with "FILE:")
	for lib in $(ldd $objs 2>/dev/null | awk '/:$/ { next } /=>/ { print $3; next } $1 ~ /^\// { print $1 }' | sort -u); do
		[ -e "$lib" ] || lkvm_die "ldd $objs names $lib, which does not exist"
		[ -e "$d/$lib" ] && continue
		mkdir -p "$d/$(dirname "$lib")"
		cp -L "$lib" "$d/$lib"
	done
}

# lkvm_stage_qemu DIR: qemu-system-x86_64, its libraries and the firmware
# -M microvm needs, for running QEMU as a VMM inside L1.
lkvm_stage_qemu() {
	local d=$1 f
	lkvm_stage_binary "$d" "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
	mkdir -p "$d/usr/share/qemu"
	# bios-microvm.bin (qboot) is microvm's default firmware; the option
	# ROMs are what -kernel may load on other machine types.
	for f in bios-microvm.bin qboot.rom linuxboot_dma.bin linuxboot.bin pvh.bin kvmvapic.bin; do
		[ -e "/usr/share/qemu/$f" ] && cp -L "/usr/share/qemu/$f" "$d/usr/share/qemu/$f"
	done
	[ -e "$d/usr/share/qemu/bios-microvm.bin" ] ||
		lkvm_die "/usr/share/qemu/bios-microvm.bin missing; install qemu-system-x86 (apt-get install qemu-system-x86)"
}

# lkvm_pack DIR OUT [gzip|none]: newc cpio of DIR, owned by root.
lkvm_pack() {
	local d=$1 out=$2 comp=${3:-gzip}
	if [ "$comp" = gzip ]; then
		(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -6 -n) >"$out.tmp.$$"
	else
		(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out.tmp.$$"
	fi
	mv "$out.tmp.$$" "$out"
}

# lkvm_pack_cached STAGE PREFIX: pack STAGE into PREFIX-<content hash>.cpio.gz
# unless that image exists already, prune older ones, remove STAGE; prints
# the image's path.
lkvm_pack_cached() {
	local stage=$1 prefix=$2 h img
	h=$(cd "$stage" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
	img=$prefix-$h.cpio.gz
	if [ ! -f "$img" ]; then
		lkvm_pack "$stage" "$img" gzip
		lkvm_prune "$prefix" "$img"
	fi
	rm -rf "$stage"
	echo "$img"
}

# lkvm_prune PREFIX KEEP: delete cached builds PREFIX-* other than KEEP and
# the 3 newest, once they are 10 minutes old (a concurrent run may still be
# about to boot one).
lkvm_prune() {
	local f
	for f in $(ls -td "$1"-* 2>/dev/null | tail -n +4); do
		[ "$f" = "$2" ] && continue
		[ -n "$(find "$f" -maxdepth 0 -mmin +10)" ] && rm -rf "$f"
	done
	return 0
}

# lkvm_stage_modules DIR ORDER: the modules of the last lkvm_module_closure
# (LKVM_MODULES), decompressed, into DIR/modules, their load order in
# DIR/etc/ORDER (for l1-init.sh or l2-lib.sh to insmod).
lkvm_stage_modules() {
	local m
	mkdir -p "$1/modules" "$1/etc"
	: >"$1/etc/$2"
	for m in "${LKVM_MODULES[@]}"; do
		lkvm_install_module "$m" "$1/modules" >>"$1/etc/$2"
	done
}

# The library every L2 init sources, as /l2-lib.sh.
LKVM_L2_LIB=$LKVM_TESTS_DIR/e2e/lib/l2-lib.sh

# lkvm_build_l2_image PREFIX INIT MODULES [SRC:DEST...]: an L2 initramfs:
# busybox (LKVM_BUSYBOX or the host's), INIT as /init with /l2-lib.sh, the
# kernel modules MODULES (a list, may be empty) and their dependencies from
# KMODS (insmod'ed by l2_start in the order of /etc/l2-modules), and the
# given static executables.  Cached by content hash as
# LKVM_BUILD/PREFIX-<hash>.cpio.gz, without staging anything when it
# exists; sets L2_IMAGE.
lkvm_build_l2_image() {
	local prefix=$1 init=$2 mods=$3 bb=${LKVM_BUSYBOX:-/bin/busybox} h x st
	shift 3
	mkdir -p "$LKVM_BUILD"
	LKVM_MODULES=()
	[ -z "$mods" ] || lkvm_module_closure $mods
	local files=("$bb" "$init" "$LKVM_L2_LIB" "${LKVM_MODULES[@]}")
	for x in "$@"; do files+=("${x%%:*}"); done
	h=$(lkvm_hash "$prefix $* $mods" "${files[@]}")
	L2_IMAGE=$LKVM_BUILD/$prefix-$h.cpio.gz
	[ ! -f "$L2_IMAGE" ] || return 0
	st=$LKVM_BUILD/stage-$prefix.$$
	lkvm_stage_base "$st"
	install -m 755 "$init" "$st/init"
	install -m 644 "$LKVM_L2_LIB" "$st/l2-lib.sh"
	[ -z "$mods" ] || lkvm_stage_modules "$st" l2-modules
	for x in "$@"; do
		install -D -m 755 "${x%%:*}" "$st/${x#*:}"
	done
	lkvm_pack "$st" "$L2_IMAGE" gzip
	rm -rf "$st"
	lkvm_prune "$LKVM_BUILD/$prefix" "$L2_IMAGE"
	lkvm_log "built L2 initramfs ${L2_IMAGE##*/} ($(du -h "$L2_IMAGE" | cut -f1))"
}

# lkvm_build_l2_initrd: the x86 L2 guest's initramfs (busybox and
# l2-init.sh). Sets L2_INITRD.
lkvm_build_l2_initrd() {
	lkvm_build_l2_image l2 "$LKVM_TESTS_DIR/e2e/x86/l2-init.sh" ""
	L2_INITRD=$L2_IMAGE
}

# The L2 modules for the virtio cases, dependencies first: the virtio core
# and both transports, the devices (virtio_net needs failover and
# net_failover), ext4 (which also serves ext2;
# crc32c_generic for checksummed metadata), the 9p file system over
# virtio (9p needs netfs and fscache) and the pvpanic driver (pvpanic-mmio,
# which binds lkvm's ACPI QEMU0001 device). hw_random is built in.
LKVM_L2_VIRTIO_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio virtio_blk virtio_console virtio-rng failover net_failover virtio_net crc16 mbcache jbd2 crc32c_generic ext4 netfs fscache 9pnet 9pnet_virtio 9p pvpanic-mmio"

# lkvm_build_l2_virtio_initrd [SRC:DEST...]: the x86 L2 initramfs of the
# virtio cases: the plain one plus the modules above and the given static
# executables. Sets L2_VIRTIO_INITRD. The plain image stays small so that
# the other cases do not pay for unpacking modules.
lkvm_build_l2_virtio_initrd() {
	lkvm_build_l2_image l2v "$LKVM_TESTS_DIR/e2e/x86/l2-init.sh" "$LKVM_L2_VIRTIO_MODULES" "$@"
	L2_VIRTIO_INITRD=$L2_IMAGE
}

# lkvm_stage_l1_disk_tools DIR: what L1 needs to check the disks the guests
# wrote: e2fsck and debugfs (with their libraries) and the brd ramdisk
# module (a block device that supports O_DIRECT, unlike tmpfs), left in
# /modules for the payload to insmod with its parameters.
lkvm_stage_l1_disk_tools() {
	local d=$1
	lkvm_need e2fsck e2fsprogs
	lkvm_need debugfs e2fsprogs
	lkvm_stage_binary "$d" "$(command -v e2fsck)" /usr/sbin/e2fsck
	lkvm_stage_binary "$d" "$(command -v debugfs)" /usr/sbin/debugfs
	lkvm_module_closure brd
	mkdir -p "$d/modules"
	cp "${LKVM_MODULES[@]}" "$d/modules/"
}

# lkvm_stage_l1_tun DIR: the tun module (for the net-tap cases' taps),
# decompressed (riscv64's Debian 13 modules are .ko.xz), as DIR/modules/
# tun.ko for the payload to insmod (net_tun in l1-lib.sh).
lkvm_stage_l1_tun() {
	local m
	lkvm_module_closure tun
	mkdir -p "$1/modules"
	for m in "${LKVM_MODULES[@]}"; do
		lkvm_install_module "$m" "$1/modules" >/dev/null
	done
}

# lkvm_stage_l1_net_tools DIR: the tun module (for the net-tap cases' taps)
# and vhost_net with its dependencies (net-tap-vhost), left in /modules for
# the payload to insmod (/modules/vhost_net.order lists the latter in load
# order), and dnsanswer (tests/e2e/tools/dnsanswer.c, static) as
# /usr/bin/dnsanswer, the DNS server behind L1's resolv.conf in the
# user-mode case.
lkvm_stage_l1_net_tools() {
	local dns m
	lkvm_stage_l1_tun "$1"
	mkdir -p "$1/usr/bin"
	lkvm_module_closure vhost_net
	cp "${LKVM_MODULES[@]}" "$1/modules/"
	for m in "${LKVM_MODULES[@]}"; do basename "$m"; done >"$1/modules/vhost_net.order"
	dns=$(lkvm_build_static_tool dnsanswer "$LKVM_TESTS_DIR/e2e/tools/dnsanswer.c") || exit 2
	install -m 755 "$dns" "$1/usr/bin/dnsanswer"
}

# ---------------------------------------------------------------------------
# L1 as a Debian host for `lkvm sandbox`
# ---------------------------------------------------------------------------

# The modules lkvm's in-memory initramfs may load in its guest (the virtio
# transports, 9p over virtio, the other virtio devices, virtio_net for the
# default network card and the pvpanic driver); L1 gets them and their
# dependencies under /lib/modules/$KVER, where a Debian host has them.
LKVM_L1_SANDBOX_MODULES="virtio_pci virtio_mmio 9pnet_virtio 9p virtio_blk virtio_console virtio-rng virtio_net pvpanic-mmio"

# lkvm_modules_dep: sets LKVM_MODULES_DEP to a modules.dep for the whole
# unpacked kernel, in depmod's format (cached in KDIR). Debian's package
# ships none: its postinst runs depmod, which the build hosts need not
# have. Each line lists a module's dependencies, direct and indirect, every
# module before the ones it depends on (modprobe loads them right to left),
# as depmod does; the sets come from each module's depends= field, which
# modpost computes from the same symbols depmod resolves.
lkvm_modules_dep() {
	LKVM_MODULES_DEP=$KDIR/.lkvm-modules.dep
	[ -s "$LKVM_MODULES_DEP" ] && return 0
	(cd "$KMODS" && grep -raoZ 'depends=[^[:cntrl:]]*' kernel) | tr '\0' '\t' | awk -F '\t' '
	function walk(p,    a, n, k, key, q) {
		n = split(dep[p], a, ",")
		for (k = 1; k <= n; k++) {
			key = a[k]
			gsub(/-/, "_", key)
			q = path[key]
			if (key == "" || q == "" || (q in seen))
				continue
			seen[q] = 1
			walk(q)
			list[++cnt] = q
		}
	}
	{
		if ($1 in dep)
			next
		d = $2
		sub(/^depends=/, "", d)
		dep[$1] = d
		n = $1
		sub(/.*\//, "", n)
		sub(/\.ko$/, "", n)
		gsub(/-/, "_", n)
		path[n] = $1
		order[++np] = $1
	}
	END {
		for (i = 1; i <= np; i++) {
			split("", seen)
			cnt = 0
			walk(order[i])
			line = order[i] ":"
			for (j = cnt; j >= 1; j--)
				line = line " " list[j]
			print line
		}
	}' >"$LKVM_MODULES_DEP.tmp.$$"
	[ -s "$LKVM_MODULES_DEP.tmp.$$" ] || lkvm_die "could not list the modules of $KMODS"
	mv "$LKVM_MODULES_DEP.tmp.$$" "$LKVM_MODULES_DEP"
}

# lkvm_stage_l1_sandbox DIR: after lkvm_stage_l1, make L1 look like a
# Debian host to `lkvm sandbox` and `lkvm run` without a disk: its own
# kernel as /boot/vmlinuz-$KVER (a hard link to /l2/bzImage: `uname -r` in
# L1 is $KVER), /lib/modules/$KVER with modules.dep, modules.builtin,
# modules.builtin.modinfo, modules.order and the .ko files of
# LKVM_L1_SANDBOX_MODULES and their dependencies at their usual paths, and
# an /etc/passwd (the e2e payload appends a line no guest may print).
# HOME is /root (l1-init.sh), so ~/.lkvm is /root/.lkvm.
lkvm_stage_l1_sandbox() {
	local d=$1 md=$1/lib/modules/$KVER m rel f
	[ -f "$d/l2/bzImage" ] || lkvm_die "lkvm_stage_l1_sandbox: stage $d has no l2/bzImage"
	mkdir -p "$d/boot" "$md"
	ln "$d/l2/bzImage" "$d/boot/vmlinuz-$KVER"
	lkvm_modules_dep
	cp "$LKVM_MODULES_DEP" "$md/modules.dep"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -f "$KMODS/$f" ] || lkvm_die "no $KMODS/$f in the unpacked kernel package"
		cp "$KMODS/$f" "$md/$f"
	done
	lkvm_module_closure $LKVM_L1_SANDBOX_MODULES
	for m in "${LKVM_MODULES[@]}"; do
		rel=${m#"$KMODS"/}
		mkdir -p "$md/$(dirname "$rel")"
		cp "$m" "$md/$rel"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
	printf 'root:x:0:\n' >"$d/etc/group"
}

# lkvm_build_static_tool NAME SRC: compile SRC statically into the cache
# (once per source) and print the binary's path.
lkvm_build_static_tool() {
	local name=$1 src=$2 bin
	lkvm_need gcc gcc
	mkdir -p "$LKVM_BUILD"
	bin=$LKVM_BUILD/$name-$(lkvm_hash "$name" "$src")
	if [ ! -x "$bin" ]; then
		gcc -static -O2 -Wall -Wextra -Werror -std=gnu11 -o "$bin.tmp.$$" "$src" ||
			lkvm_die "building $name failed (static linking needs libc6-dev)"
		mv "$bin.tmp.$$" "$bin"
		lkvm_prune "$LKVM_BUILD/$name" "$bin"
	fi
	printf '%s\n' "$bin"
}

# lkvm_build_kvmtool [PATH]: print the path of a static x86 kvmtool, the peer
# benchmarks compare with: PATH when given (a user's own build), else one
# built once from the pinned source tarball in ../shared/peers (see its
# README) into the cache.  Prints nothing, saying why on stderr, when
# neither is there (a user's clone has no ../shared): benchmarks then skip
# their kvmtool rows.
LKVM_KVMTOOL_TARBALL=${LKVM_KVMTOOL_TARBALL:-$LKVM_TOP/../shared/peers/kvmtool-b48735e.tar.gz}
lkvm_build_kvmtool() {
	local given=${1:-} tarball=$LKVM_KVMTOOL_TARBALL bin dir
	if [ -n "$given" ]; then
		[ -x "$given" ] || lkvm_die "kvmtool '$given' is not an executable"
		printf '%s\n' "$given"
		return 0
	fi
	if [ ! -f "$tarball" ]; then
		lkvm_log "no kvmtool: $tarball is not there (give one with --kvmtool PATH); skipping the kvmtool rows"
		return 0
	fi
	bin=$LKVM_BUILD/kvmtool-$(lkvm_hash kvmtool "$tarball")
	if [ ! -x "$bin" ]; then
		lkvm_log "building kvmtool from $(basename "$tarball") (about a minute, once)"
		dir=$LKVM_BUILD/kvmtool-src.$$
		rm -rf "$dir" && mkdir -p "$dir"
		tar xzf "$tarball" -C "$dir" || lkvm_die "cannot unpack $tarball"
		make -C "$dir/kvmtool" -j"$(nproc)" lkvm-static >"$dir/build.log" 2>&1 ||
			{ tail -n 20 "$dir/build.log" >&2; lkvm_die "building kvmtool failed (log above)"; }
		mv "$dir/kvmtool/lkvm-static" "$bin"
		rm -rf "$dir"
		lkvm_prune "$LKVM_BUILD/kvmtool" "$bin"
	fi
	printf '%s\n' "$bin"
}

# lkvm_bench_snap LINE: for L1's "BENCH-SNAP <what>" lines (benchmarks'
# lkvm_on_line), append to $results how much host CPU L1's QEMU has used
# so far, in clock ticks (hz=), with the wall clock and the host's load:
# other work on the host starves L1 at times and stretches wall times,
# while the CPU L1 spends on a boot or a test varies much less.
lkvm_bench_snap() {
	local pid cpu
	pid=$(cat "$LKVM_L1_PID" 2>/dev/null || true)
	cpu=$(awk '{ print $14 + $15 }' "/proc/${pid:-none}/stat" 2>/dev/null || true)
	printf 'BENCH host-snap %s cpu=%s hz=%s wall_ms=%s load=%s\n' "${1#BENCH-SNAP }" \
		"${cpu:-0}" "$(getconf CLK_TCK)" "$(lkvm_now_ms)" "$(cut -d' ' -f1 /proc/loadavg)" >>"$results"
}

# lkvm_scratch NAME: a harness's per-run scratch paths under LKVM_BUILD,
# removed when the script exits: $stage (the L1 image being staged), $conf
# (its /etc/lkvm-test.conf) and $results (the lines L1 reported).
lkvm_scratch() {
	mkdir -p "$LKVM_BUILD"
	stage=$LKVM_BUILD/stage-$1.$$
	conf=$LKVM_BUILD/$1-conf.$$
	results=$LKVM_BUILD/$1-results.$$
	trap 'rm -rf "$stage" "$conf" "$results"' EXIT
}

# lkvm_stage_l1 DIR PAYLOAD CONF: the L1 image's common part: busybox, the
# kvm modules LKVM_L1_MODULES (load order in /etc/l1-modules), the L2
# kernel (/l2/$LKVM_L2_KERNEL) and initramfs (/l2/initrd.cpio.gz), /init,
# the payload script as /payload.sh with the cases' library /l1-lib.sh,
# and CONF (a file) as /etc/lkvm-test.conf. Needs KMODS, KIMAGE and
# L2_INITRD. The defaults are x86's; the riscv64 suite sets its own.
LKVM_L1_MODULES="irqbypass kvm ccp kvm-amd"
LKVM_L2_KERNEL=bzImage
lkvm_stage_l1() {
	local d=$1 payload=$2 conf=$3
	lkvm_stage_base "$d"
	mkdir -p "$d/l2"
	lkvm_module_closure $LKVM_L1_MODULES
	lkvm_stage_modules "$d" l1-modules
	cp "$KIMAGE" "$d/l2/$LKVM_L2_KERNEL"
	cp "$L2_INITRD" "$d/l2/initrd.cpio.gz"
	install -m 755 "$LKVM_TESTS_DIR/e2e/lib/l1-init.sh" "$d/init"
	install -m 755 "$payload" "$d/payload.sh"
	install -m 644 "$LKVM_TESTS_DIR/e2e/lib/l1-lib.sh" "$d/l1-lib.sh"
	cp "$conf" "$d/etc/lkvm-test.conf"
}

# lkvm_check_vmm WRAPPER LKVM_BIN: the VMM to put in L1 exists; sets
# vmm_desc. A non-empty WRAPPER script stands in for lkvm.
lkvm_check_vmm() {
	if [ -n "$1" ]; then
		[ -f "$1" ] || lkvm_die "VMM wrapper '$1' not found"
		vmm_desc="wrapper $1 (with qemu-system-x86_64)"
	else
		[ -e "$2" ] || lkvm_die "no lkvm binary at $2 (build it with 'make', or pass --lkvm PATH)"
		[ -x "$2" ] || lkvm_die "$2 is not executable"
		vmm_desc=$2
	fi
}

# lkvm_extract_vmlinux: sets VMLINUX to the uncompressed ELF vmlinux inside
# KIMAGE (Debian compresses it with xz), for the PVH boot case; cached.
lkvm_extract_vmlinux() {
	VMLINUX=$KDIR/vmlinux
	[ -s "$VMLINUX" ] && return 0
	lkvm_need xz xz-utils
	local off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KIMAGE" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || lkvm_die "no xz payload in $KIMAGE (cannot extract a vmlinux)"
	tail -c +$((off + 1)) "$KIMAGE" | xz -dc --single-stream >"$VMLINUX.tmp" ||
		lkvm_die "cannot decompress the vmlinux inside $KIMAGE"
	head -c 4 "$VMLINUX.tmp" | grep -q ELF || lkvm_die "the payload of $KIMAGE is not an ELF vmlinux"
	mv "$VMLINUX.tmp" "$VMLINUX"
}

# lkvm_build_smoke_guest OUT: the tiny stand-in kernel of tests/smoke/guest.S.
lkvm_build_smoke_guest() {
	local o=$LKVM_BUILD/smoke-guest.$$.o
	gcc -c "$LKVM_TESTS_DIR/smoke/guest.S" -o "$o" &&
		objcopy -O binary -j .text "$o" "$1" ||
		lkvm_die "cannot assemble tests/smoke/guest.S (needs gcc and binutils)"
	rm -f "$o"
}

# lkvm_new_log NAME: sets LOG to a fresh per-run console log in the cache
# (logs/NAME-<time>-<pid>.log); keeps the newest 10 of each NAME.
lkvm_new_log() {
	mkdir -p "$LKVM_CACHE/logs"
	LOG=$LKVM_CACHE/logs/$1-$(date +%Y%m%d-%H%M%S)-$$.log
	: >"$LOG"
	ls -t "$LKVM_CACHE/logs/$1"-*.log 2>/dev/null | tail -n +11 | xargs -r rm -f
}

# lkvm_boot_l1 IMAGE TIMEOUT [MEM_MiB]: boot the L1 kernel KIMAGE with IMAGE
# as its initramfs on the emulated machine LKVM_L1_MACHINE (an array: by
# default QEMU TCG with an AMD SVM CPU, so kvm-amd works inside), killed
# after TIMEOUT seconds (KILL 10 s later: a wedged TCG may ignore TERM).
# Its console goes to stdout, followed by a last line "E2E-HOST-QEMU-EXIT
# <status>" (124 or 137: timed out). QEMU's pid goes to $LKVM_L1_PID and
# its monitor listens on the unix socket $LKVM_L1_MON, for lkvm_watch_l1.
LKVM_L1_PID=${TMPDIR:-/tmp}/lkvm-l1-$$.pid
LKVM_L1_MON=${TMPDIR:-/tmp}/lkvm-l1-$$.mon
LKVM_L1_MACHINE=(qemu-system-x86_64 -accel tcg -cpu EPYC,+svm -smp 1)
lkvm_boot_l1() {
	local img=$1 t=$2 mem=${3:-2048} rc=0
	rm -f "$LKVM_L1_PID" "$LKVM_L1_MON"
	timeout -k 10 "$t" "${LKVM_L1_MACHINE[@]}" -m "$mem" \
		-nographic -monitor "unix:$LKVM_L1_MON,server=on,wait=off" \
		-pidfile "$LKVM_L1_PID" -no-reboot -kernel "$KIMAGE" -initrd "$img" \
		-append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 || rc=$?
	rm -f "$LKVM_L1_PID" "$LKVM_L1_MON"
	echo "E2E-HOST-QEMU-EXIT $rc"
}

# lkvm_l1_monitor CMD...: run monitor commands on the running L1 QEMU and
# print the answers (needs perl; prints nothing without it).
lkvm_l1_monitor() {
	command -v perl >/dev/null 2>&1 && [ -S "$LKVM_L1_MON" ] || return 0
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => shift) or exit 0;
		$s->blocking(0);
		for (@ARGV) { print $s "$_\n"; select(undef, undef, undef, 0.5); }
		select(undef, undef, undef, 0.5);
		my $b; while (sysread($s, $b, 65536)) { $b =~ s/\e\[[0-9;]*[A-Za-z]//g; $b =~ s/\r//g; print $b; }
	' "$LKVM_L1_MON" "$@" 2>/dev/null || true
}

# lkvm_on_line LINE: what lkvm_watch_l1 does with each L1 console line; this
# default (the benchmarks') shows results and diagnostics, not heartbeats.
# run.sh defines its own.
lkvm_on_line() {
	case "$1" in
	E2E-L1-HEARTBEAT*) ;;
	BENCH*|E2E-*|"  ["*) printf '%s\n' "$1" ;;
	esac
}

# lkvm_e2e_console VERBOSE: how the e2e suites show L1's console: case
# lines and diagnostics stamped with the time since this call (stamp), the
# rest only when VERBOSE is 1.  Replaces the default lkvm_on_line.
lkvm_e2e_console() {
	LKVM_E2E_VERBOSE=$1
	LKVM_E2E_T0_US=${EPOCHREALTIME/./}
	lkvm_on_line() {
		case "$1" in
		E2E-L1-HEARTBEAT*) [ "$LKVM_E2E_VERBOSE" = 0 ] || printf '%s\n' "$1" ;;
		"E2E "*|E2E-*) printf '%s %s\n' "$(stamp)" "$1" ;;
		"  ["*" tail] "*|"  ["*" stderr] "*|"  ["*" diag] "*) printf '%s\n' "$1" ;;
		*) [ "$LKVM_E2E_VERBOSE" = 0 ] || printf '%s\n' "$1" ;;
		esac
	}
}
stamp() {
	local us=$((${EPOCHREALTIME/./} - LKVM_E2E_T0_US))
	printf '[%4d.%ds]' $((us / 1000000)) $((us / 100000 % 10))
}

# lkvm_watch_l1 IDLE LOG RESULTS: read lkvm_boot_l1's output; append every
# line to LOG, lines starting with E2E or BENCH also to RESULTS, and hand
# each line to the caller's lkvm_on_line function. If L1 prints nothing for
# IDLE seconds (its payload prints a heartbeat every 30 s), L1 is wedged:
# print the emulated CPU's state (the monitor's lines that match
# LKVM_L1_DIAG_RE, x86's registers by default) and kill QEMU.
lkvm_watch_l1() {
	local idle=$1 log=$2 results=$3 line st pid
	while :; do
		st=0
		IFS= read -r -t "$idle" line || st=$?
		if [ "$st" -gt 128 ]; then
			line="E2E-HOST-L1-WEDGED no console output for ${idle}s"
			printf '%s\n' "$line" >>"$log"
			printf '%s\n' "$line" >>"$results"
			lkvm_on_line "$line"
			{
				echo "L1 CPU state (QEMU monitor):"
				lkvm_l1_monitor "info registers" "info lapic" |
					grep -E "${LKVM_L1_DIAG_RE:-^(RAX|RSI|R8|R12|RIP|CR0|EFER|Timer|ISR|IRR|APR)}"
			} | sed 's/^/  [L1-diag] /' | tee -a "$log" >&2
			pid=$(cat "$LKVM_L1_PID" 2>/dev/null || true)
			[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
			sleep 5
			[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
			continue
		fi
		[ "$st" = 0 ] || break
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$log"
		case "$line" in
		E2E*|BENCH*) printf '%s\n' "$line" >>"$results" ;;
		esac
		lkvm_on_line "$line"
	done
	return 0
}

# lkvm_count_cases ALL CASES: the number of CASES (words); dies naming a
# case that is not one of ALL.
lkvm_count_cases() {
	local c n=0
	for c in $2; do
		case " $1 " in
		*" $c "*) n=$((n + 1)) ;;
		*) lkvm_die "unknown case '$c' (known: $1)" ;;
		esac
	done
	echo "$n"
}

# lkvm_e2e_verdict PROG CASES RESULTS LOG L1_RC L1_TIMEOUT: count the cases'
# PASS/FAIL lines in RESULTS into $passed and $failed (a case without one
# did not run: a failure), set $seen (cases with a verdict), and explain an
# L1 that could not run the cases or did not finish them.
lkvm_e2e_verdict() {
	local prog=$1 list=$2 res=$3 lg=$4 rc=$5 tmo=$6 c r why
	passed=0 failed=0
	for c in $list; do
		r=$(grep -E "^E2E $c: (PASS|FAIL)" "$res" | tail -n1 || true)
		case "$r" in
		"E2E $c: PASS") passed=$((passed + 1)) ;;
		"E2E $c: FAIL"*) failed=$((failed + 1)) ;;
		*)
			echo "E2E $c: FAIL not run (L1 ended before reaching it)"
			failed=$((failed + 1))
			;;
		esac
	done
	seen=$(grep -oE '^E2E [^ ]+: (PASS|FAIL)' "$res" | sed 's/:.*//' | sort -u | wc -l)
	if grep -q '^E2E-L1-FATAL' "$res"; then
		echo "$prog: L1 could not run the cases: $(grep '^E2E-L1-FATAL' "$res" | head -n1)"
	fi
	grep -q '^E2E-L1-DONE' "$res" && return 0
	grep -q '^E2E-HOST-L1-WEDGED' "$res" && rc=wedged
	case "$rc" in
	wedged) why="L1 wedged: no console output and no heartbeat for 150s; killed" ;;
	124|137) why="timed out after ${tmo}s" ;;
	*) why="QEMU exited with status ${rc:-?}" ;;
	esac
	echo "$prog: L1 did not finish the cases ($why); last lines of its console:"
	grep -v '^  \[L1-diag\]' "$lg" | tail -n 40 | sed 's/^/  [L1] /'
}

# lkvm_bench_finished PROG RESULTS LOG: did a benchmark's L1 run to its end
# (BENCH-END) without a failed measurement (BENCH-FAIL)?  Explains an L1
# that stopped early with the last lines of its console.
lkvm_bench_finished() {
	local ok=0
	if ! grep -q '^BENCH-END' "$2"; then
		echo "$1: L1 did not finish ($(sed -n 's/^E2E-HOST-QEMU-EXIT /QEMU status /p' "$2")); last lines of its console:"
		grep -v '^  \[L1-diag\]' "$3" | tail -n 30 | sed 's/^/  [L1] /'
		ok=1
	fi
	! grep -q '^BENCH-FAIL' "$2" || ok=1
	return $ok
}

# lkvm_bench_boot_l1 LOGNAME IMAGE TIMEOUT [MEM_MiB]: a benchmark's L1 run.
# Names IMAGE in the log, then boots it (lkvm_boot_l1) with its console in a
# new log (lkvm_new_log LOGNAME, also in $log) and its measurements in
# $results (emptied first).
lkvm_bench_boot_l1() {
	lkvm_log "L1 image ${2##*/} ($(du -h "$2" | cut -f1)), kernel $KVER"
	lkvm_new_log "$1"
	log=$LOG
	: >"$results"
	lkvm_boot_l1 "$2" "$3" "${4:-}" | lkvm_watch_l1 150 "$log" "$results"
}

# median of the numbers on stdin (lower middle for an even count)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
