/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VM_H
#define LKVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"
#include "lkvm/bus.h"
#include "lkvm/config.h"
#include "lkvm/ioloop.h"
#include "lkvm/memory.h"
#include "lkvm/term.h"

struct kvm_run;
struct kvm_coalesced_mmio_ring;
struct boot_trace;
struct vcpu_exit_stats;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct vcpu_exit_stats *stats; /* with --boot-trace (vmm/vcpu.c) */
	struct arch_vcpu arch;
};

/* Why the VM stopped; decides lkvm's exit status. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,  /* guest asked to power off */
	VM_STOP_RESET,     /* guest reset: i8042 0xFE, triple fault, PSCI... */
	VM_STOP_PANIC,     /* guest kernel panicked (pvpanic, KVM_SYSTEM_EVENT_CRASH):
			    * exit status 3 */
	VM_STOP_SIGNAL,    /* SIGINT/SIGTERM/SIGHUP or the Ctrl-A x escape */
	VM_STOP_ERROR,     /* lkvm could not continue: exit status 1 */
};

/* A teardown step registered by whatever was set up; run in reverse. */
struct vm_cleanup {
	struct vm_cleanup *next;
	void (*fn)(void *opaque);
	void *opaque;
};

/* All per-VM state.  Nothing about a VM lives in a global. */
struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	unsigned int max_vcpus;

	struct guest_memory mem;
	struct bus pio_bus;
	struct bus mmio_bus;

	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	uint8_t *kernel_image;
	size_t kernel_size;
	int initrd_fd; /* read straight into guest RAM once placed */
	uint64_t initrd_size;
	char *cmdline;
	size_t cmdline_defaults_len; /* lkvm's own part, before -p params */
	char name[LKVM_MAX_NAME + 1]; /* --name, or guest-<pid> */

	struct term term;
	/* Where console input goes: the UART by default, virtio-console
	 * when --console virtio; @console_resize is called on SIGWINCH. */
	bool (*console_input)(void *opaque, uint8_t c);
	void *console_input_opaque;
	void (*console_resize)(void *opaque, unsigned int cols,
			       unsigned int rows);
	void *console_resize_opaque;

	struct ioloop ioloop;       /* device worker threads */
	bool ioloop_ready;
	pthread_mutex_t irq_lock;   /* GSI routing table */
	void *irq_routing;          /* struct kvm_irq_routing, see vmm/irq.c */
	unsigned int next_gsi;

	/* Stop protocol: first writer of stop_reason wins; see vm_request_stop. */
	int stop_reason; /* enum vm_stop_reason, accessed atomically */
	int stop_eventfd;

	struct boot_trace *trace;   /* --boot-trace, or NULL; not owned */

	/* Coalesced MMIO/PIO (vmm/coalesced.c): KVM's ring, in every vCPU's
	 * mapping (NULL until vCPU 0 exists, or without the capability). */
	unsigned int coalesced_page; /* page offset in the vCPU mapping; 0: none */
	bool coalesced_pio;          /* KVM_CAP_COALESCED_PIO */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	pthread_mutex_t coalesced_lock; /* one drainer at a time */

	struct vm_cleanup *cleanups;
	struct vm_link_toggle *link_toggles; /* Ctrl-A l, see below */
	struct arch_vm arch;
};

/* Run a whole VM described by @cfg, recording into @trace (NULL: no
 * --boot-trace); returns lkvm's exit status. */
int vm_run(const struct vm_config *cfg, struct boot_trace *trace);

/*
 * Piece-by-piece construction, used by vm_run() and by tests that want a VM
 * without a kernel.  vm_init() zeroes @vm and sets up what needs no KVM;
 * vm_open_kvm() opens /dev/kvm and creates the VM (vm_run() reads the
 * user's kernel and initrd in between, so their errors come first).
 */
int vm_init(struct vm *vm, const struct vm_config *cfg);
int vm_open_kvm(struct vm *vm);
int vm_setup_memory(struct vm *vm, uint64_t ram_bytes);
/* Start the device worker threads (vm->ioloop). */
int vm_start_workers(struct vm *vm);
void vm_destroy(struct vm *vm);

/* The device worker threads, or NULL before vm_start_workers() (unit
 * tests drive queues by hand). */
static inline struct ioloop *vm_workers(struct vm *vm)
{
	return vm->ioloop_ready ? &vm->ioloop : NULL;
}

/* Register a teardown step; returns -ENOMEM on failure (after running fn). */
int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *opaque);
/*
 * Ctrl-A l at the console calls @fn(@opaque) (a network card takes its
 * link down, or up again), for every registration in order, on the
 * console's reader thread.  The console stops before any cleanup runs, so
 * @opaque only has to live until its cleanup.  0 or -ENOMEM.
 */
struct vm_link_toggle {
	void (*fn)(void *opaque);
	void *opaque;
	struct vm_link_toggle *next;
};
int vm_add_link_toggle(struct vm *vm, void (*fn)(void *), void *opaque);

/* Ask every vCPU to stop; the first reason given is kept. Thread-safe. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why);
bool vm_stopping(const struct vm *vm);

/*
 * Drive guest interrupt line @irq to @level (edge devices pulse it): what
 * device models' interrupt callbacks call.  Thread-safe.  Each architecture
 * implements it for its interrupt controller (x86/kvm.c: a GSI of KVM's
 * IOAPIC/PIC; riscv/kvm.c: a source of KVM's AIA or of the userspace PLIC).
 */
void vm_set_irq_line(struct vm *vm, unsigned int irq, int level);
/* The KVM_IRQ_LINE ioctl on the in-kernel irqchip; 0 or -errno (logged
 * with --debug). */
int vm_ioctl_irq_line(struct vm *vm, unsigned int irq, int level);

/* The guest's console output to the terminal (a uart_tx_fn, @opaque the
 * vm). */
void vm_console_write(void *opaque, const uint8_t *buf, size_t len);
/* Console input into @uart (arch_console_input for a UART console): waits
 * for FIFO room; 0 when the VM is stopping. */
struct serial8250;
int vm_uart_console_input(struct vm *vm, struct serial8250 *uart,
			  unsigned char c);

/* KVM_IOEVENTFD: writes of @len bytes at @addr (port I/O if @pio) signal
 * @fd instead of exiting; with @match only writes of @data do. */
int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio,
		 bool match, uint64_t data, bool assign);
/*
 * Coalesced writes (vmm/coalesced.c).  vm_coalesced_init() (from
 * vm_open_kvm) reads KVM's capabilities; vm_coalesce_zone() registers or
 * unregisters writes of [@addr, @addr + @len) (port I/O if @pio) as
 * coalesced: 0, or -ENOTSUP without the capability, or -errno;
 * vm_coalesced_set_ring() finds the ring in a vCPU's kvm_run mapping; and
 * vm_coalesced_drain() replays queued writes on the buses, in order (every
 * vCPU calls it before handling an exit, and vm_run once the vCPUs have
 * stopped): how many it replayed.
 */
int vm_coalesced_init(struct vm *vm);
/* The longest a coalesced write waits when the guest makes no exit: the
 * main thread replays the ring this often (vmm/vm.c wait_for_stop). */
#define VM_COALESCED_FLUSH_MS 100
bool vm_coalesced_ok(const struct vm *vm, bool pio);
int vm_coalesce_zone(struct vm *vm, uint64_t addr, uint32_t len, bool pio,
		     bool on);
void vm_coalesced_set_ring(struct vm *vm, void *vcpu_mapping);
unsigned int vm_coalesced_drain(struct vm *vm);

/* KVM_IRQFD: signalling @fd injects @gsi. */
int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign);
/* Set up the GSI routing table's lock and teardown (vmm/irq.c); vm_init()
 * calls it. */
int vm_irq_init(struct vm *vm);
/* MSI routes in the GSI routing table (arch defaults kept).  add returns
 * the new GSI or a negative errno. */
int vm_msi_route_add(struct vm *vm, uint64_t addr, uint32_t data);
int vm_msi_route_update(struct vm *vm, int gsi, uint64_t addr, uint32_t data);
void vm_msi_route_del(struct vm *vm, int gsi);
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* Read the whole initrd into @dst (already bounds-checked guest RAM). */
int vm_read_initrd(struct vm *vm, void *dst);

/* The kernel command line (vmm/cmdline.c, the only code that edits
 * vm->cmdline): arch defaults + -p params. */
char *vm_build_cmdline(const char *arch_defaults, const char *user_params);
/*
 * kvmtool's default root for a disk boot: "root=/dev/vda rw" ("ro" when the
 * first disk is ,ro) when @cfg has an image disk, the root is not lkvm's 9p
 * root, and the -p parameters set no root= (before a "--"); else NULL.
 */
const char *vm_default_root(const struct vm_config *cfg);
/* Where init's arguments begin in kernel parameters @params: the bare "--"
 * that ends the kernel's own, or NULL when there is none. */
const char *params_init_args(const char *params);
/* vm->cmdline for @cfg: @arch_defaults, vm_default_root()'s parameter,
 * then cfg->params; 0 or -ENOMEM. */
int vm_cmdline_init(struct vm *vm, const char *arch_defaults,
		    const struct vm_config *cfg);
/* Add @param to lkvm's defaults in vm->cmdline, before the -p parameters
 * (which stay last: they override defaults, and may end in "-- args"). */
int vm_cmdline_add(struct vm *vm, const char *param);
/* Add @param right after lkvm's default @after, or as vm_cmdline_add()
 * when the defaults have no @after. */
int vm_cmdline_add_after(struct vm *vm, const char *after, const char *param);

#endif
