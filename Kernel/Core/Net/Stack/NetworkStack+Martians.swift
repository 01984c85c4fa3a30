/// Addresses the stack never answers and never sends to (RFC 1122
/// §3.2.1.3): the martian ranges, the broadcast addresses of its own
/// networks, and, as a source arriving from outside, its own addresses.
///
/// Inbound screening runs before the firewall, the balancer and every
/// protocol, so nothing downstream can answer such a packet. The outbound
/// check on every send path makes the same guarantee for whatever produced
/// the packet: TCP resets, ICMP errors, echo replies, balancer forwards.
extension NetworkStack {
    /// Whether a received packet's addresses may be processed; if not, it
    /// has been counted and the caller drops it.
    func admitAddresses(source: IPv4Address, destination: IPv4Address) -> Bool {
        if source.isMartian || isBroadcastOfOurNetworks(source) {
            counters[.ipv4MartianSource] += 1
            return false
        }
        if isOurAddress(source) {
            counters[.ipv4OwnSource] += 1
            return false
        }
        if destination.isMartian {
            counters[.ipv4MartianDestination] += 1
            return false
        }
        if isBroadcastOfOurNetworks(destination) {
            counters[.ipv4BroadcastDestination] += 1
            return false
        }
        return true
    }

    /// Whether a packet from `source` to `destination` may leave the
    /// appliance; if not, it has been counted and the caller drops it.
    func mayTransmit(source: IPv4Address, destination: IPv4Address) -> Bool {
        if source.isMartian || isBroadcastOfOurNetworks(source) || destination.isMartian
            || isBroadcastOfOurNetworks(destination) || isOurAddress(destination)
        {
            counters[.txMartian] += 1
            return false
        }
        return true
    }

    /// One of the appliance's interface addresses.
    func isOurAddress(_ address: IPv4Address) -> Bool {
        interfaces.contains { $0.address == address }
    }

    /// The directed broadcast (or all-zeros host) of a network the appliance is on.
    func isBroadcastOfOurNetworks(_ address: IPv4Address) -> Bool {
        interfaces.contains { $0.configuration.address.isBroadcast(address) }
    }
}
