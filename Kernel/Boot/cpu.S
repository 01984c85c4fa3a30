// Instructions Swift cannot express, exported as C functions (SysV ABI).

    .text
    .code64

    .globl skerry_outb
skerry_outb:                    // (port: UInt16, value: UInt8)
    mov %edi, %edx
    mov %esi, %eax
    outb %al, %dx
    ret

    .globl skerry_inb
skerry_inb:                     // (port: UInt16) -> UInt8
    mov %edi, %edx
    xor %eax, %eax
    inb %dx, %al
    ret

    .globl skerry_outw
skerry_outw:
    mov %edi, %edx
    mov %esi, %eax
    outw %ax, %dx
    ret

    .globl skerry_inw
skerry_inw:
    mov %edi, %edx
    xor %eax, %eax
    inw %dx, %ax
    ret

    .globl skerry_outl
skerry_outl:
    mov %edi, %edx
    mov %esi, %eax
    outl %eax, %dx
    ret

    .globl skerry_inl
skerry_inl:
    mov %edi, %edx
    inl %dx, %eax
    ret

    .globl skerry_rdtsc
skerry_rdtsc:                   // () -> UInt64
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    ret

    .globl skerry_cpuid
skerry_cpuid:                   // (leaf, subleaf, out: *UInt32[4])
    push %rbx
    mov %rdx, %r8
    mov %edi, %eax
    mov %esi, %ecx
    cpuid
    mov %eax, 0(%r8)
    mov %ebx, 4(%r8)
    mov %ecx, 8(%r8)
    mov %edx, 12(%r8)
    pop %rbx
    ret

    .globl skerry_rdrand64
skerry_rdrand64:                // (out: *UInt64) -> Bool; callers check CPUID first
    rdrand %rax
    jnc 1f
    mov %rax, (%rdi)
    mov $1, %eax
    ret
1:  xor %eax, %eax
    ret

    .globl skerry_rdseed64
skerry_rdseed64:
    rdseed %rax
    jnc 1f
    mov %rax, (%rdi)
    mov $1, %eax
    ret
1:  xor %eax, %eax
    ret

    .globl skerry_read_cr0
skerry_read_cr0:
    mov %cr0, %rax
    ret

    .globl skerry_read_cr2
skerry_read_cr2:
    mov %cr2, %rax
    ret

    .globl skerry_read_cr3
skerry_read_cr3:
    mov %cr3, %rax
    ret

    .globl skerry_read_cr4
skerry_read_cr4:
    mov %cr4, %rax
    ret

    .globl skerry_frame_pointer
skerry_frame_pointer:           // the caller's frame pointer
    mov %rbp, %rax
    ret

    // Sleeps until the next interrupt. `sti` takes effect after the
    // following instruction, so an interrupt cannot slip in between and
    // leave `hlt` waiting for the one after it.
    .globl skerry_wait_for_interrupt
skerry_wait_for_interrupt:
    sti
    hlt
    cli
    ret

    .globl skerry_halt_forever
skerry_halt_forever:
    cli
1:  hlt
    jmp 1b

    .globl skerry_raise_divide_error
skerry_raise_divide_error:      // (divisor) - a real #DE, for panic tests
    mov $1, %eax
    xor %edx, %edx
    div %edi
    ret

    .globl skerry_raise_general_protection
skerry_raise_general_protection:
    mov $0x8000000000000000, %rax   // non-canonical address
    mov (%rax), %rax
    ret

    .globl skerry_raise_breakpoint
skerry_raise_breakpoint:
    int3
    ret

    .globl skerry_trap
skerry_trap:                    // a Swift runtime trap, as the compiler emits it
    ud2

// Memory-mapped I/O and device-shared memory. Out-of-line calls are also
// compiler barriers: Swift cannot cache or reorder memory across them.
    .globl skerry_mmio_read32
skerry_mmio_read32:             // (address) -> UInt32
    movl (%rdi), %eax
    ret

    .globl skerry_mmio_write32
skerry_mmio_write32:            // (address, value)
    movl %esi, (%rdi)
    ret

    .globl skerry_mmio_read16
skerry_mmio_read16:
    movzwl (%rdi), %eax
    ret

    .globl skerry_mmio_write16
skerry_mmio_write16:
    movw %si, (%rdi)
    ret

    // Orders this CPU's earlier stores before its later ones as a device sees them.
    .globl skerry_memory_barrier
skerry_memory_barrier:
    mfence
    ret
