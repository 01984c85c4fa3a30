/// How the front ends group a NIC's counters: traffic (packets and bytes
/// each way) gets a Prometheus family of its own; frames lost and device
/// errors are reported under `skerry_nic_drops_total` by their names.
extension DeviceCounter {
    public enum Kind: Sendable { case traffic, drop, error }

    public var kind: Kind {
        switch self {
        case .rxPackets, .rxBytes, .txPackets, .txBytes: return .traffic
        case .rxDropsNoBuffer, .rxDropsBadFrame, .txDropsRingFull: return .drop
        case .errors: return .error
        }
    }

    /// The Prometheus family and help of a traffic counter; nil for a drop.
    public var trafficFamily: (name: StaticString, help: StaticString)? {
        switch self {
        case .rxPackets: return ("skerry_nic_receive_packets_total", "Packets received by the NIC.")
        case .rxBytes: return ("skerry_nic_receive_bytes_total", "Bytes received by the NIC.")
        case .txPackets: return ("skerry_nic_transmit_packets_total", "Packets sent by the NIC.")
        case .txBytes: return ("skerry_nic_transmit_bytes_total", "Bytes sent by the NIC.")
        case .rxDropsNoBuffer, .rxDropsBadFrame, .txDropsRingFull, .errors: return nil
        }
    }

    /// A frame lost or a device error, rather than traffic counted.
    public var isDrop: Bool { kind != .traffic }
}

extension CounterSet where Key == DeviceCounter {
    /// Every frame the driver lost and every device error.
    public var drops: UInt64 {
        var sum: UInt64 = 0
        forEach { key, value in if key.isDrop { sum &+= value } }
        return sum
    }
}
