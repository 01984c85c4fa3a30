// QEMU's floor for the boot benchmark: the smallest Multiboot image that
// prints the ready line and exits through isa-debug-exit. Booting it costs
// only what QEMU itself costs, so `skerry bench boot` can set the kernel's
// boot time against it.

    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002
    .long 0x00000003
    .long -(0x1BADB002 + 0x00000003)

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    mov $message, %esi
    mov $0x3F8, %dx
1:  lodsb
    test %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  mov $0x10, %al              // KernelContract.ExitValue.cleanShutdown
    outb %al, $0xF4
3:  hlt
    jmp 3b

    .section .rodata
message:
    .asciz "skerry: ready\nskerry: shutdown clean\n"
