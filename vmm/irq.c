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

/*
 * vm->irq_routing is the struct kvm_irq_routing last installed (exactly
 * ->nr entries long); vm->next_gsi is the first GSI above every default
 * route, where MSI routes start.
 */

static void irq_cleanup(void *opaque)
{
	struct vm *vm = opaque;

	free(vm->irq_routing);
	vm->irq_routing = NULL;
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

static struct kvm_irq_routing *routing_alloc(unsigned int nr)
{
	struct kvm_irq_routing *r;

	r = calloc(1, sizeof(*r) + nr * sizeof(struct kvm_irq_routing_entry));
	if (r)
		r->nr = nr;
	return r;
}

/* The table, created with the arch defaults on first use.  irq_lock held. */
static struct kvm_irq_routing *irq_table_get(struct vm *vm)
{
	struct kvm_irq_routing *r = vm->irq_routing;
	unsigned int i;

	if (r)
		return r;
	r = routing_alloc(MAX_DEFAULT_ROUTES);
	if (!r)
		return NULL;
	r->nr = arch_default_irq_routes(r->entries, MAX_DEFAULT_ROUTES);
	vm->next_gsi = 0;
	for (i = 0; i < r->nr; i++)
		if (r->entries[i].gsi >= vm->next_gsi)
			vm->next_gsi = r->entries[i].gsi + 1;
	vm->irq_routing = r;
	return r;
}

/* Install @r and make it the VM's table (freeing the old one), or leave
 * everything as it was.  A VM without a KVM fd (unit tests) keeps the copy
 * only. */
static int irq_table_commit(struct vm *vm, struct kvm_irq_routing *r)
{
	if (vm->vm_fd >= 0 && ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0) {
		int e = errno;

		pr_debug("KVM_SET_GSI_ROUTING (%u entries) failed: %s", r->nr,
			 strerror(e));
		free(r);
		return -e;
	}
	if (r != vm->irq_routing) {
		free(vm->irq_routing);
		vm->irq_routing = r;
	}
	return 0;
}

/* A copy of the table with room for @extra more entries. */
static struct kvm_irq_routing *irq_table_copy(struct vm *vm, unsigned int extra)
{
	struct kvm_irq_routing *old = vm->irq_routing, *r;

	r = routing_alloc(old->nr + extra);
	if (r) {
		memcpy(r->entries, old->entries, old->nr * sizeof(r->entries[0]));
		r->nr = old->nr;
	}
	return r;
}

static int find_msi(const struct kvm_irq_routing *r, int gsi)
{
	unsigned int i;

	for (i = 0; r && i < r->nr; i++)
		if ((int)r->entries[i].gsi == gsi &&
		    r->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return (int)i;
	return -1;
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
	struct kvm_irq_routing *r;
	unsigned int gsi;
	int ret;

	pthread_mutex_lock(&vm->irq_lock);
	if (!irq_table_get(vm)) {
		ret = -ENOMEM;
		goto out;
	}
	/* The lowest free GSI: deleted routes' numbers get reused. */
	for (gsi = vm->next_gsi; gsi < MAX_GSI; gsi++)
		if (find_msi(vm->irq_routing, (int)gsi) < 0)
			break;
	if (gsi >= MAX_GSI) {
		ret = -ENOSPC;
		goto out;
	}
	r = irq_table_copy(vm, 1);
	if (!r) {
		ret = -ENOMEM;
		goto out;
	}
	e = &r->entries[r->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	msi_set(e, addr, data);
	ret = irq_table_commit(vm, r);
	if (!ret)
		ret = (int)gsi;
out:
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

int vm_msi_route_update(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing *cur, *r;
	struct kvm_irq_routing_entry e;
	int ret = -ENOENT, i;

	pthread_mutex_lock(&vm->irq_lock);
	cur = vm->irq_routing;
	i = find_msi(cur, gsi);
	if (i < 0)
		goto out;
	e = cur->entries[i];
	msi_set(&e, addr, data);
	ret = 0;
	if (!memcmp(&e, &cur->entries[i], sizeof(e)))
		goto out; /* unchanged: spare KVM the table swap */
	r = irq_table_copy(vm, 0);
	if (!r) {
		ret = -ENOMEM;
		goto out;
	}
	r->entries[i] = e;
	ret = irq_table_commit(vm, r);
out:
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

void vm_msi_route_del(struct vm *vm, int gsi)
{
	struct kvm_irq_routing *r;
	int i;

	pthread_mutex_lock(&vm->irq_lock);
	i = find_msi(vm->irq_routing, gsi);
	if (i >= 0 && (r = irq_table_copy(vm, 0))) {
		memmove(&r->entries[i], &r->entries[i + 1],
			(r->nr - (unsigned int)i - 1) * sizeof(r->entries[0]));
		r->nr--;
		/* On failure KVM keeps a route no irqfd uses any more. */
		(void)irq_table_commit(vm, r);
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
