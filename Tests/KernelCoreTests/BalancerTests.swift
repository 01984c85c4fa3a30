import Testing
@testable import KernelCore

@Suite struct IncrementalChecksumTests {
    /// Rewriting addresses and ports incrementally gives the checksum a
    /// full recomputation gives.
    @Test(arguments: [31, 32, 33])
    func matchesFullRecomputation(seed: UInt64) {
        var random = SplitMix(state: seed)
        for _ in 0..<500 {
            var header = (0..<20).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            header[0] = 0x45
            var sum = InternetChecksum()
            header[10] = 0
            header[11] = 0
            header.withUnsafeBytes { sum.add($0) }
            let before = sum.value
            let oldAddress = UInt32(header[12]) << 24 | UInt32(header[13]) << 16 | UInt32(header[14]) << 8 | UInt32(header[15])
            let newAddress = UInt32(truncatingIfNeeded: random.next())
            for index in 0..<4 { header[12 + index] = UInt8(truncatingIfNeeded: newAddress >> UInt32(24 - 8 * index)) }
            var full = InternetChecksum()
            header.withUnsafeBytes { full.add($0) }
            let incremental = IncrementalChecksum.update(before, old: oldAddress, new: newAddress)
            // 0x0000 and 0xFFFF are the same value in ones' complement.
            #expect(incremental == full.value || (incremental == 0xFFFF && full.value == 0) || (incremental == 0 && full.value == 0xFFFF))
        }
    }
}

@Suite struct SchedulerTests {
    func candidates(_ weights: [Int], active: [Int]? = nil, eligible: [Bool]? = nil) -> [SchedulingCandidate] {
        weights.indices.map {
            SchedulingCandidate(weight: weights[$0], activeConnections: active?[$0] ?? 0, eligible: eligible?[$0] ?? true)
        }
    }

    @Test func roundRobinCyclesAndSkipsIneligibleBackends() {
        var scheduler = Scheduler(algorithm: .roundRobin, keys: [1, 2, 3])
        let picks = (0..<6).map { _ in scheduler.pick(candidates([1, 1, 1]), flowHash: 0)! }
        #expect(picks == [0, 1, 2, 0, 1, 2])
        let skipping = (0..<4).map { _ in scheduler.pick(candidates([1, 1, 1], eligible: [true, false, true]), flowHash: 0)! }
        #expect(!skipping.contains(1))
        #expect(scheduler.pick(candidates([1, 1], eligible: [false, false]), flowHash: 0) == nil)
    }

    @Test func smoothWeightedRoundRobinHonoursWeightsAndSpreadsPicks() {
        var scheduler = Scheduler(algorithm: .weightedRoundRobin, keys: [1, 2, 3])
        let picks = (0..<7).map { _ in scheduler.pick(candidates([5, 1, 1]), flowHash: 0)! }
        #expect(picks.filter { $0 == 0 }.count == 5 && picks.filter { $0 == 1 }.count == 1 && picks.filter { $0 == 2 }.count == 1)
        #expect(picks == [0, 0, 1, 0, 2, 0, 0], "smooth: the light backends are interleaved, not batched")
        var many = Scheduler(algorithm: .weightedRoundRobin, keys: [1, 2, 3])
        var counts = [0, 0, 0]
        for _ in 0..<600 { counts[many.pick(candidates([3, 2, 1]), flowHash: 0)!] += 1 }
        #expect(counts == [300, 200, 100])
    }

    @Test func leastConnectionsAndItsWeightedForm() {
        var least = Scheduler(algorithm: .leastConnections, keys: [1, 2, 3])
        #expect(least.pick(candidates([1, 1, 1], active: [4, 2, 3]), flowHash: 0) == 1)
        #expect(least.pick(candidates([1, 1, 1], active: [4, 2, 3], eligible: [true, false, true]), flowHash: 0) == 2)
        var weighted = Scheduler(algorithm: .weightedLeastConnections, keys: [1, 2])
        // 6 connections at weight 3 (2 per unit) beats 3 at weight 1.
        #expect(weighted.pick(candidates([3, 1], active: [6, 3]), flowHash: 0) == 0)
        #expect(weighted.pick(candidates([3, 1], active: [9, 2]), flowHash: 0) == 1)
    }

    @Test func sourceHashIsStablePerFlow() {
        var scheduler = Scheduler(algorithm: .sourceHash, keys: [11, 22, 33])
        var random = SplitMix(state: 5)
        for _ in 0..<200 {
            let flow = random.next()
            let first = scheduler.pick(candidates([1, 1, 1]), flowHash: flow)
            #expect(scheduler.pick(candidates([1, 1, 1]), flowHash: flow) == first)
        }
    }
}

@Suite struct MaglevTests {
    static let keys: [UInt64] = (1...10).map { MaglevTable.mix($0 * 7919) }

    @Test func spreadsSlotsEvenly() {
        let table = MaglevTable(members: Self.keys.map { MaglevTable.Member(key: $0) })
        var counts = Array(repeating: 0, count: Self.keys.count)
        for slot in table.slots { counts[Int(slot)] += 1 }
        let fair = Double(MaglevTable.defaultSize) / Double(Self.keys.count)
        for count in counts { #expect(abs(Double(count) - fair) / fair < 0.02, "\(counts)") }
    }

    @Test func weightsShareSlotsProportionally() {
        let table = MaglevTable(members: [MaglevTable.Member(key: 1, weight: 3), MaglevTable.Member(key: 2, weight: 1)])
        let first = table.slots.filter { $0 == 0 }.count
        #expect(abs(Double(first) / Double(table.slots.count) - 0.75) < 0.01)
    }

    /// The disruption bound: when one of ten backends leaves, all of its
    /// flows move, and at most 2% of everyone else's do.
    @Test func aLeavingBackendMovesItsOwnFlowsAndFewOthers() {
        let members = Self.keys.map { MaglevTable.Member(key: $0) }
        let before = MaglevTable(members: members)
        var without = members
        without[3].weight = 0
        let after = MaglevTable(members: without)
        var ownMoved = 0
        var othersMoved = 0
        var others = 0
        for slot in before.slots.indices {
            if before.slots[slot] == 3 {
                if after.slots[slot] != 3 { ownMoved += 1 }
            } else {
                others += 1
                if after.slots[slot] != before.slots[slot] { othersMoved += 1 }
            }
        }
        #expect(ownMoved == before.slots.filter { $0 == 3 }.count)
        #expect(!after.slots.contains(3))
        #expect(Double(othersMoved) / Double(others) < 0.02, "moved \(othersMoved) of \(others)")
    }

    @Test func anEmptyTableFindsNothing() {
        #expect(MaglevTable(members: []).lookup(42) == nil)
        #expect(MaglevTable(members: [MaglevTable.Member(key: 1, weight: 0)]).lookup(42) == nil)
    }
}
