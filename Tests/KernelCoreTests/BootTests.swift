import Testing
@testable import KernelCore

@Suite struct HeapPlacementTests {
    @Test func picksTheLargestAvailableStretchAboveTheFloor() {
        var placement = HeapPlacement(reservedBelow: 0x20_0000, mappedBelow: 4 << 30)
        placement.consider(MemoryRegion(base: 0, length: 0x9_FC00, multibootType: 1))
        placement.consider(MemoryRegion(base: 0xF_0000, length: 0x1_0000, multibootType: 2))
        placement.consider(MemoryRegion(base: 0x10_0000, length: 0x7EE_0000, multibootType: 1))
        placement.consider(MemoryRegion(base: 0x7FE_0000, length: 0x2_0000, multibootType: 3))
        let best = placement.best
        #expect(best?.start == 0x20_0000)
        #expect(best?.end == 0x7FE_0000)
        #expect(placement.availableBytes == 0x9_FC00 + 0x7EE_0000)
    }

    @Test func clampsToTheIdentityMapAndAlignsToPages() {
        var placement = HeapPlacement(reservedBelow: 0x12_3456, mappedBelow: 1 << 32)
        placement.consider(MemoryRegion(base: 0x10_0000, length: 0x1000_0000, multibootType: 1))
        placement.consider(MemoryRegion(base: 1 << 32, length: 8 << 30, multibootType: 1))
        #expect(placement.best?.start == 0x12_4000)
        #expect(placement.best?.end == 0x1010_0000, "memory above 4 GiB is not mapped, however large")
    }

    @Test func nothingUsableGivesNoPlacement() {
        var placement = HeapPlacement(reservedBelow: 1 << 30, mappedBelow: 4 << 30)
        placement.consider(MemoryRegion(base: 0, length: 1 << 29, multibootType: 1))
        placement.consider(MemoryRegion(base: 1 << 30, length: 1 << 29, multibootType: 5))
        #expect(placement.best == nil)
    }
}

@Suite struct CPUFeaturesTests {
    private static func registers(_ text: String) -> [UInt32] {
        let bytes = Array(text.utf8) + Array(repeating: 0, count: 48)
        return stride(from: 0, to: 48, by: 4).map { (index: Int) -> UInt32 in
            var word: UInt32 = 0
            for offset in 0..<4 { word |= UInt32(bytes[index + offset]) << UInt32(offset * 8) }
            return word
        }
    }

    @Test func decodesVendorBrandAndFlags() {
        let brand = Self.registers("  Test CPU   @ 3.00GHz  ")
        let features = CPUFeatures { leaf, _ in
            switch leaf {
            case 0:
                let vendor = Self.registers("GenuineIntel")
                return .init(eax: 7, ebx: vendor[0], ecx: vendor[2], edx: vendor[1])
            case 1: return .init(ecx: 1 << 30 | 1 << 31 | 1 << 20, edx: 1 << 26)
            case 7: return .init(ebx: 1 << 18)
            case 0x8000_0000: return .init(eax: 0x8000_0007)
            case 0x8000_0002...0x8000_0004:
                let base = Int(leaf - 0x8000_0002) * 4
                return .init(eax: brand[base], ebx: brand[base + 1], ecx: brand[base + 2], edx: brand[base + 3])
            case 0x8000_0007: return .init(edx: 1 << 8)
            default: return .init()
            }
        }
        #expect(String(decoding: features.vendor, as: UTF8.self) == "GenuineIntel")
        #expect(String(decoding: features.brand, as: UTF8.self) == "Test CPU @ 3.00GHz")
        var flags = ByteText()
        features.writeFlags(to: &flags)
        #expect(String(decoding: flags.bytes, as: UTF8.self) == "sse2 sse4.2 rdrand rdseed invariant-tsc hypervisor")
    }

    @Test func aMinimalCPUHasNoFlags() {
        let features = CPUFeatures { _, _ in .init() }
        var flags = ByteText()
        features.writeFlags(to: &flags)
        #expect(String(decoding: flags.bytes, as: UTF8.self) == "none")
        #expect(features.brand.isEmpty)
    }
}

@Suite struct EntropyTests {
    @Test func fillsEveryByteOfOddSizedBuffers() {
        var mixer = EntropyMixer(seed: 1)
        var buffer = [UInt8](repeating: 0, count: 37)
        buffer.withUnsafeMutableBytes { fillBytes($0) { mixer.next() } }
        #expect(buffer.suffix(5).contains { $0 != 0 })
        #expect(Set(buffer).count > 20)
    }

    @Test func samplesChangeTheStream() {
        var a = EntropyMixer(seed: 1)
        var b = EntropyMixer(seed: 1)
        b.mix(1)
        #expect(a.next() != b.next())
        var c = EntropyMixer(seed: 1)
        var d = EntropyMixer(seed: 1)
        #expect(c.next() == d.next(), "the mixer is deterministic for equal inputs")
    }
}
