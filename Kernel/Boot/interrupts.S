// Interrupt descriptor table and entry stubs.
//
// Exceptions (vectors 0-31) save every general-purpose register and call
// skerry_exception(frame) on an IST stack; the Swift side prints a panic
// report and never returns. Hardware IRQs (vectors 32-47, the remapped 8259
// pair) do not run Swift at all: they count the interrupt, acknowledge it and
// return, which is enough to wake the event loop out of `hlt`. Keeping Swift
// off the IRQ path also sidesteps the runtime functions that are compiled
// without -mno-red-zone.

    .set IDT_ENTRIES, 48
    .set GATE_INTERRUPT, 0x8E

    .text
    .code64

.macro EXCEPTION_NO_CODE vector
exception_\vector:
    pushq $0
    pushq $\vector
    jmp exception_common
.endm

.macro EXCEPTION_WITH_CODE vector
exception_\vector:
    pushq $\vector
    jmp exception_common
.endm

EXCEPTION_NO_CODE 0
EXCEPTION_NO_CODE 1
EXCEPTION_NO_CODE 2
EXCEPTION_NO_CODE 3
EXCEPTION_NO_CODE 4
EXCEPTION_NO_CODE 5
EXCEPTION_NO_CODE 6
EXCEPTION_NO_CODE 7
EXCEPTION_WITH_CODE 8
EXCEPTION_NO_CODE 9
EXCEPTION_WITH_CODE 10
EXCEPTION_WITH_CODE 11
EXCEPTION_WITH_CODE 12
EXCEPTION_WITH_CODE 13
EXCEPTION_WITH_CODE 14
EXCEPTION_NO_CODE 15
EXCEPTION_NO_CODE 16
EXCEPTION_WITH_CODE 17
EXCEPTION_NO_CODE 18
EXCEPTION_NO_CODE 19
EXCEPTION_NO_CODE 20
EXCEPTION_WITH_CODE 21
EXCEPTION_NO_CODE 22
EXCEPTION_NO_CODE 23
EXCEPTION_NO_CODE 24
EXCEPTION_NO_CODE 25
EXCEPTION_NO_CODE 26
EXCEPTION_NO_CODE 27
EXCEPTION_NO_CODE 28
EXCEPTION_WITH_CODE 29
EXCEPTION_WITH_CODE 30
EXCEPTION_NO_CODE 31

// Frame layout seen by Swift (ExceptionFrame): r15 ... rax, vector,
// error code, then the CPU's rip, cs, rflags, rsp, ss.
exception_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    and $-16, %rsp
    call skerry_exception
1:  cli
    hlt
    jmp 1b

.macro IRQ line
irq_\line:
    push %rax
    // Return with interrupts off: IRQs only exist to end `hlt`, and a
    // level-triggered PCI line stays asserted until the driver (Swift, after
    // this returns) acknowledges the device. Leaving IF set would re-enter
    // here forever before that code could run.
    andq $~0x200, 24(%rsp)
    lock incq skerry_irq_counts + 8 * \line(%rip)
    mov $0x20, %al
    .if \line >= 8
    outb %al, $0xA0
    .endif
    outb %al, $0x20
    pop %rax
    iretq
.endm

IRQ 0
IRQ 1
IRQ 2
IRQ 3
IRQ 4
IRQ 5
IRQ 6
IRQ 7
IRQ 8
IRQ 9
IRQ 10
IRQ 11
IRQ 12
IRQ 13
IRQ 14
IRQ 15

// Fills the IDT from the stub table and loads it. Exceptions use IST1,
// except NMI, double fault and machine check, which get IST2 so that they
// still have a good stack when IST1 is the one that broke.
    .globl skerry_idt_install
skerry_idt_install:
    lea idt(%rip), %rdi
    lea stub_table(%rip), %rsi
    xor %ecx, %ecx
2:  mov (%rsi, %rcx, 8), %rax
    mov %ax, (%rdi)
    movw $0x08, 2(%rdi)
    mov $1, %dl
    cmp $2, %ecx
    je 3f
    cmp $8, %ecx
    je 3f
    cmp $18, %ecx
    je 3f
    cmp $32, %ecx
    jb 4f
    mov $3, %dl
    jmp 4f
3:  mov $2, %dl
4:  mov %dl, 4(%rdi)
    movb $GATE_INTERRUPT, 5(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    add $16, %rdi
    inc %ecx
    cmp $IDT_ENTRIES, %ecx
    jne 2b
    lidt idt_pointer(%rip)
    ret

    .section .rodata
    .align 8
stub_table:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_\v
    .endr
    .irp l, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .quad irq_\l
    .endr

    .align 8
idt_pointer:
    .word IDT_ENTRIES * 16 - 1
    .quad idt

    .section .bss
    .align 16
idt:
    .skip IDT_ENTRIES * 16
    .align 8
    .globl skerry_irq_counts
skerry_irq_counts:
    .skip 16 * 8
