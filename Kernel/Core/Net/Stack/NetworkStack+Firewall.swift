/// The firewall's view of the stack's packets: the fields rules match,
/// the connection state read from the flows the stack tracks, and what
/// the verdicts do.
extension NetworkStack {
    /// Filters a received packet. Returns true if it may continue; otherwise
    /// it has been dropped or rejected and counted (the caller still owns the buffer).
    func admitInbound(_ packet: IPv4Packet, on interface: NetworkInterface, firewall: Firewall, now: Instant) -> Bool {
        guard let fields = firewallPacket(packet.bytes, direction: .inbound, on: interface) else {
            firewall.countInvalid()
            counters[.firewallInvalid] += 1
            return false
        }
        let decision = firewall.evaluate(fields, now: now)
        switch decision.action {
        case .accept:
            return true
        case .drop:
            counters[.firewallDropped] += 1
        case .reject:
            counters[.firewallRejected] += 1
            reject(packet, fields, on: interface, now: now)
        }
        return false
    }

    /// Filters a packet about to leave `interface` (forwarded or originated
    /// here). Outbound, reject acts as drop.
    func admitOutbound(_ buffer: PacketBuffer, on interface: NetworkInterface, firewall: Firewall, now: Instant) -> Bool {
        let packet = buffer.frame.slice(EthernetFrame.headerLength, buffer.length)
        guard let fields = firewallPacket(packet, direction: .outbound, on: interface) else {
            firewall.countInvalid()
            counters[.firewallInvalid] += 1
            return false
        }
        guard firewall.evaluate(fields, now: now).action == .accept else {
            counters[.firewallDropped] += 1
            return false
        }
        return true
    }

    private func reject(_ packet: IPv4Packet, _ fields: FirewallPacket, on interface: NetworkInterface, now: Instant) {
        switch fields.protocolNumber {
        case IPv4Packet.ProtocolNumber.tcp:
            tcp.refuse(packet.payload, source: packet.source, destination: packet.destination, now: now)
        case IPv4Packet.ProtocolNumber.icmp where ICMPv4Message.MessageType.isError(fields.icmpType):
            break  // never an error about an error
        default:
            sendUnreachable(code: ICMPv4Message.UnreachableCode.administrativelyProhibited, about: packet, on: interface, now: now)
        }
    }

    /// The match fields of the IPv4 packet in `bytes`, or nil if its
    /// transport header is cut short.
    func firewallPacket(_ bytes: UnsafeMutableRawBufferPointer, direction: TrafficDirection, on interface: NetworkInterface)
        -> FirewallPacket?
    {
        guard let ip = try? IPv4Packet(parsing: bytes) else { return nil }
        var fields = FirewallPacket(
            direction: direction, interface: interface.role, protocolNumber: ip.protocolNumber, source: ip.source.value,
            destination: ip.destination.value, length: bytes.count)
        let inbound = direction == .inbound
        switch fields.protocolNumber {
        case IPv4Packet.ProtocolNumber.tcp:
            // The TCP layer judges the data offset and options; rules need the ports and flags.
            guard let segment = try? TCPFixedHeader(parsing: ip.payload) else { return nil }
            fields.sourcePort = segment.sourcePort
            fields.destinationPort = segment.destinationPort
            let flags = segment.flags
            fields.state = inbound ? inboundTCPState(fields, flags: flags, on: interface) : outboundTCPState(flags: flags)
        case IPv4Packet.ProtocolNumber.udp:
            // A whole header, though its length field is left to the UDP layer to judge.
            guard ip.payload.count >= UDPDatagram.headerLength, let ports = try? TransportPorts(parsing: ip.payload) else {
                return nil
            }
            fields.sourcePort = ports.source
            fields.destinationPort = ports.destination
            fields.state = inbound ? .new : .established
        case IPv4Packet.ProtocolNumber.icmp:
            guard let message = try? ICMPv4Message(parsing: ip.payload) else { return nil }
            fields.icmpType = message.type
            fields.state = inbound ? inboundICMPState(message, on: interface) : outboundICMPState(type: fields.icmpType)
        default:
            fields.state = inbound ? .new : .established
        }
        return fields
    }

    private func outboundTCPState(flags: TCPSegment.Flags) -> ConnectionState {
        flags.intersection([.syn, .ack]) == .syn ? .new : .established
    }

    private func outboundICMPState(type: UInt8) -> ConnectionState {
        if ICMPv4Message.MessageType.isError(type) { return .related }
        return type == ICMPv4Message.MessageType.echoRequest ? .new : .established
    }

    private func inboundTCPState(_ fields: FirewallPacket, flags: TCPSegment.Flags, on interface: NetworkInterface)
        -> ConnectionState
    {
        let handshake = flags.intersection([.syn, .ack, .rst])
        if handshake == .syn { return .new }
        let source = IPv4Address(value: fields.source)
        let destination = IPv4Address(value: fields.destination)
        if tracksTCP(local: destination, localPort: fields.destinationPort, remote: source, remotePort: fields.sourcePort,
                     on: interface) {
            return .established
        }
        // A bare ACK to a listening port may complete a SYN-cookie handshake.
        if handshake == .ack && tcp.isListening(port: fields.destinationPort, address: destination) {
            return .new
        }
        return .invalid
    }

    /// Whether a TCP flow between a local and a remote endpoint is tracked:
    /// a kernel connection, or a flow an inbound hook keeps (the balancer's, seen from either side).
    private func tracksTCP(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16,
                           on interface: NetworkInterface) -> Bool {
        if tcp.tracks(local: local, localPort: localPort, remote: remote, remotePort: remotePort) { return true }
        return hooksTrackTCP(local: local, localPort: localPort, remote: remote, remotePort: remotePort, on: interface)
    }

    /// Requests open flows; errors are related when they quote a packet of
    /// a flow the stack tracks; anything else claims a flow that is not there.
    private func inboundICMPState(_ message: ICMPv4Message, on interface: NetworkInterface) -> ConnectionState {
        let type = message.type
        if type == ICMPv4Message.MessageType.echoRequest || type == ICMPv4Message.MessageType.timestampRequest
            || type == ICMPv4Message.MessageType.routerSolicitation
        {
            return .new
        }
        guard ICMPv4Message.MessageType.isError(type) else { return .invalid }
        guard let quoted = try? message.quotedDatagram(), let ports = try? TransportPorts(parsing: quoted.payload) else {
            return .invalid
        }
        let ourSource = quoted.source
        guard ourSource == interface.address else { return .invalid }
        switch quoted.protocolNumber {
        case IPv4Packet.ProtocolNumber.tcp:
            let tracked = tracksTCP(local: ourSource, localPort: ports.source, remote: quoted.destination,
                                    remotePort: ports.destination, on: interface)
            return tracked ? .related : .invalid
        default:
            // UDP and ICMP are not tracked: an error about a datagram this address sent is related.
            return .related
        }
    }
}
