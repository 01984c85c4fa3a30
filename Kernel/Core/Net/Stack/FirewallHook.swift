/// The firewall on a stack's hook chains: it filters every packet received
/// (inbound chain) and sent (outbound chain), and counts its verdicts in
/// the stack's counters. Register it first on both chains, so nothing
/// sees a packet the firewall refuses.
public final class FirewallHook: InboundHook, OutboundHook {
    public let firewall: Firewall

    public init(_ firewall: Firewall) {
        self.firewall = firewall
    }

    public func inbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack,
                        now: Instant) -> HookVerdict {
        stack.admitInbound(packet, on: interface, firewall: firewall, now: now) ? .pass : .drop
    }

    public func outbound(_ buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack, now: Instant)
        -> HookVerdict
    {
        stack.admitOutbound(buffer, on: interface, firewall: firewall, now: now) ? .pass : .drop
    }
}

extension NetworkStack {
    /// Puts `firewall` on both chains.
    public func install(_ firewall: FirewallHook) {
        inbound.append(firewall)
        outbound.append(firewall)
    }
}
