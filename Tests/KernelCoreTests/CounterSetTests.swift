import Testing
@testable import KernelCore

/// Every counter key the core defines, checked the same way.
@Suite struct CounterSetTests {
    static func check<Key: CounterKey & CaseIterable>(_: Key.Type) {
        let names = Key.allCases.map { $0.name.description }
        #expect(Key.caseCount == Key.allCases.count)
        #expect(CounterSet<Key>.count <= CounterSet<Key>.capacity)
        #expect(Set(names).count == names.count, "duplicate names in \(Key.self): \(names)")
        for name in names {
            #expect(!name.isEmpty && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }, "\(name) is not kebab-case")
        }
        for key in Key.allCases { #expect(Key(name: key.name.description) == key) }
        #expect(Key(name: "no-such-counter") == nil)
    }

    @Test func everyKeyHasUniqueKebabCaseNames() {
        Self.check(StackCounter.self)
        Self.check(TCPCounter.self)
        Self.check(DeviceCounter.self)
        Self.check(BalancerCounter.self)
        Self.check(ConntrackCounter.self)
        Self.check(TelemetryCounter.self)
        Self.check(TrafficStatistic.self)
    }

    @Test func countersAreIndependentAndIteratedInDeclarationOrder() {
        var set = CounterSet<TCPCounter>()
        for (offset, key) in TCPCounter.allCases.enumerated() { set[key] += UInt64(offset + 1) }
        var seen: [(TCPCounter, UInt64)] = []
        set.forEach { seen.append(($0, $1)) }
        #expect(seen.map(\.0) == TCPCounter.allCases)
        #expect(seen.map(\.1) == (1...TCPCounter.allCases.count).map(UInt64.init))
        #expect(set.total == UInt64(TCPCounter.allCases.count * (TCPCounter.allCases.count + 1) / 2))
        #expect(CounterSet<TCPCounter>.name(0).description == TCPCounter(rawValue: 0)!.name.description)
        #expect(set.value(TCPCounter.allCases.count) == 0, "past the last key reads as zero")
    }

    @Test func equalityComparesEveryCounter() {
        var a = CounterSet<StackCounter>(), b = CounterSet<StackCounter>()
        #expect(a == b)
        a[.txMartian] += 1
        #expect(a != b)
        b[.txMartian] += 1
        #expect(a == b)
    }
}
