// The C symbols the Embedded Swift runtime expects from its environment.

/// The kernel heap. Starts empty (every request fails) until `Kernel.boot`
/// gives it the memory the map offers; before that nothing may allocate.
/// Global because the runtime reaches it through C entry points
/// (`posix_memalign`, `free`) that carry no context.
nonisolated(unsafe) var kernelHeap = Heap()

/// The runtime force-unwraps what this returns, so a failure here would
/// trap without a message; it panics with the heap's figures instead.
@_cdecl("posix_memalign")
func posix_memalign(_ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> Int32 {
    guard let memory = kernelHeap.allocate(byteCount: size, alignment: max(alignment, 16)) else {
        Panic.outOfMemory(kernelHeap.exhaustion(requested: size, alignment: alignment))
    }
    result.pointee = memory
    return 0
}

/// `free` itself is a jump to this in libc.S: Swift reserves the name.
@_cdecl("skerry_free")
func skerryFree(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    do {
        try kernelHeap.deallocate(pointer)
    } catch {
        Panic.heapMisuse(error)
    }
}

/// Only the Swift runtime prints through `putchar` (kernel code writes to
/// `console`), so the line it last printed is the message of the check
/// that is about to trap.
@_cdecl("putchar")
func putchar(_ character: Int32) -> Int32 {
    let byte = UInt8(truncatingIfNeeded: character)
    Serial.write(byte)
    RuntimeMessage.record(byte)
    return character
}

/// The runtime's most recent line, kept in a fixed buffer in boot.S's .bss
/// so that recording it never allocates.
enum RuntimeMessage {
    static let capacity = 240

    /// How much of the buffer holds the current line.
    struct Cursor {
        var length = 0
        var lineEnded = false
    }

    private static var storage: UnsafeMutablePointer<UInt8> {
        withUnsafeMutablePointer(to: &runtimeMessageStorage) { $0 }
    }

    static func record(_ byte: UInt8) {
        if byte == 0x0A {
            Machine.state.runtimeMessage.lineEnded = true
            return
        }
        if Machine.state.runtimeMessage.lineEnded {
            Machine.state.runtimeMessage = Cursor()
        }
        let length = Machine.state.runtimeMessage.length
        if length < capacity {
            storage[length] = byte
            Machine.state.runtimeMessage.length = length + 1
        }
    }

    static var lastLine: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: storage, count: Machine.state.runtimeMessage.length)
    }
}

@_cdecl("arc4random_buf")
func arc4random_buf(_ buffer: UnsafeMutableRawPointer?, _ count: Int) {
    guard let buffer else { return }
    Entropy.fill(UnsafeMutableRawBufferPointer(start: buffer, count: count))
}

/// Needed by Dictionary sizing. The default QEMU CPU model lacks SSE4.1's
/// `roundsd`, so this rounds through a 64-bit truncation.
@_cdecl("ceil")
func ceil(_ value: Double) -> Double {
    // At or beyond 2^52 every double is already an integer; NaN fails the test too.
    guard value.magnitude < 4_503_599_627_370_496.0 else { return value }
    let truncated = Double(Int64(value))
    return truncated < value ? truncated + 1 : truncated
}

/// Random numbers for Hashable seeding and anything else that asks: RDSEED,
/// then RDRAND, then timestamp-counter jitter run through a mixer.
enum Entropy {
    enum Source { case rdseed, rdrand, jitter }

    static func configure(_ features: CPUFeatures) {
        Machine.state.entropySource = features.rdseed ? .rdseed : features.rdrand ? .rdrand : .jitter
        if Machine.state.entropySource == .jitter { gatherJitter(rounds: 256) }
    }

    static var sourceName: StaticString {
        switch Machine.state.entropySource {
        case .rdseed: return "rdseed"
        case .rdrand: return "rdrand"
        case .jitter: return "tsc-jitter"
        }
    }

    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        fillBytes(buffer) { word() }
    }

    static func word() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<10 {
            switch Machine.state.entropySource {
            case .rdseed: if rdseed64(&value) { return value }
            case .rdrand: if rdrand64(&value) { return value }
            case .jitter: break
            }
        }
        gatherJitter(rounds: 8)
        return Machine.state.entropyMixer.next()
    }

    /// Timing of port reads varies with emulation and cache state; the low
    /// bits of each delta carry a little unpredictability.
    private static func gatherJitter(rounds: Int) {
        var previous = rdtsc()
        for _ in 0..<rounds {
            _ = inb(0x80)
            let now = rdtsc()
            Machine.state.entropyMixer.mix(now &- previous)
            Machine.state.entropyMixer.mix(now)
            previous = now
        }
    }
}
