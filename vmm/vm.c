// SPDX-License-Identifier: GPL-2.0
/*
 * The VM lifecycle: open KVM, build the machine in a fixed order, run one
 * thread per vCPU, and tear everything down in reverse.  The main thread only
 * waits: for a signal (SIGINT/SIGTERM/SIGHUP) or for a vCPU or device to ask
 * for the VM to stop.
 */
#include "lkvm/vm.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/thread.h"
#include "lkvm/trace.h"
#include "lkvm/util.h"
#include "lkvm/vcpu.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"

#define KVM_DEVICE "/dev/kvm"
#define KVM_EXPECTED_API 12

int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *opaque)
{
	struct vm_cleanup *c = malloc(sizeof(*c));

	if (!c) {
		fn(opaque);
		return -ENOMEM;
	}
	c->fn = fn;
	c->opaque = opaque;
	c->next = vm->cleanups;
	vm->cleanups = c;
	return 0;
}

int vm_add_link_toggle(struct vm *vm, void (*fn)(void *), void *opaque)
{
	struct vm_link_toggle *l = malloc(sizeof(*l)), **p;

	if (!l)
		return -ENOMEM;
	l->fn = fn;
	l->opaque = opaque;
	l->next = NULL;
	/* In the order the cards were made. */
	for (p = &vm->link_toggles; *p; p = &(*p)->next)
		;
	*p = l;
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why)
{
	int expected = VM_RUNNING;

	/* The first reason wins: a reset racing a signal keeps the reset. */
	if (__atomic_compare_exchange_n(&vm->stop_reason, &expected, (int)why,
					false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		static const char *const names[] = {
			[VM_STOP_POWEROFF] = "stop: guest power-off",
			[VM_STOP_RESET] = "stop: guest reset",
			[VM_STOP_PANIC] = "stop: guest panic",
			[VM_STOP_SIGNAL] = "stop: signal or user",
			[VM_STOP_ERROR] = "stop: lkvm error",
		};
		uint64_t one = 1;

		if ((unsigned int)why < ARRAY_SIZE(names) && names[why])
			trace_instant(vm->trace, TRACE_CAT_GUEST, names[why], NULL);
		if (vm->stop_eventfd >= 0)
			(void)!write(vm->stop_eventfd, &one, sizeof(one));
	}
}

bool vm_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_RUNNING;
}

int vm_ioctl_irq_line(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0) {
		pr_debug("KVM_IRQ_LINE %u=%d failed: %s", irq, level,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

void vm_console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;

	term_write(&vm->term, buf, len);
}

int vm_uart_console_input(struct vm *vm, struct serial8250 *uart,
			  unsigned char c)
{
	/* Wait for FIFO room rather than drop typed or piped bytes. */
	while (!serial8250_rx_put(uart, c)) {
		if (vm_stopping(vm))
			return 0;
		serial8250_wait_rx_space(uart, 50);
	}
	return 1;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio,
		 bool match, uint64_t data, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = data,
		.addr = addr,
		.len = len,
		.fd = fd,
	};

	if (pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

int vm_open_kvm(struct vm *vm)
{
	int api;

	vm->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		if (e == ENOENT)
			pr_err("%s does not exist: load the kvm module (kvm_intel or kvm_amd) or enable virtualization",
			       KVM_DEVICE);
		else if (e == EACCES || e == EPERM)
			pr_err("%s: permission denied (add your user to the 'kvm' group)",
			       KVM_DEVICE);
		else
			pr_err("cannot open %s: %s", KVM_DEVICE, strerror(e));
		return -e;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api < 0) {
		int e = errno;

		/* /dev/null or a file there: not KVM at all. */
		pr_err("%s: KVM_GET_API_VERSION failed: %s (is it a KVM device?)",
		       KVM_DEVICE, strerror(e));
		return -e;
	}
	if (api != KVM_EXPECTED_API) {
		pr_err("KVM API version %d is not supported (lkvm needs %d)", api,
		       KVM_EXPECTED_API);
		return -EINVAL;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int e = errno;
		pr_err("KVM_CREATE_VM failed: %s", strerror(e));
		return -e;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE failed");
		return -EINVAL;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		pr_err("KVM lacks KVM_CAP_IMMEDIATE_EXIT (Linux 4.11+ needed)");
		return -ENOTSUP;
	}
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	vm->max_vcpus = max > 0 ? (unsigned int)max : 1;
	return vm_coalesced_init(vm);
}

int vm_init(struct vm *vm, const struct vm_config *cfg)
{
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_eventfd = vm->initrd_fd = -1;
	term_init(&vm->term, STDIN_FILENO, STDOUT_FILENO);
	vm->term.quiet = cfg->quiet;
	pthread_mutex_init(&vm->coalesced_lock, NULL);
	if ((err = vm_irq_init(vm)))
		return err;
	err = bus_init(&vm->pio_bus, "pio");
	if (err)
		return err;
	err = bus_init(&vm->mmio_bus, "mmio");
	if (err)
		return err;
	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_eventfd < 0)
		return -errno;
	return 0;
}

int vm_setup_memory(struct vm *vm, uint64_t ram_bytes)
{
	const char *huge = vm->cfg ? vm->cfg->hugetlbfs_path : NULL;
	unsigned int i;
	int err;

	if (huge) {
		char why[4200];

		err = guest_memory_alloc_hugetlbfs(&vm->mem, ram_bytes, huge,
						   why, sizeof(why));
		if (err) {
			pr_err("%s", why);
			return err;
		}
	} else {
		err = guest_memory_alloc(&vm->mem, ram_bytes);
		if (err) {
			pr_err("cannot allocate %s of guest memory: %s",
			       size_str(ram_bytes).s, strerror(-err));
			return err;
		}
	}
	err = arch_layout_memory(vm, ram_bytes);
	if (err) {
		pr_err("cannot lay out guest memory: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = r->slot,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
			int e = errno;
			pr_err("KVM_SET_USER_MEMORY_REGION (%s at %#llx) failed: %s",
			       size_str(r->size).s,
			       (unsigned long long)r->gpa, strerror(e));
			return -e;
		}
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	struct vm_cleanup *c, *next;

	/* Anything still waiting for the guest (a console reader blocked on a
	 * full input FIFO) gives up once the VM counts as stopping; on an
	 * error path nobody has said so yet. */
	vm_request_stop(vm, VM_STOP_ERROR);
	term_stop(&vm->term);
	vcpus_destroy(vm);
	for (c = vm->cleanups; c; c = next) {
		next = c->next;
		c->fn(c->opaque);
		free(c);
	}
	vm->cleanups = NULL;
	while (vm->link_toggles) {
		struct vm_link_toggle *l = vm->link_toggles;

		vm->link_toggles = l->next;
		free(l);
	}
	/* Stays mapped if a device pinned it (a thread left behind). */
	guest_memory_free(&vm->mem);
	if (vm->pio_bus.table)
		bus_destroy(&vm->pio_bus);
	if (vm->mmio_bus.table)
		bus_destroy(&vm->mmio_bus);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->kernel_image);
	if (vm->initrd_fd >= 0)
		close(vm->initrd_fd);
	free(vm->cmdline);
	vm->stop_eventfd = vm->vm_fd = vm->kvm_fd = vm->initrd_fd = -1;
}

static int open_initrd(struct vm *vm, const char *path)
{
	struct stat st;

	if (vm->cfg->initrd_what) { /* lkvm's own (a memfd); ours to close */
		vm->initrd_fd = fcntl(vm->cfg->initrd_fd, F_DUPFD_CLOEXEC, 0);
		if (vm->initrd_fd < 0 || fstat(vm->initrd_fd, &st) < 0) {
			int e = errno;
			pr_err("cannot read initrd '%s': %s", path, strerror(e));
			return -e;
		}
	} else {
		/* A file or a block device; never a FIFO to wait on. */
		vm->initrd_fd = open_regular_file(path, true, &st);
		if (vm->initrd_fd < 0) {
			int err = vm->initrd_fd;

			pr_file_error("initrd", path, err);
			return err;
		}
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(vm->initrd_fd, 0, SEEK_END);
		st.st_size = end > 0 ? end : 0;
	}
	if (st.st_size <= 0) {
		pr_err("initrd '%s' is empty", path);
		return -EINVAL;
	}
	vm->initrd_size = (uint64_t)st.st_size;
	return 0;
}

int vm_read_initrd(struct vm *vm, void *dst)
{
	uint8_t *p = dst;
	uint64_t done = 0;

	while (done < vm->initrd_size) {
		ssize_t r = pread(vm->initrd_fd, p + done,
				  MIN(vm->initrd_size - done, 1ULL << 30),
				  (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			pr_err("reading initrd '%s' failed: %s",
			       vm->cfg->initrd_what ? vm->cfg->initrd_what :
			       vm->cfg->initrd_path,
			       r < 0 ? strerror(errno) : "file shrank");
			return r < 0 ? -errno : -EIO;
		}
		done += (uint64_t)r;
	}
	return 0;
}

static bool console_input(void *opaque, uint8_t c)
{
	struct vm *vm = opaque;

	if (vm->console_input)
		return vm->console_input(vm->console_input_opaque, c);
	return arch_console_input(vm, c) > 0;
}

static void console_resize(struct vm *vm)
{
	struct winsize ws;

	if (!vm->console_resize || !vm->term.in_is_tty)
		return;
	if (ioctl(vm->term.in_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col &&
	    ws.ws_row)
		vm->console_resize(vm->console_resize_opaque, ws.ws_col,
				   ws.ws_row);
}

static void console_escape(void *opaque, uint8_t key)
{
	struct vm *vm = opaque;
	struct vm_link_toggle *l;

	if (key == 'l') {
		if (!vm->link_toggles)
			pr_info("Ctrl-A l: the guest has no network card");
		for (l = vm->link_toggles; l; l = l->next)
			l->fn(l->opaque);
		return;
	}
	pr_info("Ctrl-A x: stopping the VM");
	vm_request_stop(vm, VM_STOP_SIGNAL);
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGINT: return "SIGINT";
	case SIGTERM: return "SIGTERM";
	case SIGHUP: return "SIGHUP";
	default: return "signal";
	}
}

/* Wait in the main thread until something asks the VM to stop. */
static void wait_for_stop(struct vm *vm, int signal_fd)
{
	while (!vm_stopping(vm)) {
		struct pollfd p[2] = {
			{ .fd = signal_fd, .events = POLLIN },
			{ .fd = vm->stop_eventfd, .events = POLLIN },
		};
		/*
		 * Coalesced writes wait for the guest's next exit, which a
		 * guest that stops polling may never make (its last console
		 * bytes before a hang): replay them at least this often.
		 * Without the ring the main thread just sleeps.
		 */
		int timeout = vm->coalesced_ring ? VM_COALESCED_FLUSH_MS : -1;
		int n = poll(p, 2, timeout);

		if (n == 0) {
			vm_coalesced_drain(vm);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s", strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(signal_fd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGWINCH) {
				console_resize(vm);
				continue;
			}
			pr_info("%s received, stopping the VM",
				signame((int)si.ssi_signo));
			vm_request_stop(vm, VM_STOP_SIGNAL);
		}
	}
}

/*
 * What lkvm keeps of root's powers once the VM runs: nothing, or with a
 * --9p ...,passthrough export what that needs to set owners, modes and
 * create device nodes (Documentation/9p.md).  Decided before any thread
 * exists, because every thread drops its own (include/lkvm/thread.h).
 */
static int plan_privileges(const struct vm_config *cfg)
{
	static const unsigned int passthrough_caps[] = {
		CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_MKNOD,
	};
	uint64_t keep = 0;
	unsigned int i, j;
	int err;

	for (i = 0; i < cfg->nr_shares; i++)
		for (j = 0; cfg->shares[i].passthrough &&
			    j < ARRAY_SIZE(passthrough_caps); j++)
			keep |= 1ULL << passthrough_caps[j];
	err = lkvm_privs_plan(keep);
	if (err)
		pr_err("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(-err));
	return err;
}

/* The main thread's turn, once everything privileged is open. */
static int drop_privileges(void)
{
	if (lkvm_privs_drop()) {
		pr_err("cannot drop capabilities");
		return -EPERM;
	}
	return 0;
}

static void stop_workers(void *opaque)
{
	struct vm *vm = opaque;

	ioloop_destroy(&vm->ioloop);
	vm->ioloop_ready = false;
}

/*
 * Device worker threads.  Queue processing is mostly submission to async
 * backends, so a few threads serve many queues; enough that a blocking
 * request on one device does not hold up the others.
 */
int vm_start_workers(struct vm *vm)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = online > 2 ? (unsigned int)online : 2;
	int err;

	if (n > 8)
		n = 8;
	err = ioloop_init(&vm->ioloop, n);
	if (err) {
		pr_err("cannot start device worker threads: %s", strerror(-err));
		return err;
	}
	vm->ioloop_ready = true;
	return vm_add_cleanup(vm, stop_workers, vm);
}

static int exit_status_for(enum vm_stop_reason why)
{
	switch (why) {
	case VM_STOP_ERROR:
		return LKVM_EXIT_FAILURE;
	case VM_STOP_PANIC:
		/* Not a normal end: a script must not take it for success. */
		return LKVM_EXIT_GUEST_PANIC;
	default:
		/* Every other guest- or user-initiated stop is a normal end. */
		return LKVM_EXIT_OK;
	}
}

/* The kernel and initrd, first, so a typo is reported before anything
 * heavy happens. */
static int load_boot_files(struct vm *vm, const struct vm_config *cfg)
{
	if (read_kernel_file(cfg->kernel_path, cfg->mem_bytes, &vm->kernel_image,
			   &vm->kernel_size) ||
	    arch_check_kernel(vm))
		return -1;
	if ((cfg->initrd_path || cfg->initrd_what) &&
	    open_initrd(vm, cfg->initrd_what ? cfg->initrd_what :
			cfg->initrd_path))
		return -1;
	return 0;
}

/* -c, or one vCPU per online host CPU up to what KVM recommends; -EINVAL
 * (reported) past what KVM or lkvm supports. */
static int set_nr_vcpus(struct vm *vm, const struct vm_config *cfg)
{
	unsigned int nr_cpus;

	if (cfg->cpus_set) {
		nr_cpus = cfg->nr_cpus;
	} else {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		int rec = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
		nr_cpus = online > 0 ? (unsigned int)online : 1;
		if (rec > 0 && nr_cpus > (unsigned int)rec)
			nr_cpus = (unsigned int)rec;
	}
	if (nr_cpus > vm->max_vcpus || nr_cpus > LKVM_MAX_CPUS) {
		pr_err("-c %u: KVM on this host supports at most %u vCPUs",
		       nr_cpus, MIN(vm->max_vcpus, (unsigned int)LKVM_MAX_CPUS));
		return -EINVAL;
	}
	vm->nr_vcpus = nr_cpus;
	return 0;
}

static int load_kernel(struct vm *vm)
{
	int err = arch_load_kernel(vm);

	/* The kernel is in guest RAM now, and a reset ends the VM: the file's
	 * copy (8 MiB for a distribution bzImage) need not stay resident. */
	free(vm->kernel_image);
	vm->kernel_image = NULL;
	return err;
}

static int setup_memory(struct vm *vm)
{
	return vm_setup_memory(vm, vm->cfg->mem_bytes);
}

/* The command line and the machine, in dependency order (vm_destroy()
 * unwinds all of it): 0, 1 when there is nothing to run, <0 on failure. */
static int build_machine(struct vm *vm, const struct vm_config *cfg)
{
	/* Each step, named in the boot trace. */
	static const struct {
		const char *name;
		int (*fn)(struct vm *vm);
	} steps[] = {
		{ "arch VM set-up", arch_vm_init },
		{ "guest memory", setup_memory },
		{ "device worker threads", vm_start_workers },
		{ "platform devices", arch_devices_init },
		{ "virtio devices", virtio_devices_init },
		{ "load kernel and initrd", load_kernel },
		{ "create vCPUs", vcpus_create },
	};
	unsigned int i;
	uint64_t t0;
	int err;

	if (vm_cmdline_init(vm, arch_default_cmdline(), cfg))
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		t0 = trace_now(vm->trace);
		err = steps[i].fn(vm);
		trace_span(vm->trace, steps[i].name, t0);
		if (err)
			return -1;
	}
	t0 = trace_now(vm->trace);
	err = arch_finish_machine(vm);
	trace_span(vm->trace, "finish machine", t0);
	return err;
}

static void name_vm(struct vm *vm, const struct vm_config *cfg)
{
	if (cfg->name)
		snprintf(vm->name, sizeof(vm->name), "%s", cfg->name);
	else
		snprintf(vm->name, sizeof(vm->name), "guest-%ld", (long)getpid());
	pr_debug("starting %s: %u vCPUs, %s", vm->name, vm->nr_vcpus,
		 size_str(cfg->mem_bytes).s);
	pr_debug("command line: %s", vm->cmdline);
}

/*
 * Signals that stop the VM are taken synchronously by the main thread
 * through a signalfd; they are blocked before any thread exists so that
 * every thread inherits the mask.  Returns the signalfd, or -1 (reported).
 */
static int block_stop_signals(void)
{
	sigset_t stop_sigs;
	int signal_fd;

	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigaddset(&stop_sigs, SIGWINCH); /* terminal resized */
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal_fd = signalfd(-1, &stop_sigs, SFD_CLOEXEC);
	if (signal_fd < 0)
		pr_err("signalfd: %s", strerror(errno));
	return signal_fd;
}

/* Drop privileges, start the console and the vCPUs, and wait for the VM
 * to stop; returns lkvm's exit status. */
static int run_until_stop(struct vm *vm, int signal_fd)
{
	enum vm_stop_reason why;
	uint64_t t0;
	int err;

	if (drop_privileges())
		return LKVM_EXIT_FAILURE;
	err = term_start(&vm->term, console_input, console_escape, vm);
	if (err) {
		pr_err("cannot start the console: %s", strerror(-err));
		return LKVM_EXIT_FAILURE;
	}
	console_resize(vm); /* the initial size */
	t0 = trace_now(vm->trace);
	err = vcpus_start(vm);
	trace_span(vm->trace, "start vCPU threads", t0);
	if (err)
		return LKVM_EXIT_FAILURE;

	wait_for_stop(vm, signal_fd);
	t0 = trace_now(vm->trace);
	vcpus_stop(vm);
	/* The guest's last coalesced writes (console output). */
	vm_coalesced_drain(vm);
	trace_span(vm->trace, "stop vCPUs", t0);
	why = (enum vm_stop_reason)__atomic_load_n(&vm->stop_reason,
						   __ATOMIC_ACQUIRE);
	/* One line however the guest said so (and however often). */
	if (why == VM_STOP_PANIC)
		pr_info("guest kernel panicked");
	return exit_status_for(why);
}

int vm_run(const struct vm_config *cfg, struct boot_trace *trace)
{
	struct vm vm;
	int signal_fd = -1, status = LKVM_EXIT_FAILURE, err;
	uint64_t t0;

	lkvm_debug_enabled = cfg->debug;
	lkvm_quiet = cfg->quiet;
	/* A fixed threshold: glibc would otherwise raise it when the kernel
	 * image is freed, and later big buffers (9p, net) would stay in the
	 * heaps when freed instead of going back to the kernel. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* Again, with what a 9p-root boot added: one line before anything
	 * is built. */
	{
		char why[512];

		if (virtio_devices_check(cfg, why, sizeof(why))) {
			pr_err("%s", why);
			return LKVM_EXIT_USAGE;
		}
	}
	if (plan_privileges(cfg))
		return LKVM_EXIT_FAILURE;
	err = vm_init(&vm, cfg);
	vm.trace = vm.term.trace = trace;
	/* The user's files first: a typo in -k or -i is reported even on a
	 * host without /dev/kvm. */
	if (err)
		goto out;
	t0 = trace_now(trace);
	err = load_boot_files(&vm, cfg);
	trace_span(trace, "read kernel and initrd", t0);
	if (err)
		goto out;
	t0 = trace_now(trace);
	err = vm_open_kvm(&vm);
	trace_span(trace, "open KVM, create VM", t0);
	if (err)
		goto out;
	if (set_nr_vcpus(&vm, cfg)) {
		status = LKVM_EXIT_USAGE;
		goto out;
	}
	err = build_machine(&vm, cfg);
	if (err) {
		if (err > 0)
			status = LKVM_EXIT_OK; /* nothing to run */
		goto out;
	}
	name_vm(&vm, cfg);
	signal_fd = block_stop_signals();
	if (signal_fd >= 0)
		status = run_until_stop(&vm, signal_fd);
out:
	t0 = trace_now(trace);
	vm_destroy(&vm);
	trace_span(trace, "tear down", t0);
	if (signal_fd >= 0)
		close(signal_fd);
	return status;
}
