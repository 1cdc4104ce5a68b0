/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_RISCV_KVM_REGS_H
#define LKVM_RISCV_KVM_REGS_H

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* KVM's riscv ONE_REG ids (arch/riscv/include/uapi/asm/kvm.h), spelled out
 * so older kernel headers build too; the ABI numbers never change. */
#define RISCV_REG_U64 (KVM_REG_RISCV | KVM_REG_SIZE_U64)
#define RISCV_REG_CONFIG(i) (RISCV_REG_U64 | (0x01ULL << 24) | (i))
#define RISCV_REG_CORE(i) (RISCV_REG_U64 | (0x02ULL << 24) | (i))
#define RISCV_REG_TIMER(i) (RISCV_REG_U64 | (0x04ULL << 24) | (i))
#define RISCV_REG_ISA_EXT(i) (RISCV_REG_U64 | (0x07ULL << 24) | (i))
#define RISCV_REG_SBI_EXT(i) (RISCV_REG_U64 | (0x08ULL << 24) | (i))

#define RISCV_CONFIG_ISA 0
#define RISCV_CONFIG_ZICBOM_BLOCK_SIZE 1
#define RISCV_CONFIG_ZICBOZ_BLOCK_SIZE 5
#define RISCV_CONFIG_SATP_MODE 6
#define RISCV_CORE_PC 0
#define RISCV_CORE_RA 1
#define RISCV_CORE_SP 2
#define RISCV_CORE_A0 10
#define RISCV_CORE_A1 11
#define RISCV_CORE_MODE 32
#define RISCV_TIMER_FREQUENCY 0
#define RISCV_SBI_EXT_DBCN 9 /* KVM_RISCV_SBI_EXT_DBCN */

/* KVM_GET_ONE_REG / KVM_SET_ONE_REG of a 64-bit register: 0 or -errno. */
static inline int riscv_get_reg(int vcpu_fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)val };

	return ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static inline int riscv_set_reg(int vcpu_fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&val };

	return ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

#endif
