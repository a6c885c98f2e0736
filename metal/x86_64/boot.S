/*
 * metal/x86_64/boot.S - the first code of the bare-metal image.
 *
 * QEMU's -kernel loads the image as Multiboot 1 (docs/metal.md, "Boot
 * path"). QEMU refuses a 64-bit ELF unless the header sets the a.out
 * kludge (flag bit 16), so the header below gives the load addresses
 * itself and QEMU copies the file's bytes to them, ignoring the ELF
 * headers; gdb still reads the same file for symbols.
 *
 * Multiboot hands over in 32-bit protected mode with paging off, eax =
 * 0x2BADB002 and ebx = the physical address of the multiboot info. The
 * 32-bit code here clears .bss, identity-maps the first 4 GiB with 2 MiB
 * pages, enables PAE, SSE and long mode, and jumps to 64-bit code, which
 * calls metal_main(magic, info) on the boot stack. Nothing is trusted
 * from the loader except those two registers; metal_main checks the
 * magic.
 */

#define MB_MAGIC	0x1BADB002
/* bit 1: memory map wanted; bit 16: load addresses given here. */
#define MB_FLAGS	0x00010002
#define BOOT_STACK_SIZE	65536

	.section .multiboot, "a"
	.p2align 2
metal_mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
	.long	metal_mb_header		/* header_addr */
	.long	metal_image_start	/* load_addr */
	.long	metal_load_end		/* load_end_addr */
	.long	metal_bss_end		/* bss_end_addr */
	.long	boot_entry32		/* entry_addr */

	.section .text.boot, "ax"
	.code32
	.globl	boot_entry32
boot_entry32:
	cli
	cld
	movl	%eax, %esi		/* keep magic and info across the */
	movl	%ebx, %ebp		/* .bss clear (rep stosb uses edi/ecx/al) */

	/* .bss is zero by the Multiboot rule, but clear it anyway: a
	 * loader that skips it must not leave stale page tables. */
	movl	$metal_bss_start, %edi
	movl	$metal_bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	movl	%esi, boot_mb_magic
	movl	%ebp, boot_mb_info
	movl	$boot_stack_top, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; each PD maps 1 GiB with
	 * 512 2 MiB pages (present, writable, PS = 0x83). */
	movl	$boot_pdpt, %eax
	orl	$0x3, %eax
	movl	%eax, boot_pml4
	xorl	%ecx, %ecx
1:	movl	%ecx, %eax
	shll	$12, %eax
	addl	$boot_pd, %eax
	orl	$0x3, %eax
	movl	%eax, boot_pdpt(,%ecx,8)
	incl	%ecx
	cmpl	$4, %ecx
	jne	1b
	/* 2048 PD entries: entry i maps i * 2 MiB; the high word holds bits
	 * 32.. of the address (i >> 11). */
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax
	movl	%eax, boot_pd(,%ecx,8)
	movl	%ecx, %eax
	shrl	$11, %eax
	movl	%eax, boot_pd+4(,%ecx,8)
	incl	%ecx
	cmpl	$2048, %ecx
	jne	2b

	/* CR4: PAE (5), OSFXSR (9), OSXMMEXCPT (10): the compiler and
	 * libargon2 use SSE. */
	movl	%cr4, %eax
	orl	$((1 << 5) | (1 << 9) | (1 << 10)), %eax
	movl	%eax, %cr4
	movl	$boot_pml4, %eax
	movl	%eax, %cr3
	/* EFER.LME (bit 8). */
	movl	$0xC0000080, %ecx
	rdmsr
	orl	$(1 << 8), %eax
	wrmsr
	/* CR0: PG (31), PE (0), MP (1); clear EM (2) and TS (3). */
	movl	%cr0, %eax
	orl	$((1 << 31) | (1 << 0) | (1 << 1)), %eax
	andl	$~((1 << 2) | (1 << 3)), %eax
	movl	%eax, %cr0

	lgdt	boot_gdt_ptr
	ljmp	$0x08, $boot_entry64

	.code64
	/* CFI in .debug_frame (the image keeps no .eh_frame): rip undefined
	 * here, so debuggers end a backtrace at this frame. */
	.cfi_sections .debug_frame
boot_entry64:
	.cfi_startproc simple
	.cfi_def_cfa %rsp, 0
	.cfi_undefined rip
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorw	%ax, %ax
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$boot_stack_top, %rsp
	xorl	%ebp, %ebp		/* ends the frame chain for backtraces */
	fninit
	movl	boot_mb_magic, %edi
	movl	boot_mb_info, %esi
	call	metal_main
	/* metal_main never returns; if it does, stop here. */
3:	cli
	hlt
	jmp	3b
	.cfi_endproc

	.section .rodata
	.p2align 3
	/* The GDT: null, 64-bit code (0x08), data (0x10), and room for the
	 * TSS descriptor (0x18, 16 bytes) that cpu.c writes into the copy
	 * it loads later. */
	.globl	boot_gdt
boot_gdt:
	.quad	0
	.quad	0x00af9a000000ffff
	.quad	0x00cf92000000ffff
boot_gdt_end:
boot_gdt_ptr:
	.word	boot_gdt_end - boot_gdt - 1
	.long	boot_gdt

	.section .bss
	.p2align 12
	.globl	boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4
	.p2align 4
boot_stack:	.skip BOOT_STACK_SIZE
	.globl	boot_stack_top
boot_stack_top:
	.globl	boot_mb_magic, boot_mb_info
boot_mb_magic:	.skip 4
boot_mb_info:	.skip 4

	.section .note.GNU-stack, "", %progbits
