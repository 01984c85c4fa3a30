/// Mixes weak samples (timestamp-counter jitter) into well-distributed
/// 64-bit words. Used only when the CPU has neither RDSEED nor RDRAND.
///
/// Each sample is folded into the state with a multiply-xorshift round (the
/// SplitMix64 finaliser), which spreads every input bit over the whole word,
/// so a few bits of real jitter per sample accumulate instead of cancelling.
public struct EntropyMixer: Sendable {
    private var state: UInt64

    public init(seed: UInt64 = 0x9E37_79B9_7F4A_7C15) { state = seed }

    public mutating func mix(_ sample: UInt64) {
        state = EntropyMixer.finalise(state ^ sample &+ 0x9E37_79B9_7F4A_7C15)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return EntropyMixer.finalise(state)
    }

    static func finalise(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fills `buffer` from a source of 64-bit words.
public func fillBytes(_ buffer: UnsafeMutableRawBufferPointer, from source: () -> UInt64) {
    var offset = 0
    while offset < buffer.count {
        var word = source()
        let take = Swift.min(8, buffer.count - offset)
        withUnsafeBytes(of: &word) { bytes in
            for index in 0..<take { buffer[offset + index] = bytes[index] }
        }
        offset += take
    }
}
