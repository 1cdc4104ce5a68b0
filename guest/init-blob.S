/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest init program (guest/init.c, built static for the guest's
 * architecture) embedded in lkvm; vmm/frontend/initramfs.c writes it as /init.
 */
	.section .rodata
	.balign 16
	.global lkvm_guest_init
	.global lkvm_guest_init_end
lkvm_guest_init:
	.incbin LKVM_GUEST_INIT
lkvm_guest_init_end:
	.section .note.GNU-stack,"",%progbits
