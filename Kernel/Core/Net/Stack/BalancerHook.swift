/// The load balancer on a stack's inbound chain: packets on the public
/// interface are clients' (to service ports), on the private interface
/// backends' (to SNAT ports). It forwards what it rewrote, refuses or drops
/// what it must, and passes the rest on to local delivery. The admin
/// interface is never balanced.
public final class BalancerHook: InboundHook {
    public let balancer: LoadBalancer

    public init(_ balancer: LoadBalancer) {
        self.balancer = balancer
    }

    public func inbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack,
                        now: Instant) -> HookVerdict {
        let verdict: LoadBalancer.Verdict
        switch interface.role {
        case .admin: return .pass
        case .public: verdict = balancer.fromClient(packet.bytes, now: now)
        case .private:
            // The whole buffer from the IPv4 header: a refused SYN's answer may be replaced by the SYN for another backend.
            verdict = balancer.fromBackend(Self.room(buffer), now: now)
        }
        switch verdict {
        case .notOurs:
            return .pass
        case .drop:
            stack.counters[.balancerDrops] += 1
            return .drop
        case .refuse:
            stack.counters[.balancerRefused] += 1
            stack.tcp.refuse(packet.payload, source: packet.source, destination: packet.destination, now: now)
            return .drop
        case .forward(let target):
            stack.counters[.balancerForwarded] += 1
            stack.forward(buffer, packetLength: packet.totalLength, toward: target, now: now)
            return .consume
        case .send(let target, let length):
            stack.counters[.balancerForwarded] += 1
            stack.forward(buffer, packetLength: length, toward: target, now: now)
            return .consume
        }
    }

    /// Periodic work: flows whose backend left the SYN unanswered past the
    /// connect timeout go to the next backend (or the client gets a
    /// reset), each in a buffer from the stack's pool.
    public func tick(stack: NetworkStack, now: Instant) {
        while balancer.connectDue(now: now) {
            guard let buffer = stack.pool.take() else {
                stack.counters[.txNoBuffer] += 1
                return
            }
            guard let emission = balancer.expireConnect(now: now, into: Self.room(buffer)) else {
                return stack.pool.give(buffer)
            }
            buffer.length = EthernetFrame.headerLength + emission.length
            stack.counters[.balancerForwarded] += 1
            stack.forward(buffer, packetLength: emission.length, toward: emission.target, now: now)
        }
    }

    /// A buffer's room for an IPv4 packet, after the Ethernet header.
    private static func room(_ buffer: PacketBuffer) -> UnsafeMutableRawBufferPointer {
        buffer.frameCapacity.slice(EthernetFrame.headerLength, PacketBuffer.maximumFrameLength)
    }

    /// Balanced flows, seen from the client's side on the public interface
    /// and from the backend's on the private one.
    public func tracksTCP(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16,
                          on interface: NetworkInterface) -> Bool {
        guard local == interface.address else { return false }
        let tcpNumber = IPv4Packet.ProtocolNumber.tcp
        switch interface.role {
        case .public:
            return balancer.tracksClient(remote, port: remotePort, servicePort: localPort, protocolNumber: tcpNumber)
        case .private:
            return balancer.tracksBackend(remote, port: remotePort, snatPort: localPort, protocolNumber: tcpNumber)
        case .admin:
            return false
        }
    }
}
