// SPDX-License-Identifier: GPL-2.0
/* x86 MSRs: the values every vCPU starts with, as firmware would leave them. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MSR_IA32_MISC_ENABLE_FAST_STRING (1u << 0)
#define MTRR_DEF_TYPE_ENABLE (1u << 11) /* MTRRs on */
#define MTRR_TYPE_WRBACK 6

int x86_vcpu_setup_msrs(struct vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t data; } msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_ENABLE | MTRR_TYPE_WRBACK },
	};
	struct kvm_msrs *buf;
	unsigned int i;
	int n;

	buf = calloc(1, sizeof(*buf) + ARRAY_SIZE(msrs) * sizeof(buf->entries[0]));
	if (!buf)
		return -ENOMEM;
	buf->nmsrs = ARRAY_SIZE(msrs);
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		buf->entries[i].index = msrs[i].index;
		buf->entries[i].data = msrs[i].data;
	}
	n = ioctl(vcpu->fd, KVM_SET_MSRS, buf);
	free(buf);
	if (n < 0 || (unsigned int)n != ARRAY_SIZE(msrs)) {
		pr_err("vCPU %u: KVM_SET_MSRS failed at MSR %#x", vcpu->id,
		       n >= 0 && (unsigned int)n < ARRAY_SIZE(msrs) ? msrs[n].index : 0);
		return -EIO;
	}
	return 0;
}
