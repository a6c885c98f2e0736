/*
 * arch/x86_64/switch.S - context switch for the hosted and bare-metal ports
 * (SysV x86_64, ELF). See switch.h for the contract.
 *
 * Frame of a suspended context, lowest address first; the saved stack
 * pointer points at its first word and is 16-byte aligned:
 *
 *   +0   MXCSR (32 bits), x87 control word (16 bits), 16 bits unused
 *   +8   r15
 *   +16  r14
 *   +24  r13
 *   +32  r12
 *   +40  rbx
 *   +48  rbp
 *   +56  return address
 *
 * capos_ctx_init_stack (switch.h) builds the same frame by hand with the
 * return address pointing at capos_ctx_trampoline.
 *
 * Only the control parts of MXCSR and the x87 control word are
 * callee-saved under the SysV ABI; saving the whole MXCSR also carries the
 * sticky status bits across, which is harmless.
 *
 * Indirect-branch tracking: with -fcf-protection the compiler defines
 * __CET__ and we mark both entry points with endbr64. This file does not
 * claim shadow-stack compatibility (the stack switch would break it), so
 * it emits no .note.gnu.property and a linked program is not marked
 * SHSTK-capable.
 */

#if defined(__x86_64__)

#if defined(__CET__) && (__CET__ & 1)
#define CAPOS_ENDBR endbr64
#else
#define CAPOS_ENDBR
#endif

	.text

/* void capos_ctx_swap(void **save_sp, void *load_sp)
 * rdi = save_sp, rsi = load_sp. */
	.globl	capos_ctx_swap
	.type	capos_ctx_swap, @function
	.p2align 4
capos_ctx_swap:
	.cfi_startproc
	CAPOS_ENDBR
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbx, 0
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r12, 0
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r13, 0
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r14, 0
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r15, 0
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movl	(%rsp), %eax		/* outgoing MXCSR (same-width loads:  */
	movzwl	4(%rsp), %edx		/* no store-forwarding stall) and CW */

	/* The switch proper. From here on the CFI describes the incoming
	 * context, whose frame has the same shape. */
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp

	/* Loading MXCSR and the x87 control word is slow; they almost
	 * never differ between threads, so load only when they do. */
	cmpl	(%rsp), %eax
	jne	2f
	cmpw	4(%rsp), %dx
	je	1f
2:	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
1:
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15
	.cfi_adjust_cfa_offset -8
	.cfi_restore r15
	popq	%r14
	.cfi_adjust_cfa_offset -8
	.cfi_restore r14
	popq	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore r13
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore r12
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbx
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbp
	ret
	.cfi_endproc
	.size	capos_ctx_swap, .-capos_ctx_swap

/* First code of a fresh context, reached by the ret of capos_ctx_swap with
 * r12 = entry, r13 = arg and rsp 16-byte aligned. rip is marked undefined
 * so unwinders (gdb, ASan's stack traces) stop here. */
	.globl	capos_ctx_trampoline
	.type	capos_ctx_trampoline, @function
	.p2align 4
capos_ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	CAPOS_ENDBR
	xorl	%ebp, %ebp
	movq	%r13, %rdi
	call	*%r12
	/* entry returned, which its contract forbids. */
	ud2
	.cfi_endproc
	.size	capos_ctx_trampoline, .-capos_ctx_trampoline

#endif /* __x86_64__ */

	.section .note.GNU-stack, "", %progbits
