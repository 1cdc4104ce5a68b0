// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads.  Each loops on KVM_RUN and dispatches exits to the PIO and
 * MMIO buses.  Stopping uses KVM_CAP_IMMEDIATE_EXIT: the stopper sets
 * run->immediate_exit and then signals the thread, so a vCPU that is about to
 * enter the guest and one already inside it both come back promptly.
 */
#include "lkvm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/thread.h"
#include "lkvm/trace.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#define KICK_SIGNAL SIGUSR1

/*
 * With --boot-trace: exits counted by reason (sampled into the trace every
 * TRACE_COUNTER_INTERVAL_US), and by port or MMIO address, the busiest of
 * which the trace lists when the vCPU stops: what to attack to make the
 * boot cheaper.  A fixed table; addresses past it count as "other".
 */
#define EXIT_REASONS 64
#define EXIT_SITES 128 /* power of two */
#define EXIT_SITES_SHOWN 8
struct exit_site {
	uint64_t key;  /* EXIT_SITE_* | address; 0: free */
	uint64_t count;
};
#define EXIT_SITE_PIO (1ULL << 62)
#define EXIT_SITE_MMIO (2ULL << 62)
#define EXIT_SITE_WRITE (1ULL << 61)
struct vcpu_exit_stats {
	uint64_t by_reason[EXIT_REASONS];
	struct exit_site sites[EXIT_SITES];
	uint64_t other_sites;
	uint64_t coalesced; /* queued writes this vCPU replayed */
	uint64_t last_sample_us;
};

static void kick_handler(int sig)
{
	(void)sig; /* only here to interrupt KVM_RUN with EINTR */
}

int vcpus_create(struct vm *vm)
{
	unsigned int i;
	int err;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0) {
			err = -errno;
			pr_err("KVM_CREATE_VCPU %u failed: %s", i, strerror(errno));
			return err;
		}
		v->run = mmap(NULL, (size_t)vm->vcpu_mmap_size,
			      PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			pr_err("vCPU %u: cannot map kvm_run: %s", i, strerror(errno));
			return -ENOMEM;
		}
		if (i == 0) /* every vCPU's mapping shows the VM's one ring */
			vm_coalesced_set_ring(vm, v->run);
		err = arch_vcpu_init(v);
		if (err)
			return err;
		if (vm->trace) {
			v->stats = calloc(1, sizeof(*v->stats));
			if (!v->stats)
				return -ENOMEM;
		}
	}
	return 0;
}

static const char *exit_reason_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	default: return "?";
	}
}

static void count_site(struct vcpu_exit_stats *st, uint64_t key)
{
	unsigned int i, h = (unsigned int)((key * 0x9e3779b97f4a7c15ULL) >> 57);

	for (i = 0; i < EXIT_SITES; i++) {
		struct exit_site *e = &st->sites[(h + i) & (EXIT_SITES - 1)];

		if (e->key == key || !e->key) {
			e->key = key;
			e->count++;
			return;
		}
	}
	st->other_sites++;
}

/* The exit counters as a trace sample. */
static void sample_exits(struct vcpu *v, bool final)
{
	struct vcpu_exit_stats *st = v->stats;
	const char *keys[EXIT_REASONS + 1];
	char unnamed[EXIT_REASONS][12];
	uint64_t vals[EXIT_REASONS + 1];
	unsigned int i, n = 0;

	for (i = 0; i < EXIT_REASONS; i++) {
		if (!st->by_reason[i])
			continue;
		keys[n] = exit_reason_name(i);
		if (!strcmp(keys[n], "?")) {
			snprintf(unnamed[n], sizeof(unnamed[n]), "exit%u", i);
			keys[n] = unnamed[n];
		}
		vals[n++] = st->by_reason[i];
	}
	if (st->coalesced) { /* writes that did not exit */
		keys[n] = "coalesced";
		vals[n++] = st->coalesced;
	}
	trace_counters(v->vm->trace, "exits", n, keys, vals, final);
}

static int by_count(const void *a, const void *b)
{
	const struct exit_site *x = a, *y = b;

	return x->count > y->count ? -1 : x->count < y->count;
}

/* At the vCPU's end: its totals, and its busiest exit addresses. */
static void trace_vcpu_end(struct vcpu *v)
{
	struct vcpu_exit_stats *st = v->stats;
	char args[256] = "", name[32];
	size_t len = 0;
	unsigned int i;

	sample_exits(v, true);
	qsort(st->sites, EXIT_SITES, sizeof(st->sites[0]), by_count);
	for (i = 0; i < EXIT_SITES_SHOWN && st->sites[i].count; i++) {
		uint64_t k = st->sites[i].key;
		int w = snprintf(args + len, sizeof(args) - len,
				 "%s\"%s %#llx %c\":%llu", i ? "," : "",
				 (k & EXIT_SITE_MMIO) ? "mmio" : "pio",
				 (unsigned long long)(k & (EXIT_SITE_WRITE - 1)),
				 (k & EXIT_SITE_WRITE) ? 'w' : 'r',
				 (unsigned long long)st->sites[i].count);
		if (w < 0 || (size_t)w >= sizeof(args) - len) {
			args[len] = '\0';
			break;
		}
		len += (size_t)w;
	}
	snprintf(name, sizeof(name), "vcpu%u busiest exit sites", v->id);
	trace_instant(v->vm->trace, TRACE_CAT_EXITS, name, args);
}

static void trace_exit(struct vcpu *v)
{
	struct vcpu_exit_stats *st = v->stats;
	struct kvm_run *run = v->run;
	uint64_t now;

	/* (Reasons past the table count as UNKNOWN.) */
	st->by_reason[run->exit_reason < EXIT_REASONS ? run->exit_reason : 0]++;
	if (run->exit_reason == KVM_EXIT_IO)
		count_site(st, EXIT_SITE_PIO | run->io.port |
			   (run->io.direction == KVM_EXIT_IO_OUT ?
			    EXIT_SITE_WRITE : 0));
	else if (run->exit_reason == KVM_EXIT_MMIO)
		count_site(st, EXIT_SITE_MMIO |
			   (run->mmio.phys_addr & (EXIT_SITE_WRITE - 1)) |
			   (run->mmio.is_write ? EXIT_SITE_WRITE : 0));
	now = trace_now(v->vm->trace);
	if (now - st->last_sample_us >= TRACE_COUNTER_INTERVAL_US) {
		st->last_sample_us = now;
		sample_exits(v, false);
	}
}

static void vcpu_fatal(struct vcpu *v, const char *what)
{
	struct kvm_run *run = v->run;

	pr_err("vCPU %u: %s (exit reason %u, KVM_EXIT_%s)", v->id, what,
	       run->exit_reason, exit_reason_name(run->exit_reason));
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		pr_err("  hardware entry failure reason %#llx",
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		pr_err("  internal error suberror %u", run->internal.suberror);
	arch_vcpu_dump(v);
	vm_request_stop(v->vm, VM_STOP_ERROR);
}

static void handle_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	/* count > 1 for rep ins/outs: one access per element. */
	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (bus_dispatch(&v->vm->pio_bus, run->io.port, data,
				 run->io.size, is_write))
			continue;
		if (!is_write)
			memset(data, 0xff, run->io.size); /* nothing answers */
		pr_debug("unhandled port %s %#x (size %u)", is_write ? "write" : "read",
			 run->io.port, run->io.size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (bus_dispatch(&v->vm->mmio_bus, run->mmio.phys_addr, run->mmio.data,
			 len, run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
	pr_debug("unhandled MMIO %s %#llx (size %u)",
		 run->mmio.is_write ? "write" : "read",
		 (unsigned long long)run->mmio.phys_addr, len);
}

/* Returns false when this vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int n;

	/* Writes KVM queued without exiting happened before this exit. */
	n = vm_coalesced_drain(v->vm);
	if (v->stats)
		v->stats->coalesced += n;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_pio(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: a PC resets. lkvm ends the VM instead. */
		pr_debug("vCPU %u: triple fault, resetting", v->id);
		vm_request_stop(v->vm, VM_STOP_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(v->vm, VM_STOP_POWEROFF);
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(v->vm, VM_STOP_RESET);
			return false;
		case KVM_SYSTEM_EVENT_CRASH:
			/* vm_run() says "guest kernel panicked". */
			pr_debug("vCPU %u: KVM_SYSTEM_EVENT_CRASH", v->id);
			vm_request_stop(v->vm, VM_STOP_PANIC);
			return false;
		default:
			return true; /* wakeup/suspend: nothing to do */
		}
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fatal(v, "KVM could not enter the guest");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_fatal(v, "KVM internal error");
		return false;
	default:
		if (!arch_handle_exit(v))
			return true;
		vcpu_fatal(v, "unhandled exit");
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	sigset_t kick;

	snprintf(name, sizeof(name), "lkvm-vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	if (v->stats) {
		char ev[40];

		trace_thread_name(v->vm->trace, name + 5);
		snprintf(ev, sizeof(ev), "vcpu%u first KVM_RUN", v->id);
		trace_instant(v->vm->trace, TRACE_CAT_PHASE, ev, NULL);
	}
	while (!vm_stopping(v->vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pr_err("vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
			arch_vcpu_dump(v);
			vm_request_stop(v->vm, VM_STOP_ERROR);
			break;
		}
		if (v->stats)
			trace_exit(v);
		if (!handle_exit(v))
			break;
	}
	if (v->stats)
		trace_vcpu_end(v);
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa;
	sigset_t kick;
	unsigned int i;
	int err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return */
	sigaction(KICK_SIGNAL, &sa, NULL);
	/* Only vCPU threads take the kick. */
	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);

	for (i = 0; i < vm->nr_vcpus; i++) {
		err = pthread_create(&vm->vcpus[i].thread, lkvm_thread_attr(),
				     vcpu_thread, &vm->vcpus[i]);
		if (err) {
			pr_err("cannot start vCPU %u thread: %s", i, strerror(err));
			vm_request_stop(vm, VM_STOP_ERROR);
			return -err;
		}
		vm->vcpus[i].thread_started = true;
	}
	return 0;
}

void vcpus_stop(struct vm *vm)
{
	unsigned int i;

	if (!vm->vcpus)
		return;
	vm_request_stop(vm, VM_STOP_SIGNAL); /* no-op if a reason is set */
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->thread_started)
			continue;
		/*
		 * immediate_exit covers the window between the thread's
		 * vm_stopping() check and its next KVM_RUN; the signal covers a
		 * thread already inside the guest.
		 */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, KICK_SIGNAL);
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
}

void vcpus_destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm->vcpus)
		return;
	vcpus_stop(vm);
	/* The ring lives in vCPU 0's mapping, unmapped below. */
	__atomic_store_n(&vm->coalesced_ring, NULL, __ATOMIC_RELEASE);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, (size_t)vm->vcpu_mmap_size);
		if (v->fd >= 0)
			close(v->fd);
		free(v->stats);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}
