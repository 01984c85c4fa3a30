// Multiboot v1 entry: 32-bit protected mode, paging off.
// Builds an identity map of 0-4 GiB with 2 MiB pages, enables SSE, PAE and
// long mode, loads a 64-bit GDT with a TSS whose IST stacks every interrupt
// gate uses, then calls skerry_kernel_main(magic, info) with SysV arguments.

    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003          // page-align modules, want memory info
    .set PAGE_PRESENT_RW, 0x3
    .set PAGE_HUGE, 0x83               // present | writable | 2 MiB page

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    // Save the loader's registers before anything clobbers them.
    mov %eax, %esi
    mov %ebx, %edi
    rdtsc
    mov %eax, skerry_boot_tsc
    mov %edx, skerry_boot_tsc + 4

    // Zero .bss (page tables and stacks live there).
    push %edi
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    pop %edi
    mov %esi, skerry_multiboot_magic
    mov %edi, skerry_multiboot_info

    mov $boot_stack_top, %esp

    // PML4[0] -> PDPT; PDPT[0..3] -> four page directories.
    mov $pdpt, %eax
    or $PAGE_PRESENT_RW, %eax
    mov %eax, pml4
    mov $pd, %eax
    or $PAGE_PRESENT_RW, %eax
    mov $pdpt, %ebx
    mov $4, %ecx
1:  mov %eax, (%ebx)
    add $4096, %eax
    add $8, %ebx
    loop 1b

    // 2048 directory entries of 2 MiB each: identity map of 0-4 GiB.
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $PAGE_HUGE, %eax
    mov %eax, pd(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    mov $pml4, %eax
    mov %eax, %cr3

    // CR4: PAE (5), OSFXSR (9), OSXMMEXCPT (10).
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    mov %eax, %cr4

    // EFER.LME.
    mov $0xC0000080, %ecx
    rdmsr
    or $(1 << 8), %eax
    wrmsr

    // CR0: clear EM (2), set MP (1), WP (16), PG (31).
    mov %cr0, %eax
    and $~(1 << 2), %eax
    or $((1 << 1) | (1 << 16) | (1 << 31)), %eax
    mov %eax, %cr0

    lgdt gdt64_pointer
    ljmp $0x08, $long_mode_entry

    .code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp

    // TSS descriptor at GDT offset 0x18 (16 bytes, type 0x89 = available TSS).
    lea tss(%rip), %rax
    lea gdt64 + 0x18(%rip), %rdi
    movw $103, (%rdi)
    mov %ax, 2(%rdi)
    mov %rax, %rdx
    shr $16, %rdx
    mov %dl, 4(%rdi)
    movb $0x89, 5(%rdi)
    movb $0, 6(%rdi)
    mov %rax, %rdx
    shr $24, %rdx
    mov %dl, 7(%rdi)
    shr $32, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)

    // IST1: exceptions, IST2: NMI / double fault / machine check, IST3: IRQs.
    lea ist1_top(%rip), %rax
    mov %rax, tss + 36(%rip)
    lea ist2_top(%rip), %rax
    mov %rax, tss + 44(%rip)
    lea ist3_top(%rip), %rax
    mov %rax, tss + 52(%rip)
    movw $104, tss + 102(%rip)
    mov $0x18, %ax
    ltr %ax

    call skerry_idt_install
    fninit

    mov skerry_multiboot_magic(%rip), %edi
    mov skerry_multiboot_info(%rip), %esi
    call skerry_kernel_main
3:  cli
    hlt
    jmp 3b

    // Writable: the TSS descriptor is filled in at boot and ltr marks it busy.
    .section .data
    .align 16
gdt64:
    .quad 0
    .quad 0x00AF9A000000FFFF           // 0x08: 64-bit code, DPL 0
    .quad 0x00CF92000000FFFF           // 0x10: data
    .quad 0, 0                         // 0x18: TSS, filled in at boot
gdt64_end:
    .align 8
gdt64_pointer:
    .word gdt64_end - gdt64 - 1
    .quad gdt64

    .align 8
    .globl skerry_boot_tsc
skerry_boot_tsc:        .quad 0
    .globl skerry_multiboot_magic
skerry_multiboot_magic: .long 0
    .globl skerry_multiboot_info
skerry_multiboot_info:  .long 0

    .section .bss
    .globl skerry_runtime_message
skerry_runtime_message: .skip 256
    .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096 * 4
    .align 16
tss:    .skip 104
    .align 16
    .globl skerry_boot_stack_bottom
skerry_boot_stack_bottom:
    .skip 65536
boot_stack_top:
    .globl skerry_boot_stack_top
    .set skerry_boot_stack_top, boot_stack_top
    .skip 16
ist1_bottom: .skip 16384
ist1_top:    .skip 16
ist2_bottom: .skip 8192
ist2_top:    .skip 16
ist3_bottom: .skip 4096
ist3_top:    .skip 16
