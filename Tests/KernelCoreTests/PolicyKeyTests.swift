import Testing
@testable import KernelCore

@Suite struct PolicyKeyTests {
    @Test func everyDirectionAndRoleHasOneKeyAndOneSlot() {
        var seen: [Int] = []
        for direction in TrafficDirection.allCases {
            for role in InterfaceRole.allCases {
                let key = PolicyKey(direction, role)
                #expect(key.direction == direction && key.role == role)
                seen.append(key.index)
            }
        }
        #expect(seen.sorted() == Array(0..<PolicyKey.allCases.count), "the slots are dense and distinct")
        #expect(PolicyKey.allCases.count == TrafficDirection.allCases.count * InterfaceRole.allCases.count)
        #expect(PolicyKey.allCases.map(\.index) == Array(0..<6), "allCases in slot order")
    }

    /// The names `skerry stats` and the dashboard print.
    @Test func namesAreDirectionThenRole() {
        let names = PolicyKey.allCases.map { "\($0.name)" }
        #expect(names == ["in admin", "in public", "in private", "out admin", "out public", "out private"])
        for key in PolicyKey.allCases {
            #expect("\(key.name)" == "\(key.direction.name) \(key.role.name)")
            #expect(PolicyKey(name: "\(key.name)") == key)
        }
        #expect(PolicyKey(name: "in elsewhere") == nil)
    }

    @Test func aPacketFallsInItsDirectionAndInterfacesSlot() {
        for key in PolicyKey.allCases {
            let packet = FirewallPacket(direction: key.direction, interface: key.role, protocolNumber: 6, source: 1, destination: 2)
            #expect(packet.policyKey == key && packet.policyIndex == key.index)
        }
    }

    /// Each policy lands in its own slot and only that slot's counters move.
    @Test func theFirewallKeepsPoliciesAndCountersBySlot() {
        let actions: [FirewallAction] = [.drop, .reject, .accept, .reject, .drop, .drop]
        let policies = PolicyKey.allCases.reversed().map { FirewallPolicy($0.direction, $0.role, actions[$0.index]) }
        let firewall = Firewall(rules: [], policies: policies) { _ in -1 }
        for key in PolicyKey.allCases {
            #expect(firewall.policy(key) == actions[key.index], "\(key.name)")
            #expect(policies.first { $0.key == key }?.action == actions[key.index])
        }
        let key = PolicyKey.outboundPublic
        let packet = FirewallPacket(direction: key.direction, interface: key.role, protocolNumber: 17, source: 1, destination: 2,
                                    length: 77)
        #expect(firewall.evaluate(packet, now: .zero).action == .drop)
        for other in PolicyKey.allCases {
            let counters = firewall.policyCounters(for: other)
            #expect(counters.packets == (other == key ? 1 : 0) && counters.bytes == (other == key ? 77 : 0), "\(other.name)")
        }
    }
}
