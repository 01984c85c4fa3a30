/// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table
/// of prime size filled from each backend's own permutation of the slots,
/// so that a backend leaving hands its slots to the others and disturbs
/// theirs only slightly.
public struct MaglevTable: Sendable {
    /// A backend as the table sees it: a stable identity and a weight.
    public struct Member: Sendable {
        public var key: UInt64
        public var weight: Int
        public init(key: UInt64, weight: Int = 1) {
            self.key = key
            self.weight = weight
        }
    }

    public static let defaultSize = 65_537
    /// For each slot, the index into the members it was built from (-1: none).
    public private(set) var slots: [Int32]

    public init(members: [Member], size: Int = MaglevTable.defaultSize) {
        slots = Array(repeating: -1, count: size)
        let live = members.indices.filter { members[$0].weight > 0 }
        guard !live.isEmpty else { return }
        let tableSize = UInt64(size)
        var offsets: [UInt64] = []
        var skips: [UInt64] = []
        for index in live {
            offsets.append(MaglevTable.mix(members[index].key ^ 0x5171_5EED_0FF5_E7) % tableSize)
            skips.append(MaglevTable.mix(members[index].key ^ 0x5C1B_0000_BEEF) % (tableSize - 1) + 1)
        }
        let maximumWeight = live.map { members[$0].weight }.max() ?? 1
        var next = Array(repeating: UInt64(0), count: live.count)
        var credit = Array(repeating: 0, count: live.count)
        var filled = 0
        while true {
            for position in live.indices {
                // Weighted: a member takes a turn only as often as its weight allows.
                credit[position] += members[live[position]].weight
                guard credit[position] >= maximumWeight else { continue }
                credit[position] -= maximumWeight
                var slot = (offsets[position] &+ next[position] &* skips[position]) % tableSize
                while slots[Int(slot)] >= 0 {
                    next[position] += 1
                    slot = (offsets[position] &+ next[position] &* skips[position]) % tableSize
                }
                slots[Int(slot)] = Int32(live[position])
                next[position] += 1
                filled += 1
                if filled == size { return }
            }
        }
    }

    /// The member for a flow hash, or nil when the table is empty.
    @inline(__always)
    public func lookup(_ hash: UInt64) -> Int? {
        let member = slots[Int(hash % UInt64(slots.count))]
        return member < 0 ? nil : Int(member)
    }

    /// The first member from a flow hash's slot onward that `accepts`
    /// takes, or nil when none does: a flow whose member is excluded goes
    /// to the owner of the next slots, the same one every time.
    @inline(__always)
    public func lookup(_ hash: UInt64, accepting accepts: (Int) -> Bool) -> Int? {
        let start = Int(hash % UInt64(slots.count))
        for offset in 0..<slots.count {
            var slot = start + offset
            if slot >= slots.count { slot -= slots.count }
            let member = slots[slot]
            if member >= 0 && accepts(Int(member)) { return Int(member) }
        }
        return nil
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
