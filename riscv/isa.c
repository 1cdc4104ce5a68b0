// SPDX-License-Identifier: GPL-2.0
/*
 * The ISA a hart runs, as KVM reports it through ONE_REG: the single-letter
 * extensions in the config "isa" register, each multi-letter extension in
 * its own ISA_EXT register (1 = the guest has it), the MMU mode, cache-block
 * sizes and the timebase.  These become the cpu nodes' riscv,isa,
 * riscv,isa-extensions, mmu-type and /cpus timebase-frequency.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "arch/kvm-regs.h"
#include "lkvm/util.h"

/*
 * KVM's multi-letter extension ids (enum KVM_RISCV_ISA_EXT_ID; the numbers
 * are ABI).  Ids 0-7 are single letters, also in the isa register.  Listed
 * in riscv,isa order: Z extensions by category letter, then S extensions.
 */
static const struct {
	unsigned int id;
	const char *name;
} multi_letter[] = {
	{ 19, "zicntr" }, { 20, "zicsr" }, { 21, "zifencei" },
	{ 22, "zihpm" }, { 11, "zicbom" }, { 12, "zicboz" },
	{ 24, "zicond" }, { 10, "zihintpause" }, { 48, "zihintntl" },
	{ 55, "zimop" }, { 53, "zacas" }, { 61, "zawrs" }, { 67, "zabha" },
	{ 51, "zfa" }, { 46, "zfh" }, { 47, "zfhmin" }, { 56, "zca" },
	{ 57, "zcb" }, { 58, "zcd" }, { 59, "zcf" }, { 60, "zcmop" },
	{ 17, "zba" }, { 13, "zbb" }, { 25, "zbc" }, { 26, "zbkb" },
	{ 27, "zbkc" }, { 28, "zbkx" }, { 18, "zbs" }, { 29, "zknd" },
	{ 30, "zkne" }, { 31, "zknh" }, { 32, "zkr" }, { 33, "zksed" },
	{ 34, "zksh" }, { 35, "zkt" }, { 52, "ztso" }, { 36, "zvbb" },
	{ 37, "zvbc" }, { 49, "zvfh" }, { 50, "zvfhmin" }, { 38, "zvkb" },
	{ 39, "zvkg" }, { 40, "zvkned" }, { 41, "zvknha" }, { 42, "zvknhb" },
	{ 43, "zvksed" }, { 44, "zvksh" }, { 45, "zvkt" },
	{ 23, "smstateen" }, { 14, "ssaia" }, { 54, "sscofpmf" },
	{ 8, "sstc" }, { 9, "svinval" }, { 16, "svnapot" }, { 7, "svpbmt" },
};

/* Single letters in canonical order (the ISA manual's naming chapter). */
static const char letters[] = "imafdqcbvh";

static const char *const single_names[] = {
	"i", "m", "a", "f", "d", "q", "c", "b", "v", "h",
};

int riscv_read_isa(int fd, struct riscv_isa *isa)
{
	uint64_t bits = 0, v;
	size_t n;
	unsigned int i;
	int err;

	memset(isa, 0, sizeof(*isa));
	err = riscv_get_reg(fd, RISCV_REG_CONFIG(RISCV_CONFIG_ISA), &bits);
	if (err) {
		pr_err("cannot read the hart's ISA from KVM: %s", strerror(-err));
		return err;
	}
	err = riscv_get_reg(fd, RISCV_REG_TIMER(RISCV_TIMER_FREQUENCY), &v);
	if (err || !v || v > UINT32_MAX) {
		pr_err("cannot read the timebase frequency from KVM: %s",
		       err ? strerror(-err) : "out of range");
		return err ? err : -EINVAL;
	}
	isa->timebase_freq = (uint32_t)v;

	n = (size_t)snprintf(isa->isa, sizeof(isa->isa), "rv64");
	for (i = 0; letters[i]; i++) {
		if (!(bits & (1ULL << (letters[i] - 'a'))) || letters[i] == 'h')
			continue; /* a guest never gets H */
		isa->isa[n++] = letters[i];
		isa->ext[isa->nr_ext++] = single_names[i];
	}
	isa->isa[n] = '\0';
	for (i = 0; i < ARRAY_SIZE(multi_letter); i++) {
		v = 0;
		if (riscv_get_reg(fd, RISCV_REG_ISA_EXT(multi_letter[i].id), &v) ||
		    v != 1)
			continue;
		if (n + strlen(multi_letter[i].name) + 2 > sizeof(isa->isa) ||
		    isa->nr_ext >= RISCV_MAX_ISA_EXT)
			break;
		n += (size_t)snprintf(isa->isa + n, sizeof(isa->isa) - n, "_%s",
				      multi_letter[i].name);
		isa->ext[isa->nr_ext++] = multi_letter[i].name;
		if (multi_letter[i].id == 11 &&
		    !riscv_get_reg(fd, RISCV_REG_CONFIG(RISCV_CONFIG_ZICBOM_BLOCK_SIZE),
				   &v))
			isa->cbom_block_size = (uint32_t)v;
		if (multi_letter[i].id == 12 &&
		    !riscv_get_reg(fd, RISCV_REG_CONFIG(RISCV_CONFIG_ZICBOZ_BLOCK_SIZE),
				   &v))
			isa->cboz_block_size = (uint32_t)v;
	}
	/* satp.MODE the guest may use: 8 sv39, 9 sv48, 10 sv57.  Kernels
	 * before 6.4 have no register for it; sv39 every rv64 MMU does. */
	v = 8;
	riscv_get_reg(fd, RISCV_REG_CONFIG(RISCV_CONFIG_SATP_MODE), &v);
	isa->mmu_type = v == 10 ? "riscv,sv57" : v == 9 ? "riscv,sv48" :
							   "riscv,sv39";
	return 0;
}
