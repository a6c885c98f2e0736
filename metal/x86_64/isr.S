/*
 * metal/x86_64/isr.S - one entry stub per interrupt vector and the common
 * path into trap_dispatch (trap.c).
 *
 * Every vector has a 16-byte stub at isr_stubs + 16 * vector. The CPU
 * pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30; the
 * other stubs push a zero so the frame (struct trap_frame in metal.h) has
 * one shape. Every gate uses an interrupt stack (IST, cpu.c), so the
 * frame never lands below the interrupted code's stack pointer.
 *
 * The common path saves the general registers and the SSE/x87 state
 * (fxsave: the C handlers may use SSE registers the interrupted code
 * owns), calls trap_dispatch(frame) and returns with iretq.
 */

	.text
	.p2align 4
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
	.p2align 4
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set	vec, vec + 1
	.endr

	.p2align 4
isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi		/* struct trap_frame * */
	movq	%rsp, %rbx		/* callee-saved: the frame again */
	andq	$-16, %rsp
	subq	$512, %rsp
	fxsave	(%rsp)
	call	trap_dispatch
	fxrstor	(%rsp)
	movq	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

	.section .note.GNU-stack, "", %progbits
