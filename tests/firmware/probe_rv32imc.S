/* The RV32IMC twin of probe_armv7m.S (same behaviour, see there). ilp32: a0 = vm. */
    .option norelax
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

    .globl before
before:
    ret
    nop

    .globl probe
probe:
    addi sp, sp, -16
    sw ra, 12(sp)
    sw s0, 8(sp)
    sw s1, 4(sp)
    sw s2, 0(sp)
    mv s0, a0                   /* s0 = vm */
    lw s1, VM_CTX(s0)           /* s1 = ctx */
    li t0, 0
    li t3, 40
1:  add t1, s0, t0
    lw t2, 0(t1)
    add t1, s1, t0
    sw t2, 0(t1)
    addi t0, t0, 4
    bne t0, t3, 1b
    lw t4, VM_REGIONS(s0)
    lw t5, VM_N_REGIONS(s0)
    li t3, 12
    mul t5, t5, t3
    li t0, 0
2:  beq t0, t5, 3f
    add t1, t4, t0
    lw t2, 0(t1)
    add t1, s1, t0
    sw t2, 40(t1)
    addi t0, t0, 4
    j 2b
3:  lw t1, 12(t4)               /* regions[1].start: .data */
    lw s2, 0(t1)
    addi t2, s2, 1
    sw t2, 0(t1)
    lw t1, 24(t4)               /* regions[2].start: .rodata */
    lw t6, 0(t1)
    lw t1, VM_STACK_TOP(s0)
    li t2, 0xCAFEBABE
    sw t2, -4(t1)
    addi a1, s0, VM_REGS
    sw s2, 8(a1)
    sw zero, 12(a1)
    sw t6, 16(a1)
    sw zero, 20(a1)
    lw a0, VM_FC(s0)
    lw t0, VM_HELPERS(s0)
    lw t0, 0(t0)
    jalr t0
    lw t1, VM_STATUS(s0)
    bnez t1, 9f
    sw a0, VM_RESULT(s0)
    lw t1, VM_CTX_LEN(s0)
    sw t1, VM_RESULT+4(s0)
    li a0, 0
    j 10f
9:  mv a0, t1
10: lw ra, 12(sp)
    lw s0, 8(sp)
    lw s1, 4(sp)
    lw s2, 0(sp)
    addi sp, sp, 16
    ret

    .globl guard
guard:
    addi sp, sp, -16
    sw ra, 12(sp)
    sw s0, 8(sp)
    sw s1, 4(sp)
    sw s2, 0(sp)
    mv s0, a0
    li s1, 0                    /* s1 = r0 of the container, low word */
    lw s2, VM_CTX(s0)
    mv a1, s2
    jal call_helper
    bnez a1, 8f
    mv s1, a0
    lw a1, 4(s2)
    jal call_helper
    bnez a1, 8f
    sw a0, VM_RESULT(s0)
    sw zero, VM_RESULT+4(s0)
    li a0, 0
    j 7f
8:  sw s1, VM_RESULT(s0)
    sw zero, VM_RESULT+4(s0)
    mv a0, a1
7:  lw ra, 12(sp)
    lw s0, 8(sp)
    lw s1, 4(sp)
    lw s2, 0(sp)
    addi sp, sp, 16
    ret

/* a1 = address argument; returns a0 = helper value, a1 = vm->status. */
call_helper:
    addi sp, sp, -16
    sw ra, 12(sp)
    addi t0, s0, VM_REGS
    sw s1, 0(t0)
    sw zero, 4(t0)
    sw a1, 8(t0)
    sw zero, 12(t0)
    li t1, 0xA5A5A5A5
    sw t1, 16(t0)
    sw zero, 20(t0)
    mv a1, t0
    lw a0, VM_FC(s0)
    lw t0, VM_HELPERS(s0)
    lw t0, 0(t0)
    jalr t0
    lw a1, VM_STATUS(s0)
    lw ra, 12(sp)
    addi sp, sp, 16
    ret
