// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's GSI routing table.  KVM_SET_GSI_ROUTING replaces the whole table,
 * so lkvm keeps its own copy: the architecture's defaults (what KVM set up
 * when the irqchip was created) plus one MSI entry per route handed out to
 * a device, and installs the whole copy on every change.  Route changes are
 * rare (driver setup, IRQ affinity moves), so the simplicity is worth the
 * copy.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

/* GSIs we hand out stay below this (KVM's limit is KVM_MAX_IRQ_ROUTES, 4096). */
#define MAX_GSI 1024
#define MAX_DEFAULT_ROUTES 64

struct irq_table {
	unsigned int first_msi_gsi; /* above every default route */
	unsigned int cap;
	struct kvm_irq_routing *r;  /* r->nr entries in use, room for cap */
};

static void irq_cleanup(void *opaque)
{
	struct vm *vm = opaque;
	struct irq_table *t = vm->irq_routing;

	if (t) {
		free(t->r);
		free(t);
		vm->irq_routing = NULL;
	}
	pthread_mutex_destroy(&vm->irq_lock);
}

int vm_irq_init(struct vm *vm)
{
	int err = pthread_mutex_init(&vm->irq_lock, NULL);

	if (err)
		return -err;
	vm->irq_routing = NULL; /* built on first use */
	return vm_add_cleanup(vm, irq_cleanup, vm);
}

static struct kvm_irq_routing *routing_alloc(unsigned int cap)
{
	return calloc(1, sizeof(struct kvm_irq_routing) +
			 cap * sizeof(struct kvm_irq_routing_entry));
}

/* The table, created with the arch defaults on first use.  irq_lock held. */
static struct irq_table *irq_table_get(struct vm *vm)
{
	struct irq_table *t = vm->irq_routing;
	unsigned int i;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cap = MAX_DEFAULT_ROUTES + 16;
	t->r = routing_alloc(t->cap);
	if (!t->r) {
		free(t);
		return NULL;
	}
	t->r->nr = arch_default_irq_routes(t->r->entries, MAX_DEFAULT_ROUTES);
	for (i = 0; i < t->r->nr; i++)
		if (t->r->entries[i].gsi >= t->first_msi_gsi)
			t->first_msi_gsi = t->r->entries[i].gsi + 1;
	vm->irq_routing = t;
	return t;
}

/* Install the table.  A VM without a KVM fd (unit tests) keeps the copy
 * only. */
static int irq_table_commit(struct vm *vm, struct irq_table *t)
{
	if (vm->vm_fd < 0)
		return 0;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t->r) < 0) {
		int e = errno;

		pr_debug("KVM_SET_GSI_ROUTING (%u entries) failed: %s",
			 t->r->nr, strerror(e));
		return -e;
	}
	return 0;
}

static struct kvm_irq_routing_entry *find_msi(struct irq_table *t, int gsi)
{
	unsigned int i;

	for (i = 0; i < t->r->nr; i++)
		if ((int)t->r->entries[i].gsi == gsi &&
		    t->r->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &t->r->entries[i];
	return NULL;
}

static void remove_entry(struct irq_table *t, struct kvm_irq_routing_entry *e)
{
	unsigned int i = (unsigned int)(e - t->r->entries);

	memmove(e, e + 1, (t->r->nr - i - 1) * sizeof(*e));
	t->r->nr--;
}

static void msi_set(struct kvm_irq_routing_entry *e, uint64_t addr,
		    uint32_t data)
{
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

int vm_msi_route_add(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e;
	struct irq_table *t;
	unsigned int gsi;
	int ret;

	pthread_mutex_lock(&vm->irq_lock);
	t = irq_table_get(vm);
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	/* The lowest free GSI: deleted routes' numbers get reused. */
	for (gsi = t->first_msi_gsi; gsi < MAX_GSI; gsi++)
		if (!find_msi(t, (int)gsi))
			break;
	if (gsi >= MAX_GSI) {
		ret = -ENOSPC;
		goto out;
	}
	if (t->r->nr == t->cap) {
		struct kvm_irq_routing *n = routing_alloc(t->cap * 2);

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(n, t->r, sizeof(*n) + t->r->nr * sizeof(*e));
		free(t->r);
		t->r = n;
		t->cap *= 2;
	}
	e = &t->r->entries[t->r->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	msi_set(e, addr, data);
	ret = irq_table_commit(vm, t);
	if (ret)
		t->r->nr--;
	else
		ret = (int)gsi;
out:
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

int vm_msi_route_update(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e, old;
	struct irq_table *t;
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->irq_lock);
	t = vm->irq_routing;
	e = t ? find_msi(t, gsi) : NULL;
	if (e) {
		old = *e;
		msi_set(e, addr, data);
		if (memcmp(&old, e, sizeof(old)) == 0) {
			ret = 0; /* unchanged: spare KVM the table swap */
		} else {
			ret = irq_table_commit(vm, t);
			if (ret)
				*e = old;
		}
	}
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

void vm_msi_route_del(struct vm *vm, int gsi)
{
	struct kvm_irq_routing_entry *e;
	struct irq_table *t;

	pthread_mutex_lock(&vm->irq_lock);
	t = vm->irq_routing;
	e = t ? find_msi(t, gsi) : NULL;
	if (e) {
		remove_entry(t, e);
		/* Nothing to undo on failure: at worst KVM keeps a route
		 * no irqfd points at any more. */
		(void)irq_table_commit(vm, t);
	}
	pthread_mutex_unlock(&vm->irq_lock);
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	if (vm->vm_fd < 0)
		return -EBADF;
	/* > 0 delivered, 0 blocked by the guest (e.g. masked at the APIC). */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}
