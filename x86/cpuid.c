// SPDX-License-Identifier: GPL-2.0
/*
 * x86 CPUID: what KVM supports, read once per VM, and each vCPU's copy of
 * it with that vCPU's APIC ID and a one-socket, n-core topology.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

/* Leaves lkvm edits or reads. */
#define CPUID_LEAF_FEATURES 0x1         /* signature, APIC ID, feature flags */
#define CPUID_LEAF_CACHE_PARAMS 0x4     /* deterministic cache parameters */
#define CPUID_LEAF_TOPOLOGY 0xb         /* extended topology */
#define CPUID_LEAF_TOPOLOGY_V2 0x1f
#define CPUID_LEAF_AMD_SIZES 0x80000008 /* address sizes, core count */
#define CPUID_LEAF_AMD_TOPOLOGY 0x8000001e

#define CPUID_1_EDX_HTT (1u << 28)        /* more than one logical CPU */
#define CPUID_1_ECX_HYPERVISOR (1u << 31) /* running under a hypervisor */
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24) /* APIC timer TSC-deadline mode */

#define CPUID_MAX_ENTRIES 4096 /* KVM_GET_SUPPORTED_CPUID retries stop here */

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	unsigned int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		free(c);
		if (errno != E2BIG || nent >= CPUID_MAX_ENTRIES)
			return NULL;
		nent *= 2;
	}
}

static void cpuid_cleanup(void *p) { free(p); }

int x86_cpuid_init(struct vm *vm)
{
	struct kvm_cpuid2 *c = get_supported_cpuid(vm->kvm_fd);
	unsigned int i;

	if (!c) {
		pr_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		return -EIO;
	}
	/* KVM emulates the local APIC's TSC-deadline mode but leaves the
	 * bit out of KVM_GET_SUPPORTED_CPUID (it needs the in-kernel APIC,
	 * which lkvm always has).  Without it a Linux guest checks its APIC
	 * timer against the PIT at boot, which a loaded host fails, and then
	 * times with the PIT: a port exit per timer tick.  QEMU sets it too. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		for (i = 0; i < c->nent; i++)
			if (c->entries[i].function == CPUID_LEAF_FEATURES)
				c->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	vm->arch.cpuid = c;
	return vm_add_cleanup(vm, cpuid_cleanup, vm->arch.cpuid);
}

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* Give vCPU @id its own APIC ID and a one-socket, n-core topology. */
static void cpuid_fixup(struct kvm_cpuid2 *c, unsigned int id, unsigned int nr)
{
	unsigned int i, core_bits = bits_for(nr);

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case CPUID_LEAF_FEATURES:
			e->ebx = (e->ebx & 0xffff) | (id << 24) |
				 ((1u << core_bits) << 16);
			if (nr > 1)
				e->edx |= CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case CPUID_LEAF_CACHE_PARAMS:
			/* Cores per package, minus one, in EAX[31:26]. */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x03ffffff) | ((nr - 1) << 26);
			break;
		case CPUID_LEAF_TOPOLOGY:
		case CPUID_LEAF_TOPOLOGY_V2:
			/* Level 0: SMT (one thread per core); level 1: cores. */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = nr;
				e->ecx = 1 | (2u << 8);
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = id;
			break;
		case CPUID_LEAF_AMD_SIZES:
			/* AMD: NC = cores - 1, and the APIC ID width for them. */
			e->ecx = (e->ecx & ~0xf0ffu) | (nr - 1) | (core_bits << 12);
			break;
		case CPUID_LEAF_AMD_TOPOLOGY:
			e->eax = id;
			e->ebx = id & 0xff; /* core id; one thread per core */
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}

int x86_vcpu_setup_cpuid(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_cpuid2 *c = vm->arch.cpuid;
	size_t sz = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *mine = malloc(sz);
	int err;

	if (!mine)
		return -ENOMEM;
	memcpy(mine, c, sz);
	cpuid_fixup(mine, vcpu->id, vm->nr_vcpus);
	err = ioctl(vcpu->fd, KVM_SET_CPUID2, mine) < 0 ? -errno : 0;
	free(mine);
	if (err)
		pr_err("vCPU %u: KVM_SET_CPUID2 failed: %s", vcpu->id, strerror(-err));
	return err;
}

static const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c,
						  uint32_t fn)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	return NULL;
}

void x86_cpuid_mptable_cpu(const struct kvm_cpuid2 *c, struct mptable_cpu *cpu)
{
	const struct kvm_cpuid_entry2 *leaf1 = cpuid_find(c, CPUID_LEAF_FEATURES);

	*cpu = (struct mptable_cpu){ 0, 0 };
	if (leaf1) {
		cpu->signature = leaf1->eax;
		cpu->features = leaf1->edx;
	}
}
