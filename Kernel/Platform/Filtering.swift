/// The console side of the appliance's firewall (compiled from its rule
/// file into `ApplianceFirewall`): its match log and the `rules` command.
enum Filtering {
    static func start(_ firewall: Firewall?) {
        guard let firewall else {
            console.line("firewall: none (every packet passes)")
            return
        }
        firewall.onLog = { record in
            console.beginLine()
            console.write("firewall: ")
            console.write(bytes: ApplianceFirewall.table.name(Int(record.rule)))
            console.write(" ")
            console.write(record.rateLimited ? "rate-limited" : record.action.name)
            console.write(" ")
            writePacket(record.packet)
            console.newline()
        }
        console.write("firewall: ")
        console.write(decimal: firewall.rules.count)
        console.write(" rules; default policy in: ")
        for role in InterfaceRole.allCases {
            console.write(role.name)
            console.write(" ")
            console.write(firewall.policies[role.rawValue].name)
            console.write(role == .private ? "\n" : ", ")
        }
    }

    private static func writePacket(_ packet: FirewallPacket) {
        console.write(packet.direction.name)
        console.write(" on ")
        console.write(packet.interface.name)
        console.write(" ")
        switch packet.protocolNumber {
        case IPv4Packet.ProtocolNumber.tcp: console.write("tcp ")
        case IPv4Packet.ProtocolNumber.udp: console.write("udp ")
        case IPv4Packet.ProtocolNumber.icmp: console.write("icmp ")
        default:
            console.write("proto ")
            console.write(decimal: UInt64(packet.protocolNumber))
            console.write(" ")
        }
        IPv4Address(value: packet.source).write(to: &console)
        writePort(packet)
        console.write(" -> ")
        IPv4Address(value: packet.destination).write(to: &console)
        if packet.protocolNumber == IPv4Packet.ProtocolNumber.tcp || packet.protocolNumber == IPv4Packet.ProtocolNumber.udp {
            console.write(":")
            console.write(decimal: UInt64(packet.destinationPort))
        } else if packet.protocolNumber == IPv4Packet.ProtocolNumber.icmp {
            console.write(" type ")
            console.write(decimal: UInt64(packet.icmpType))
        }
        console.write(" ")
        console.write(packet.state.name)
    }

    private static func writePort(_ packet: FirewallPacket) {
        guard packet.protocolNumber == IPv4Packet.ProtocolNumber.tcp || packet.protocolNumber == IPv4Packet.ProtocolNumber.udp
        else { return }
        console.write(":")
        console.write(decimal: UInt64(packet.sourcePort))
    }

    /// `rules`: each rule's counters, then the default policies and the invalid count.
    static func writeRules(_ firewall: Firewall?) {
        guard let firewall else {
            console.line("no firewall (this image was built without a rule file)")
            return
        }
        let now = Clock.now()
        console.line("rule                              action      packets        bytes  limited  last hit")
        for index in firewall.rules.indices {
            let counters = firewall.ruleCounters[index]
            let name = ApplianceFirewall.table.name(index)
            console.write(bytes: name)
            console.write(spaces: max(1, 34 - name.count))
            let action = firewall.rules[index].action.name
            console.write(action)
            console.write(spaces: 6 - action.utf8CodeUnitCount)
            console.write(decimal: counters.packets, width: 13)
            console.write(decimal: counters.bytes, width: 13)
            console.write(decimal: counters.rateLimited, width: 9)
            console.write("  ")
            if let hit = counters.lastHit {
                console.write(decimal: now.since(hit).milliseconds / 1000)
                console.line(" s ago")
            } else {
                console.line("never")
            }
        }
        for direction in TrafficDirection.allCases {
            for role in InterfaceRole.allCases {
                let index = PolicyKey(direction, role).index
                let counters = firewall.policyCounters[index]
                console.write("policy ")
                console.write(direction.name)
                console.write(" on ")
                console.write(role.name)
                console.write(spaces: (direction == .inbound ? 23 : 22) - role.name.utf8CodeUnitCount)
                let action = firewall.policies[index].name
                console.write(action)
                console.write(spaces: 6 - action.utf8CodeUnitCount)
                console.write(decimal: counters.packets, width: 13)
                console.write(decimal: counters.bytes, width: 13)
                console.newline()
            }
        }
        console.write("invalid (unparseable) packets: ")
        console.write(decimal: firewall.invalidPackets)
        console.write(", log lines suppressed: ")
        console.write(decimal: firewall.logsSuppressed)
        console.newline()
    }
}
