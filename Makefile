# lkvm — a user-space KVM mini-hypervisor.
#
#   ./deps.sh    install build and test dependencies (Debian 12, as root;
#                make included), then build ./lkvm; `make deps` installs only
#   make         build ./lkvm
#   make check   unit, host smoke and nested-KVM end-to-end tests (x86, and
#                the riscv64 build booting under nested riscv64 KVM); alone:
#                make unit, make smoke, make e2e, make e2e-riscv
#   make check-fresh   ./deps.sh and make check on a fresh Debian 12 root
#                (debootstrap), as CI runs them; as root
#   make unit UNIT=virtio   the unit tests below tests/unit/virtio/ only;
#                make build/tests/virtio/test_blk builds one
#                (Documentation/testing.md)
#   make bench   boot-time benchmark against QEMU (not part of check)
#   make bench-blk, make bench-blk-model   block I/O benchmarks
#   make bench-9p, make bench-net          9p and network benchmarks
#   make bench-mem   lkvm's memory outside guest RAM against kvmtool's
#   make doc     rewrite the generated DEVICES list of lkvm-run.txt

#   make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-   a riscv64 lkvm (static,
#                against the sysroot `make deps-riscv` prepares; see
#                Documentation/riscv.md)
#   make O=DIR   put the objects and lkvm under DIR
#   make STATIC=1   a static lkvm: no dynamic loader at start-up (libarchive
#                and libslirp are still loaded when used, from the host's
#                own glibc: build and run on the same release)

ARCH     ?= $(shell uname -m)
PKG_CONFIG ?= pkg-config
VERSION  := 0.1.0

ifneq ($(filter $(ARCH),x86_64 x86 amd64),)
ARCH_DIR := x86
else ifneq ($(filter $(ARCH),riscv64 riscv),)
ARCH_DIR := riscv
else
$(error unsupported architecture '$(ARCH)' (lkvm supports x86_64 and riscv64))
endif

# Where objects and the binary go: build/ and ./lkvm by default, O=DIR
# for a second tree (the riscv e2e builds into build/riscv64).
B    := $(if $(O),$(O)/obj,build)
LKVM := $(if $(O),$(O)/lkvm,lkvm)

ifneq ($(CROSS_COMPILE),)
# A cross build links statically against a sysroot of the target's Debian
# -dev packages (`make deps-riscv`), so the binary runs in a bare initramfs.
CC       := $(CROSS_COMPILE)gcc
TRIPLET  := $(patsubst %-,%,$(CROSS_COMPILE))
SYSROOT  ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/lkvm-tests/$(firstword $(subst -, ,$(TRIPLET)))-sysroot
PKG_CONFIG := PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/$(TRIPLET)/pkgconfig:$(SYSROOT)/usr/share/pkgconfig pkg-config --static
CPPFLAGS += -isystem $(SYSROOT)/usr/include
LDFLAGS  += -static -L$(SYSROOT)/usr/lib/$(TRIPLET)
endif

# (The libraries lkvm links itself have no dependencies of their own.)
ifeq ($(STATIC),1)
LKVM_LDFLAGS := -static
endif

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -pthread
CPPFLAGS += -Iinclude -I$(ARCH_DIR)/include -D_GNU_SOURCE -DLKVM_VERSION='"$(VERSION)"'
LDFLAGS  += -pthread

# --- Libraries: pkg-config where a .pc exists, a header check otherwise. ---
# $(call need-lib,pkg-config name,header,link flag,debian package)
define need-lib
$(if $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo y),\
  $(eval CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(1)))\
  $(eval LIBS += $(shell $(PKG_CONFIG) --libs $(1))),\
  $(if $(shell printf '\043include <$(2)>\n' | $(CC) $(CPPFLAGS) -E - >/dev/null 2>&1 && echo y),\
    $(eval LIBS += $(3)),\
    $(eval MISSING += $(4))))
endef

# $(call need-header,header,debian package): a header, nothing to link
define need-header
$(if $(shell printf '\043include <$(1)>\n' | $(CC) $(CPPFLAGS) -E - >/dev/null 2>&1 && echo y),,\
  $(eval MISSING += $(2)))
endef

# Detect unless every goal is one that builds nothing (make deps must work
# before the libraries exist).
NO_DETECT_GOALS := deps deps-riscv check-fresh clean
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NO_DETECT_GOALS),$(MAKECMDGOALS)),all),)
$(call need-lib,libfdt,libfdt.h,-lfdt,libfdt-dev)
$(call need-lib,libaio,libaio.h,-laio,libaio-dev)
$(call need-lib,libcap-ng,cap-ng.h,-lcap-ng,libcap-ng-dev)
$(call need-lib,liburing,liburing.h,-luring,liburing-dev)
$(call need-lib,libarchive,archive.h,-larchive,libarchive-dev)
$(call need-lib,slirp,slirp/libslirp.h,-lslirp -lglib-2.0,libslirp-dev)
# Headers only: the decompressors are dlopen()ed when a bzImage is unpacked
# (vmm/decompress.c), and xxhash is inlined (vmm/kernel-cache.c).
$(call need-header,zlib.h,zlib1g-dev)
$(call need-header,lzma.h,liblzma-dev)
$(call need-header,zstd.h,libzstd-dev)
$(call need-header,lz4.h,liblz4-dev)
$(call need-header,bzlib.h,libbz2-dev)
$(call need-header,xxhash.h,libxxhash-dev)
# libarchive (the sandbox's initramfs) and libslirp with glib (-n user) are
# dlopen'ed by the runs that use them (include/lkvm/dlib.h): lkvm does not
# link them, so no other run loads them and their dependencies (libxml2,
# ICU, libstdc++...).  The unit tests link them still (test_initramfs uses
# libarchive itself); a static cross build links everything.
DLOPEN_LIBS := -larchive -lslirp -lglib-2.0
ifeq ($(CROSS_COMPILE),)
CPPFLAGS += -DLKVM_DLOPEN
# libfdt's only users are riscv's (riscv/fdt.c; its unit tests run anywhere).
LKVM_LIBS = $(filter-out $(DLOPEN_LIBS) $(if $(filter riscv,$(ARCH_DIR)),,-lfdt),$(LIBS))
else
LKVM_LIBS = $(LIBS)
endif
ifneq ($(strip $(MISSING)),)
$(error missing build dependencies: install the Debian packages: $(strip $(MISSING)) (or run './deps.sh' as root$(if $(CROSS_COMPILE),; for a cross build 'make deps-riscv' fills $(SYSROOT))))
endif
endif

# Layers are folders (Documentation/architecture.md); every .c below these
# is part of lkvm (sorted, so builds are reproducible).  Arch code lives
# only under the arch directory.
CORE_DIRS := vmm hw virtio disk net fs
CORE_SRCS := $(sort $(shell find $(CORE_DIRS) -name '*.c'))
ARCH_SRCS := $(sort $(wildcard $(ARCH_DIR)/*.c))
# The riscv pieces that need no KVM (the PLIC model, the device-tree
# builder) are unit-tested on any host.
RISCV_HOST_SRCS := riscv/plic.c riscv/fdt.c riscv/image.c riscv/sbi.c

SRCS := main.c $(CORE_SRCS) $(ARCH_SRCS)
# The guest init, a static program for the guest's architecture (built by
# the same compiler), is embedded in lkvm through guest/init-blob.S.
GUEST_BLOB := $(B)/guest/init-blob.o
OBJS := $(SRCS:%.c=$(B)/%.o) $(GUEST_BLOB)
DEPS := $(SRCS:%.c=$(B)/%.d)

all: $(LKVM)

# Link the libraries found (LKVM_LIBS: not the dlopen'ed ones, nor libfdt
# on x86), with no --as-needed pruning.  Both builds check for and package
# the same set of libraries.
$(LKVM): $(OBJS)
	$(CC) $(LDFLAGS) $(LKVM_LDFLAGS) -o $@ $(OBJS) -Wl,--no-as-needed $(LKVM_LIBS) -Wl,--as-needed

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(DEPS)

GUEST_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Werror -D_GNU_SOURCE -static

$(B)/guest/init: guest/init.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -o $@ $<

$(GUEST_BLOB): guest/init-blob.S $(B)/guest/init
	@mkdir -p $(dir $@)
	$(CC) -DLKVM_GUEST_INIT='"$(B)/guest/init"' -c -o $@ $<

-include $(B)/guest/init.d

# --- Tests ---
# Unit tests mirror the source tree: tests/unit/virtio/test_blk.c tests
# virtio/blk.c and builds into build/tests/virtio/test_blk (each test_*.c
# below tests/unit/ is one binary; `make build/tests/virtio/test_blk`
# builds just that one).  Their shared fixtures live in tests/unit/lib/.
# The tests and the code they exercise are built a second time under
# AddressSanitizer and UndefinedBehaviorSanitizer (build/san/): the hostile
# ring tests must prove that nothing outside the fake guest RAM is touched.
# `make unit UNIT=virtio` builds and runs only the tests below
# tests/unit/virtio/ (any path prefix of the test's).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	     -fno-omit-frame-pointer
UNIT_SRCS := $(sort $(shell find tests/unit -name 'test_*.c' -not -path 'tests/unit/lib/*'))
UNIT_ALL := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)
UNIT_TESTS := $(if $(UNIT),$(filter build/tests/$(UNIT)%,$(UNIT_ALL)),$(UNIT_ALL))
UNIT_FIXTURES := $(sort $(wildcard tests/unit/lib/*.c))
# The fixtures' headers (test.h, vq_driver.h, ...) by name; fs/'s private
# header as "fs/p9/internal.h" from the top of the tree.
UNIT_CPPFLAGS := -Itests/unit/lib -iquote .
# What needs /dev/kvm (KVM ioctls on a real VM): left out of the unit tests
# and the benchmark, whose stand-ins are in tests/unit/lib/stubs.c.
NEEDS_KVM_OBJS := $(addprefix build/,main.o vmm/vm.o vmm/vcpu.o x86/kvm.o \
	x86/cpuid.o x86/msr.o)
UNIT_LIB_OBJS := $(patsubst build/%,build/san/%,$(filter-out $(NEEDS_KVM_OBJS) $(GUEST_BLOB),$(OBJS))) $(GUEST_BLOB) \
	$(UNIT_FIXTURES:%.c=build/san/%.o)
# The riscv pieces that need no KVM are unit-tested on any host: the tests
# in tests/unit/riscv/ and riscv's code see riscv's arch headers.
RISCV_UNIT_TESTS := $(filter build/tests/riscv/%,$(UNIT_ALL))
RISCV_UNIT_OBJS := $(RISCV_HOST_SRCS:%.c=build/san/%.o)
RISCV_CPPFLAGS := -Iinclude -Iriscv/include -D_GNU_SOURCE $(filter-out -Iinclude -I$(ARCH_DIR)/include -D_GNU_SOURCE,$(CPPFLAGS))

build/san/riscv/%.o: riscv/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RISCV_CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

build/san/tests/unit/riscv/%.o: tests/unit/riscv/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RISCV_CPPFLAGS) $(UNIT_CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

build/san/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(UNIT_CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

-include $(UNIT_LIB_OBJS:.o=.d) $(RISCV_UNIT_OBJS:.o=.d) $(UNIT_ALL:build/tests/%=build/san/tests/unit/%.d)

$(RISCV_UNIT_TESTS): build/tests/%: build/san/tests/unit/%.o $(UNIT_LIB_OBJS) $(RISCV_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(filter-out $(RISCV_UNIT_TESTS),$(UNIT_ALL)): build/tests/%: build/san/tests/unit/%.o $(UNIT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LIBS)

# Keep test objects between runs (they are otherwise "intermediate").
.SECONDARY:

unit: $(UNIT_TESTS)
	@UNIT_TESTS="$(UNIT_TESTS)" tests/run-all.sh unit

smoke: lkvm
	@tests/run-all.sh smoke

e2e: lkvm
	@tests/run-all.sh e2e

# The riscv64 lkvm, cross-built statically against the cached sysroot.
RISCV_MAKE := $(MAKE) ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- O=build/riscv64
riscv-lkvm:
	@tools/riscv-sysroot/sysroot.sh >/dev/null
	@$(RISCV_MAKE)

e2e-riscv:
	@MAKE="$(MAKE)" tests/run-all.sh e2e-riscv

# The host-only suites first: they need no network, and a suite that cannot
# download what it needs is reported as skipped, never as passed (exit 77,
# tests/run-all.sh). e2e-riscv builds the riscv64 lkvm (riscv-lkvm) itself.
check: lkvm $(UNIT_TESTS)
	@UNIT_TESTS="$(UNIT_TESTS)" MAKE="$(MAKE)" tests/run-all.sh unit smoke e2e e2e-riscv

# Host-side device-model benchmark (tests/bench/tools/blkbench.c):
# virtio-blk + backends driven through the unit tests' fake guest rings
# (no KVM, no sanitizers), built into build/bench/.
BENCH_LIB_OBJS := $(filter-out $(NEEDS_KVM_OBJS),$(OBJS)) \
	build/bench/lib/stubs.o build/bench/lib/vq_driver.o

build/bench/lib/%.o: tests/unit/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(UNIT_CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

build/bench/blkbench: tests/bench/tools/blkbench.c $(BENCH_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(UNIT_CPPFLAGS) $(CFLAGS) $(LDFLAGS) -MMD -MP -o $@ $^ $(LIBS)

-include build/bench/lib/stubs.d build/bench/lib/vq_driver.d build/bench/blkbench.d

bench: lkvm
	tests/bench/boot-time.sh --lkvm ./lkvm

# Guest block I/O under lkvm vs QEMU in one nested L1 run.
bench-blk: lkvm
	tests/bench/blk-io.sh --lkvm ./lkvm --runs 3

# Guest 9p file I/O under lkvm vs QEMU's virtfs in one nested L1 run.
bench-9p: lkvm
	tests/bench/9p.sh --lkvm ./lkvm --runs 3

# Guest networking under lkvm vs QEMU (tap, tap+vhost, user mode) in one
# nested L1 run.
bench-net: lkvm
	tests/bench/net.sh --lkvm ./lkvm --runs 5

# The virtio-blk device model per backend vs fio on the same host file.
# RSS outside guest RAM at an idle guest, against kvmtool and per device.
bench-mem: lkvm
	tests/bench/memory.sh --lkvm ./lkvm

bench-blk-model: build/bench/blkbench
	tests/bench/blk-model.sh
	tests/bench/blk-model.sh --direct

# The generated part of the manual: Documentation/lkvm-run.txt's DEVICES
# list, from virtio_device_types[] ('lkvm help run'); test_cli fails while
# it is stale.
doc: $(LKVM)
	Documentation/update-devices.sh $(LKVM)

deps:
	./deps.sh --no-build

# ./deps.sh and make check in a fresh debootstrap'd Debian 12 root, on a
# clone of HEAD (Documentation/testing.md); what CI runs.
check-fresh:
	tests/fresh-root.sh

# The riscv64 sysroot for `make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-`.
deps-riscv:
	tools/riscv-sysroot/sysroot.sh

clean:
	rm -rf build lkvm

.PHONY: all doc unit smoke e2e e2e-riscv riscv-lkvm check bench bench-blk bench-blk-model bench-9p bench-net bench-mem deps deps-riscv check-fresh clean
