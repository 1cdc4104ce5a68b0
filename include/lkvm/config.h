/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CONFIG_H
#define LKVM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum console_kind {
	CONSOLE_SERIAL,  /* 8250 UART (ttyS0) on the terminal */
	CONSOLE_VIRTIO,  /* virtio-console (hvc0) on the terminal; 8250 stays */
};

/* --virtio-transport, kvmtool's spelling. */
enum virtio_transport_kind {
	VIRTIO_TRANSPORT_DEFAULT = 0, /* the arch's choice: pci on x86 */
	VIRTIO_TRANSPORT_PCI,         /* modern + transitional (legacy I/O BAR) */
	VIRTIO_TRANSPORT_PCI_LEGACY,  /* legacy-only (virtio 0.9.5) PCI */
	VIRTIO_TRANSPORT_MMIO,        /* virtio-mmio version 2 */
	VIRTIO_TRANSPORT_MMIO_LEGACY, /* virtio-mmio version 1 */
};

/* --irqchip: which interrupt controller a riscv guest gets. */
enum irqchip_kind {
	IRQCHIP_DEFAULT = 0, /* the arch's: riscv's userspace PLIC */
	IRQCHIP_PLIC,        /* lkvm's userspace SiFive PLIC */
	IRQCHIP_AIA,         /* KVM's in-kernel AIA (APLIC + IMSICs) */
};

/* Which disk I/O backend a --disk uses (aio=...). */
enum disk_aio_kind {
	DISK_AIO_AUTO = 0, /* io_uring, else libaio, else sync; reason logged */
	DISK_AIO_IO_URING,
	DISK_AIO_LIBAIO,
	DISK_AIO_SYNC,     /* preadv/pwritev on a thread pool */
};

#define LKVM_DISK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES */

/* One -d/--disk PATH[,ro][,direct][,aio=...][,serial=ID][,format=raw]. */
struct disk_config {
	const char *path;        /* malloc'ed; freed by cli_free_config() */
	bool readonly;
	bool direct;             /* O_DIRECT */
	enum disk_aio_kind aio;
	char serial[LKVM_DISK_SERIAL_MAX + 1]; /* empty: lkvm derives one */
	bool format_raw;         /* ,format=raw: no image-format check */
};

#define LKVM_9P_TAG_MAX 64          /* bytes in a virtio-9p mount tag */
#define LKVM_9P_DEFAULT_TAG "kvm_9p" /* kvmtool's default */
#define LKVM_9P_ROOT_TAG "/dev/root" /* the 9p root filesystem (kvmtool) */
#define LKVM_9P_HOSTFS_TAG "hostfs"  /* host / for `lkvm setup` guests */
#define LKVM_MAX_SHARES 64 /* the transport allows fewer (PCI: 31) */

/* One --9p DIR[,TAG][,ro][,passthrough] (or an export lkvm adds itself). */
struct share_config {
	char *path;              /* malloc'ed; freed by cli_free_config() */
	char tag[LKVM_9P_TAG_MAX + 1];
	bool readonly;
	bool passthrough;        /* honour chown/setuid/mknod: see 9p.md */
};

/*
 * A device asked for through its type's own option (--rng): the type and
 * the option's value (NULL for a flag), in command-line order.  A type's
 * count() and create() read them (virtio_device_requests()), so a device
 * needs no field of its own here.
 */
struct virtio_device_type;
struct device_request {
	const struct virtio_device_type *type;
	const char *arg;
};
#define LKVM_MAX_DEVICE_REQUESTS 64 /* the transports allow fewer devices */

/* Everything `lkvm run` was asked to do; filled by cli_parse()
 * (include/lkvm/cli.h). */
struct vm_config {
	const char *kernel_path;
	const char *initrd_path;
	const char *params; /* appended to lkvm's default command line */
	char *params_joined; /* -p given more than once: the values joined by
			      * spaces, which @params points to */
	const char *name;   /* --name (setup: its NAME) */
	uint64_t mem_bytes;
	const char *hugetlbfs_path; /* --hugetlbfs: RAM from this mount */
	unsigned int nr_cpus;
	bool mem_set, cpus_set;
	enum console_kind console;
	enum virtio_transport_kind transport;
	struct disk_config *disks; /* -d/--disk, in command-line order */
	unsigned int nr_disks;
	struct device_request dev_reqs[LKVM_MAX_DEVICE_REQUESTS];
	unsigned int nr_dev_reqs;  /* device types' own options (--rng) */
	struct share_config *shares; /* --9p, then lkvm's own exports */
	unsigned int nr_shares;

	/*
	 * 9p-root boot (vmm/frontend/sandbox.c): `lkvm sandbox`, `lkvm run` with no
	 * disk and no initrd, or --disk DIR / --disk NAME (~/.lkvm/NAME).
	 * lkvm builds the initramfs itself (embedded init + the kernel's
	 * modules) and hands it over as @initrd_fd.
	 */
	const char *initrd_what;   /* set: use @initrd_fd instead of
				    * initrd_path, named so in messages */
	int initrd_fd;
	char *const *guest_argv;   /* the command the guest runs (sandbox) */
	const char *dump_dtb;      /* --dump-dtb FILE: write the DTB, exit */
	enum irqchip_kind irqchip; /* --irqchip */
	const char *boot_trace;    /* --boot-trace FILE ("-": summary) */
	unsigned int until_marker; /* --until-marker N (0-255), when set */
	bool until_marker_set;
	bool no_pvh; /* --no-pvh: boot a bzImage as it is (x86) */
	bool debug;
	bool quiet; /* --quiet: no banner, no informational lines */
	bool help; /* --help: print usage and exit 0 */
};

/* Exit statuses, documented in Documentation/lkvm-run.txt. */
#define LKVM_EXIT_OK 0
#define LKVM_EXIT_FAILURE 1
#define LKVM_EXIT_USAGE 2
/* The guest kernel said it panicked (pvpanic, or KVM's crash event): the
 * guest failed, not lkvm (1) and not the way it was asked to run (2). */
#define LKVM_EXIT_GUEST_PANIC 3

#define LKVM_DEFAULT_MEM_MIB 512 /* a plain number: --help shows it */
#define LKVM_MIN_MEM_BYTES (4ULL << 20)
#define LKVM_MAX_MEM_BYTES (1ULL << 40) /* 1 TiB */
#define LKVM_MAX_NAME 64
#define LKVM_MAX_DISKS 64 /* the transport may allow fewer (PCI: free slots) */

#endif
