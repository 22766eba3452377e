/* Hand-written Thumb-2 code following femtojit ABI v1 (docs/abi.md), standing in for a
 * translation until the backend exists. It reports what the loader handed it:
 *   ctx[0..40)   the first 40 bytes of the vm (regions .. reserved)
 *   ctx[40..)    the region table, n_regions * 12 bytes
 *   data[0]     += 1 (persists between runs)
 *   *(u32 *)(stack_top - 4) = 0xCAFEBABE
 *   r0 = helpers[0](fc, regs) with r1 = old data[0], r2 = rodata[0]
 *   result = r0 | ctx_len << 32, status 0; a helper fault is returned as is. */
    .syntax unified
    .thumb
    .text
    .equ VM_REGIONS, 0
    .equ VM_N_REGIONS, 4
    .equ VM_STACK_TOP, 8
    .equ VM_CTX, 12
    .equ VM_CTX_LEN, 16
    .equ VM_HELPERS, 20
    .equ VM_FC, 24
    .equ VM_STATUS, 32
    .equ VM_RESULT, 40
    .equ VM_REGS, 48

    .global before
    .thumb_func
before:                 /* something ahead of the entry: entry_offset != 0 */
    bx lr
    nop

    .global probe
    .thumb_func
probe:
    push {r4-r8, lr}            /* 24 bytes: keeps sp 8-byte aligned for the helper call */
    mov r4, r0                  /* r4 = vm */
    ldr r5, [r4, #VM_CTX]       /* r5 = ctx */
    movs r6, #0
1:  ldr r7, [r4, r6]
    str r7, [r5, r6]
    adds r6, #4
    cmp r6, #40
    bne 1b
    ldr r8, [r4, #VM_REGIONS]
    ldr r7, [r4, #VM_N_REGIONS]
    movs r0, #12
    muls r7, r0, r7
    movs r6, #0
2:  cmp r6, r7
    beq 3f
    ldr r0, [r8, r6]
    adds r1, r5, r6
    str r0, [r1, #40]
    adds r6, #4
    b 2b
3:  ldr r1, [r8, #12]           /* regions[1].start: .data */
    ldr r6, [r1]
    adds r2, r6, #1
    str r2, [r1]
    ldr r1, [r8, #24]           /* regions[2].start: .rodata */
    ldr r7, [r1]
    ldr r1, [r4, #VM_STACK_TOP]
    movw r2, #0xBABE
    movt r2, #0xCAFE
    str r2, [r1, #-4]
    add r1, r4, #VM_REGS        /* regs[1] = data[0], regs[2] = rodata[0] */
    movs r2, #0
    str r6, [r1, #8]
    str r2, [r1, #12]
    str r7, [r1, #16]
    str r2, [r1, #20]
    ldr r0, [r4, #VM_FC]
    ldr r3, [r4, #VM_HELPERS]
    ldr r3, [r3]
    blx r3
    ldr r1, [r4, #VM_STATUS]
    cbnz r1, 9f
    str r0, [r4, #VM_RESULT]
    ldr r1, [r4, #VM_CTX_LEN]
    str r1, [r4, #VM_RESULT + 4]
    movs r0, #0
    pop {r4-r8, pc}
9:  mov r0, r1
    pop {r4-r8, pc}

/* guard: r0 = helpers[0](fc, regs) with r1 = ctx, r2 = 0xA5A5A5A5 (a first, valid call),
 * then again with r1 = the word at ctx + 4 (an address the test chooses). A fault in either
 * call ends the run with that status and result = r0 before the call. */
    .global guard
    .thumb_func
guard:
    push {r4, r5, r6, lr}
    mov r4, r0
    movs r5, #0                 /* r5 = r0 of the container, low word */
    ldr r6, [r4, #VM_CTX]
    mov r1, r6
    bl call_helper
    cbnz r1, 8f
    mov r5, r0
    ldr r1, [r6, #4]
    bl call_helper
    cbnz r1, 8f
    str r0, [r4, #VM_RESULT]
    movs r0, #0
    str r0, [r4, #VM_RESULT + 4]
    pop {r4, r5, r6, pc}
8:  str r5, [r4, #VM_RESULT]    /* fault: result = r0 before the call */
    movs r0, #0
    str r0, [r4, #VM_RESULT + 4]
    mov r0, r1
    pop {r4, r5, r6, pc}

/* r1 = address argument; returns r0 = helper value, r1 = vm->status. Clobbers r2, r3. */
    .thumb_func
call_helper:
    push {r7, lr}
    add r2, r4, #VM_REGS
    str r5, [r2, #0]            /* regs[0] = r0 */
    movs r3, #0
    str r3, [r2, #4]
    str r1, [r2, #8]            /* regs[1] */
    str r3, [r2, #12]
    movw r1, #0xA5A5
    movt r1, #0xA5A5
    str r1, [r2, #16]           /* regs[2] */
    str r3, [r2, #20]
    mov r1, r2
    ldr r0, [r4, #VM_FC]
    ldr r3, [r4, #VM_HELPERS]
    ldr r3, [r3]
    blx r3
    ldr r1, [r4, #VM_STATUS]
    pop {r7, pc}
