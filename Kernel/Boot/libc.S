// The memory primitives the Embedded Swift stdlib and LLVM call by name.
// In assembly so that the compiler cannot turn their loops back into calls
// to themselves.

    .text
    .code64

    .globl memcpy
memcpy:                         // (dst, src, n) -> dst
    mov %rdi, %rax
    mov %rdx, %rcx
    rep movsb
    ret

    .globl memset
memset:                         // (dst, byte, n) -> dst
    mov %rdi, %r9
    mov %esi, %eax
    mov %rdx, %rcx
    rep stosb
    mov %r9, %rax
    ret

    .globl memmove
memmove:                        // (dst, src, n) -> dst, overlap-safe
    mov %rdi, %rax
    mov %rdx, %rcx
    cmp %rsi, %rdi
    jbe 1f
    lea -1(%rsi, %rdx), %rsi
    lea -1(%rdi, %rdx), %rdi
    std
    rep movsb
    cld
    ret
1:  rep movsb
    ret

    .globl memcmp
memcmp:                         // (a, b, n) -> <0, 0, >0
    xor %eax, %eax
    test %rdx, %rdx
    jz 2f
1:  movzbl (%rdi), %eax
    movzbl (%rsi), %ecx
    sub %ecx, %eax
    jnz 2f
    inc %rdi
    inc %rsi
    dec %rdx
    jnz 1b
2:  ret

    .globl strlen
strlen:
    xor %eax, %eax
1:  cmpb $0, (%rdi, %rax)
    je 2f
    inc %rax
    jmp 1b
2:  ret

    // The runtime's free(); the allocator is Swift (RuntimeSupport.swift).
    .globl free
free:
    jmp skerry_free
