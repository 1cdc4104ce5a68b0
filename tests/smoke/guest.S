/*
 * A tiny stand-in kernel for the host-/dev/kvm smoke tests: a valid bzImage
 * header (boot protocol 2.15, 64-bit entry) and a 64-bit entry point that
 * picks a behaviour from the last character of its command line
 * (lkvm run -p smoke=X):
 *   o  print "SMOKE-OK" on COM1, then reset through the i8042
 *   p  read port 0x2f8 (nothing there): print "PIO-FF" if it reads 0xff
 *   t  triple fault (empty IDT + int3)
 *   h  hang with interrupts off (the test stops lkvm with SIGTERM)
 *   e  echo COM1 input back (polled) until 'q', then reset
 *   x  jump into the MMIO hole (no RAM there): KVM cannot fetch the
 *      instruction, so lkvm must report an internal error and exit 1
 *   v  read the pvpanic port (0x505): print "PVPANIC-CAPS-3" if it
 *      offers PANICKED|CRASH_LOADED, write PANICKED and hang (lkvm must
 *      stop with status 3); else print "PVPANIC-NOT-3" and reset
 *   k  write CRASH_LOADED to the pvpanic port 3 times, print
 *      "CRASH-LOADED", then reset (lkvm logs it once and goes on)
 * Built by tests/smoke/run.sh with the system assembler; never committed.
 */
	.code64
	.text
	.globl _start
_start:
	. = 0x1f1
	.byte 1                 /* setup_sects: setup part is 2 sectors */
	. = 0x1fe
	.word 0xaa55
	. = 0x200
	.byte 0xeb, 0x66        /* jmp over the header; header ends at 0x268 */
	. = 0x202
	.ascii "HdrS"
	.word 0x020f            /* boot protocol 2.15 */
	. = 0x22c
	.long 0x7fffffff        /* initrd_addr_max */
	.long 0x200000          /* kernel_alignment */
	.byte 1                 /* relocatable_kernel */
	. = 0x236
	.word 0x0001            /* xloadflags: XLF_KERNEL_64 */
	.long 2047              /* cmdline_size */
	. = 0x258
	.quad 0x1000000         /* pref_address */
	.long 0x100000          /* init_size */
	. = 0x400
	/* Protected-mode part: loaded at pref_address; 64-bit entry at +0x200. */
	. = 0x600
entry64:
	cli
	/* rsi = zero page; its cmd_line_ptr is at 0x228. */
	movl 0x228(%rsi), %edi
1:	cmpb $0, (%rdi)
	je 2f
	inc %rdi
	jmp 1b
2:	movb -1(%rdi), %al
	cmpb $'o', %al
	je mode_ok
	cmpb $'p', %al
	je mode_pio
	cmpb $'t', %al
	je mode_triple
	cmpb $'h', %al
	je mode_hang
	cmpb $'e', %al
	je mode_echo
	cmpb $'x', %al
	je mode_mmio_exec
	cmpb $'v', %al
	je mode_pvpanic
	cmpb $'k', %al
	je mode_kdump
	jmp mode_hang

/* putc(%bl) on COM1 */
putc:
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	ret

puts:	/* %rcx = NUL-terminated string (RIP-relative addresses) */
3:	movb (%rcx), %bl
	testb %bl, %bl
	je 4f
	call putc
	inc %rcx
	jmp 3b
4:	ret

reset:
	movb $0xfe, %al
	outb %al, $0x64
	jmp mode_hang

mode_ok:
	leaq msg_ok(%rip), %rcx
	call puts
	jmp reset

mode_pio:
	movw $0x2f8, %dx
	inb %dx, %al
	cmpb $0xff, %al
	jne 5f
	leaq msg_ff(%rip), %rcx
	call puts
	jmp reset
5:	leaq msg_bad(%rip), %rcx
	call puts
	jmp reset

mode_triple:
	leaq msg_tf(%rip), %rcx
	call puts
	lidt idt_empty(%rip)
	int3
	jmp mode_hang

mode_mmio_exec:
	leaq msg_x(%rip), %rcx
	call puts
	movl $0xc0000000, %eax
	jmp *%rax

mode_pvpanic:
	movw $0x505, %dx
	inb %dx, %al
	cmpb $3, %al
	jne 7f
	leaq msg_caps(%rip), %rcx
	call puts
	movw $0x505, %dx
	movb $1, %al            /* PVPANIC_PANICKED */
	outb %al, %dx
	jmp mode_hang
7:	leaq msg_nocaps(%rip), %rcx
	call puts
	jmp reset

mode_kdump:
	movw $0x505, %dx
	movb $2, %al            /* PVPANIC_CRASH_LOADED */
	outb %al, %dx
	outb %al, %dx
	outb %al, %dx
	leaq msg_kdump(%rip), %rcx
	call puts
	jmp reset

mode_hang:
	cli
	hlt
	jmp mode_hang

mode_echo:
	leaq msg_echo(%rip), %rcx
	call puts
6:	movw $0x3fd, %dx        /* LSR */
	inb %dx, %al
	testb $1, %al           /* data ready? */
	jz 6b
	movw $0x3f8, %dx
	inb %dx, %al
	cmpb $'q', %al
	je reset
	movb %al, %bl
	call putc
	jmp 6b

	.balign 8
idt_empty:
	.word 0
	.quad 0
msg_ok:   .asciz "SMOKE-OK\n"
msg_ff:   .asciz "PIO-FF\n"
msg_bad:  .asciz "PIO-NOT-FF\n"
msg_tf:   .asciz "TRIPLE\n"
msg_echo: .asciz "ECHO-READY\n"
msg_x:    .asciz "EXEC-MMIO\n"
msg_caps: .asciz "PVPANIC-CAPS-3\n"
msg_nocaps: .asciz "PVPANIC-NOT-3\n"
msg_kdump: .asciz "CRASH-LOADED\n"
	. = 0x1000
