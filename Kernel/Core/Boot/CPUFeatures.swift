/// The processor's identity and the features the kernel cares about, decoded
/// from raw CPUID registers.
public struct CPUFeatures: Sendable {
    public struct Registers: Sendable {
        public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
        public init(eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) {
            self.eax = eax
            self.ebx = ebx
            self.ecx = ecx
            self.edx = edx
        }
    }

    public var vendor: [UInt8] = []
    public var brand: [UInt8] = []
    public var sse2 = false, sse3 = false, ssse3 = false, sse41 = false, sse42 = false
    public var popcnt = false, avx = false, avx2 = false
    public var rdrand = false, rdseed = false
    public var hypervisor = false, invariantTSC = false, x2apic = false

    public init() {}

    /// Decodes the leaves the kernel reads. `query(leaf, subleaf)` runs CPUID.
    public init(query: (UInt32, UInt32) -> Registers) {
        let leaf0 = query(0, 0)
        vendor = CPUFeatures.bytes(leaf0.ebx) + CPUFeatures.bytes(leaf0.edx) + CPUFeatures.bytes(leaf0.ecx)
        if leaf0.eax >= 1 {
            let leaf1 = query(1, 0)
            sse2 = leaf1.edx & (1 << 26) != 0
            sse3 = leaf1.ecx & (1 << 0) != 0
            ssse3 = leaf1.ecx & (1 << 9) != 0
            sse41 = leaf1.ecx & (1 << 19) != 0
            sse42 = leaf1.ecx & (1 << 20) != 0
            x2apic = leaf1.ecx & (1 << 21) != 0
            popcnt = leaf1.ecx & (1 << 23) != 0
            avx = leaf1.ecx & (1 << 28) != 0
            rdrand = leaf1.ecx & (1 << 30) != 0
            hypervisor = leaf1.ecx & (1 << 31) != 0
        }
        if leaf0.eax >= 7 {
            let leaf7 = query(7, 0)
            avx2 = leaf7.ebx & (1 << 5) != 0
            rdseed = leaf7.ebx & (1 << 18) != 0
        }
        let extended = query(0x8000_0000, 0).eax
        if extended >= 0x8000_0004 {
            var text: [UInt8] = []
            for leaf in UInt32(0x8000_0002)...0x8000_0004 {
                let registers = query(leaf, 0)
                text += CPUFeatures.bytes(registers.eax) + CPUFeatures.bytes(registers.ebx)
                text += CPUFeatures.bytes(registers.ecx) + CPUFeatures.bytes(registers.edx)
            }
            brand = CPUFeatures.trimmed(text)
        }
        if extended >= 0x8000_0007 {
            invariantTSC = query(0x8000_0007, 0).edx & (1 << 8) != 0
        }
    }

    /// Writes the names of the features present, space separated.
    public func writeFlags<Sink: TextSink>(to sink: inout Sink) {
        var first = true
        func flag(_ present: Bool, _ name: StaticString) {
            guard present else { return }
            if !first { sink.write(byte: 0x20) }
            sink.write(name)
            first = false
        }
        flag(sse2, "sse2")
        flag(sse3, "sse3")
        flag(ssse3, "ssse3")
        flag(sse41, "sse4.1")
        flag(sse42, "sse4.2")
        flag(popcnt, "popcnt")
        flag(avx, "avx")
        flag(avx2, "avx2")
        flag(rdrand, "rdrand")
        flag(rdseed, "rdseed")
        flag(x2apic, "x2apic")
        flag(invariantTSC, "invariant-tsc")
        flag(hypervisor, "hypervisor")
        if first { sink.write("none") }
    }

    static func bytes(_ register: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: register), UInt8(truncatingIfNeeded: register >> 8),
         UInt8(truncatingIfNeeded: register >> 16), UInt8(truncatingIfNeeded: register >> 24)]
    }

    /// Drops NULs and leading, trailing and repeated spaces.
    static func trimmed(_ text: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var pendingSpace = false
        for byte in text where byte != 0 {
            if byte == 0x20 {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace { result.append(0x20) }
            pendingSpace = false
            result.append(byte)
        }
        return result
    }
}
