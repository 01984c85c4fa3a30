/// The appliance's IPv4 stack: Ethernet, ARP, IPv4, ICMP and UDP over the
/// interfaces it is given.
///
/// Receive work happens in `poll`, driven by the event loop; periodic work
/// (ARP retries and expiry) in `tick`. Frames arrive in pool buffers and go
/// back to the pool or out of a NIC; nothing on this path allocates.
public final class NetworkStack {
    public typealias UDPHandler = (UDPReceived) -> Void

    struct UDPBinding {
        var port: UInt16
        var roles: [InterfaceRole]
        var handler: UDPHandler
    }

    public let pool: PacketPool
    public let interfaces: [NetworkInterface]
    /// TCP endpoints on this stack's addresses.
    public let tcp: TCPLayer
    /// Hooks on every IPv4 packet addressed to an interface, before local delivery.
    public var inbound = InboundChain()
    /// Hooks on every IPv4 packet about to leave an interface.
    public var outbound = OutboundChain()
    private var lastNow = Instant.zero
    public internal(set) var counters = StackCounters()
    /// The interface whose gateway takes traffic for destinations no interface is on.
    public var defaultRoute: InterfaceRole? = .public
    public var onEvent: ((NetworkEvent) -> Void)?
    /// ICMP errors allowed per second (a token bucket), so the stack cannot
    /// be used to reflect a flood.
    public var icmpErrorRate: UInt64 = 100

    private var udpBindings: [UDPBinding] = []
    private var identification: UInt16 = 1
    private var icmpTokens: UInt64 = 100
    private var icmpRefilled = Instant.zero

    static let headerRoom = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength

    /// A forward reference from TCP's output back to this stack; it lives
    /// as long as the stack (the kernel's never ends).
    private final class Link {
        var stack: NetworkStack?
    }

    public init(
        pool: PacketPool, interfaces: [NetworkInterface], tcpConfiguration: TCPConfiguration = TCPConfiguration(),
        random: @escaping () -> UInt32 = { UInt32.random(in: 0...UInt32.max) }
    ) {
        let link = Link()
        self.pool = pool
        self.interfaces = interfaces
        tcp = TCPLayer(pool: pool, configuration: tcpConfiguration, random: random) { buffer, source, destination, length in
            link.stack?.sendTCP(buffer, source: source, destination: destination, length: length)
        }
        link.stack = self
    }

    private func sendTCP(_ buffer: PacketBuffer, source: IPv4Address, destination: IPv4Address, length: Int) {
        let interface = interfaces.first { $0.address == source }
        sendIPv4(buffer, protocolNumber: IPv4Packet.ProtocolNumber.tcp, source: source, destination: destination,
                 payloadLength: length, via: interface, now: lastNow)
    }

    /// The earliest moment `poll` has timer work (TCP retransmissions, delayed ACKs).
    public var nextDeadline: Instant? { tcp.nextDeadline }

    public func interface(_ role: InterfaceRole) -> NetworkInterface? {
        interfaces.first { $0.role == role }
    }

    /// Delivers datagrams to `port` on the given interfaces to `handler`.
    public func bindUDP(port: UInt16, on roles: [InterfaceRole], handler: @escaping UDPHandler) {
        udpBindings.append(UDPBinding(port: port, roles: roles, handler: handler))
    }

    // MARK: Receive

    /// Services every device and processes what arrived. Returns true if any frame was handled.
    public func poll(now: Instant) -> Bool {
        lastNow = now
        var worked = false
        for index in interfaces.indices {
            let interface = interfaces[index]
            interface.device.service()
            var budget = 64  // per interface per turn, so one busy NIC cannot starve the others
            while budget > 0, let buffer = interface.device.receive() {
                budget -= 1
                worked = true
                counters[.framesReceived] += 1
                process(buffer, on: interface, now: now)
            }
        }
        if let deadline = tcp.nextDeadline, deadline <= now {
            tcp.tick(now: now)
            worked = true
        }
        return worked
    }

    /// Handles one received frame; the buffer is released or reused.
    public func process(_ buffer: PacketBuffer, on interface: NetworkInterface, now: Instant) {
        guard let frame = try? EthernetFrame(parsing: buffer.frame) else {
            counters[.frameTruncated] += 1
            return pool.give(buffer)
        }
        let destination = frame.destination
        guard destination == interface.mac || destination.isBroadcast else {
            counters[.frameNotForUs] += 1
            return pool.give(buffer)
        }
        switch frame.etherType {
        case EthernetFrame.EtherType.arp:
            receiveARP(frame, buffer: buffer, on: interface, now: now)
        case EthernetFrame.EtherType.ipv4:
            receiveIPv4(frame, buffer: buffer, on: interface, now: now)
        default:
            counters[.frameUnknownType] += 1
            pool.give(buffer)
        }
    }

    private func receiveARP(_ frame: EthernetFrame, buffer: PacketBuffer, on interface: NetworkInterface, now: Instant) {
        guard let packet = try? ARPPacket(parsing: frame.payload) else {
            counters[.arpMalformed] += 1
            return pool.give(buffer)
        }
        let sender = packet.senderProtocol
        let senderHardware = packet.senderHardware
        // 0.0.0.0 is an address probe (RFC 5227), answered so the prober
        // sees the address is taken; any other martian sender is a lie.
        guard sender == .any || !sender.isMartian else {
            counters[.arpMartianSender] += 1
            return pool.give(buffer)
        }
        let forUs = packet.targetProtocol == interface.address
        // Learn from packets aimed at us, and refresh what we already know;
        // anything else would let any host on the segment fill the table.
        if sender != .any && (forUs || interface.arp.knows(sender)) {
            learn(sender, is: senderHardware, on: interface, now: now)
        }
        guard forUs, packet.operation == .request else {
            if packet.operation == .request { counters[.arpNotForUs] += 1 }
            return pool.give(buffer)
        }
        // Answer in place: the request buffer becomes the reply.
        buffer.length = EthernetFrame.headerLength + ARPPacket.length
        let bytes = buffer.frame
        EthernetFrame.emit(into: bytes, destination: senderHardware, source: interface.mac, etherType: EthernetFrame.EtherType.arp)
        ARPPacket.emit(
            into: bytes.slice(EthernetFrame.headerLength, bytes.count), operation: .reply,
            senderHardware: interface.mac, senderProtocol: interface.address,
            targetHardware: senderHardware, targetProtocol: sender)
        counters[.arpRepliesSent] += 1
        transmit(buffer, on: interface)
    }

    private func learn(_ address: IPv4Address, is hardware: MACAddress, on interface: NetworkInterface, now: Instant) {
        let released = interface.arp.learn(address, is: hardware, now: now)
        if address == interface.configuration.gateway && interface.gatewayHardware != hardware {
            interface.gatewayHardware = hardware
            onEvent?(.gatewayResolved(interface.role, address, hardware))
        }
        for buffer in released {
            let bytes = buffer.frame
            hardware.write(to: bytes, at: 0)
            transmit(buffer, on: interface)
        }
    }

    private func receiveIPv4(_ frame: EthernetFrame, buffer: PacketBuffer, on interface: NetworkInterface, now: Instant) {
        let packet: IPv4Packet
        do {
            packet = try IPv4Packet(parsing: frame.payload)
        } catch {
            if error == .truncated { counters[.ipv4Truncated] += 1 } else { counters[.ipv4Malformed] += 1 }
            return pool.give(buffer)
        }
        guard packet.checksumValid else {
            counters[.ipv4BadChecksum] += 1
            return pool.give(buffer)
        }
        guard admitAddresses(source: packet.source, destination: packet.destination) else {
            return pool.give(buffer)
        }
        guard packet.destination == interface.address else {
            counters[.ipv4NotForUs] += 1
            return pool.give(buffer)
        }
        guard packet.timeToLive > 0 else {
            counters[.ipv4TTLExpired] += 1
            return pool.give(buffer)
        }
        guard !packet.isFragment else {
            // No reassembly: every service here fits in one datagram.
            counters[.ipv4Fragments] += 1
            return pool.give(buffer)
        }
        if packet.hasOptions { counters[.ipv4OptionsSkipped] += 1 }
        switch runInbound(packet, buffer: buffer, on: interface, now: now) {
        case .pass: break
        case .consume: return
        case .drop: return pool.give(buffer)
        }
        switch packet.protocolNumber {
        case IPv4Packet.ProtocolNumber.icmp:
            receiveICMP(packet, buffer: buffer, on: interface, now: now)
        case IPv4Packet.ProtocolNumber.udp:
            receiveUDP(packet, buffer: buffer, on: interface, now: now)
        case IPv4Packet.ProtocolNumber.tcp:
            lastNow = now
            tcp.receive(packet.payload, source: packet.source, destination: packet.destination, now: now)
            pool.give(buffer)
        default:
            counters[.ipv4UnknownProtocol] += 1
            sendUnreachable(code: ICMPv4Message.UnreachableCode.protocol, about: packet, on: interface, now: now)
            pool.give(buffer)
        }
    }

    private func receiveICMP(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, now: Instant) {
        guard let message = try? ICMPv4Message(parsing: packet.payload) else {
            counters[.icmpTruncated] += 1
            return pool.give(buffer)
        }
        guard message.checksumValid else {
            counters[.icmpBadChecksum] += 1
            return pool.give(buffer)
        }
        guard message.type == ICMPv4Message.MessageType.echoRequest else {
            counters[.icmpUnsupported] += 1
            return pool.give(buffer)
        }
        // Reply in place, without the request's IP options.
        let icmpLength = message.bytes.count
        let bytes = buffer.frameCapacity
        let icmpStart = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength
        let oldStart = EthernetFrame.headerLength + packet.headerLength
        if oldStart != icmpStart {
            bytes.baseAddress!.advanced(by: icmpStart).copyMemory(
                from: bytes.baseAddress!.advanced(by: oldStart), byteCount: icmpLength)
        }
        let requester = packet.source
        buffer.length = icmpStart + icmpLength
        let reply = try! ICMPv4Message(parsing: bytes.slice(icmpStart, icmpStart + icmpLength))
        reply.makeEchoReply()
        counters[.icmpEchoReplies] += 1
        sendIPv4(buffer, protocolNumber: IPv4Packet.ProtocolNumber.icmp, source: interface.address, destination: requester,
                 payloadLength: icmpLength, via: interface, now: now)
    }

    private func receiveUDP(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, now: Instant) {
        let datagram: UDPDatagram
        do {
            datagram = try UDPDatagram(parsing: packet.payload)
        } catch {
            if error == .truncated { counters[.udpTruncated] += 1 } else { counters[.udpMalformed] += 1 }
            return pool.give(buffer)
        }
        guard datagram.checksumValid(source: packet.source, destination: packet.destination) else {
            counters[.udpBadChecksum] += 1
            return pool.give(buffer)
        }
        let port = datagram.destinationPort
        guard let binding = udpBindings.first(where: { $0.port == port && $0.roles.contains(interface.role) }) else {
            counters[.udpNoListener] += 1
            sendUnreachable(code: ICMPv4Message.UnreachableCode.port, about: packet, on: interface, now: now)
            return pool.give(buffer)
        }
        counters[.udpDelivered] += 1
        binding.handler(UDPReceived(
            interface: interface.role, source: packet.source, sourcePort: datagram.sourcePort,
            destination: packet.destination, destinationPort: port, payload: datagram.payload))
        pool.give(buffer)
    }

    // MARK: Hooks

    private func runInbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, now: Instant)
        -> HookVerdict
    {
        for index in inbound.hooks.indices {
            let verdict = inbound.hooks[index].inbound(packet, buffer: buffer, on: interface, stack: self, now: now)
            inbound.record(verdict, at: index)
            if verdict != .pass { return verdict }
        }
        return .pass
    }

    private func runOutbound(_ buffer: PacketBuffer, on interface: NetworkInterface, now: Instant) -> HookVerdict {
        for index in outbound.hooks.indices {
            let verdict = outbound.hooks[index].outbound(buffer, on: interface, stack: self, now: now)
            outbound.record(verdict, at: index)
            if verdict != .pass { return verdict }
        }
        return .pass
    }

    /// Whether an inbound hook keeps state for this TCP flow (a balanced flow, say).
    func hooksTrackTCP(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16,
                       on interface: NetworkInterface) -> Bool {
        inbound.hooks.contains {
            $0.tracksTCP(local: local, localPort: localPort, remote: remote, remotePort: remotePort, on: interface)
        }
    }

    // MARK: Send

    /// Sends `payload` as a UDP datagram. Returns false if it was dropped (and counted).
    @discardableResult
    public func sendUDP(
        from sourcePort: UInt16, to destination: IPv4Address, port destinationPort: UInt16,
        payload: UnsafeRawBufferPointer, now: Instant
    ) -> Bool {
        guard let (interface, _) = route(to: destination) else {
            counters[.noRoute] += 1
            return false
        }
        let udpStart = NetworkStack.headerRoom
        guard payload.count <= PacketBuffer.maximumFrameLength - udpStart - UDPDatagram.headerLength,
            payload.count <= 1500 - IPv4Packet.minimumHeaderLength - UDPDatagram.headerLength
        else {
            counters[.udpMalformed] += 1
            return false
        }
        guard let buffer = pool.take() else {
            counters[.txNoBuffer] += 1
            return false
        }
        let udpLength = UDPDatagram.headerLength + payload.count
        buffer.length = udpStart + udpLength
        let bytes = buffer.frame
        if let base = payload.baseAddress, payload.count > 0 {
            bytes.baseAddress!.advanced(by: udpStart + UDPDatagram.headerLength).copyMemory(from: base, byteCount: payload.count)
        }
        UDPDatagram.emit(
            into: bytes.slice(udpStart, bytes.count), sourcePort: sourcePort, destinationPort: destinationPort,
            payloadLength: payload.count, source: interface.address, destination: destination)
        return sendIPv4(buffer, protocolNumber: IPv4Packet.ProtocolNumber.udp, source: interface.address,
                        destination: destination, payloadLength: udpLength, via: interface, now: now)
    }

    /// The interface and next hop for `destination`: the interface whose
    /// network holds it (longest prefix wins), else the default route's gateway.
    public func route(to destination: IPv4Address) -> (NetworkInterface, IPv4Address)? {
        var best: NetworkInterface?
        for interface in interfaces where interface.configuration.address.contains(destination) {
            if best == nil || interface.configuration.address.prefixLength > best!.configuration.address.prefixLength {
                best = interface
            }
        }
        if let best { return (best, destination) }
        guard let role = defaultRoute, let interface = interface(role), let gateway = interface.configuration.gateway
        else { return nil }
        return (interface, gateway)
    }

    /// Fills the IPv4 and Ethernet headers in front of a payload already in
    /// place at offset 34 and sends it, resolving the next hop if needed.
    @discardableResult
    func sendIPv4(
        _ buffer: PacketBuffer, protocolNumber: UInt8, source: IPv4Address, destination: IPv4Address,
        payloadLength: Int, via preferred: NetworkInterface?, now: Instant
    ) -> Bool {
        guard mayTransmit(source: source, destination: destination) else {
            pool.give(buffer)
            return false
        }
        let routed: (NetworkInterface, IPv4Address)?
        if let preferred, preferred.configuration.address.contains(destination) {
            routed = (preferred, destination)
        } else {
            routed = route(to: destination)
        }
        guard let (interface, nextHop) = routed else {
            counters[.noRoute] += 1
            pool.give(buffer)
            return false
        }
        buffer.length = NetworkStack.headerRoom + payloadLength
        let bytes = buffer.frame
        identification &+= 1
        IPv4Packet.emit(
            into: bytes.slice(EthernetFrame.headerLength, bytes.count), source: source, destination: destination,
            protocolNumber: protocolNumber, payloadLength: payloadLength, identification: identification)
        return transmitFrame(buffer, to: nextHop, on: interface, now: now)
    }

    /// Sends a packet the balancer has rewritten in place: a new Ethernet
    /// header toward the next hop for `target`.
    func forward(_ buffer: PacketBuffer, packetLength: Int, toward target: IPv4Address, now: Instant) {
        let header = buffer.frame.slice(EthernetFrame.headerLength, EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength)
        guard mayTransmit(source: IPv4Address(value: header.u32(12)), destination: IPv4Address(value: header.u32(16))) else {
            return pool.give(buffer)
        }
        guard let (interface, nextHop) = route(to: target) else {
            counters[.noRoute] += 1
            return pool.give(buffer)
        }
        buffer.length = EthernetFrame.headerLength + packetLength
        transmitFrame(buffer, to: nextHop, on: interface, now: now)
    }

    /// Fills the Ethernet header of an IPv4 frame and sends it, or parks it
    /// until ARP resolves the next hop.
    @discardableResult
    private func transmitFrame(_ buffer: PacketBuffer, to nextHop: IPv4Address, on interface: NetworkInterface, now: Instant)
        -> Bool
    {
        switch runOutbound(buffer, on: interface, now: now) {
        case .pass: break
        case .consume: return true
        case .drop:
            pool.give(buffer)
            return false
        }
        let bytes = buffer.frame
        let hardware = interface.arp.lookup(nextHop, now: now)
        EthernetFrame.emit(
            into: bytes, destination: hardware ?? .zero, source: interface.mac, etherType: EthernetFrame.EtherType.ipv4)
        guard hardware == nil else { return transmit(buffer, on: interface) }
        switch interface.arp.enqueue(buffer, nextHop: nextHop, now: now) {
        case .queuedSendRequest:
            sendARPRequest(for: nextHop, on: interface)
        case .queued:
            break
        case .dropped:
            counters[.arpPendingOverflow] += 1
            pool.give(buffer)
            return false
        }
        return true
    }

    /// Destination unreachable for `packet`, quoting its header and first 8
    /// payload bytes. Every ICMP error the stack generates comes through
    /// here, so the rate limit covers them all.
    func sendUnreachable(code: UInt8, about packet: IPv4Packet, on interface: NetworkInterface, now: Instant) {
        guard packet.destination == interface.address, mayTransmit(source: interface.address, destination: packet.source)
        else { return }
        refillICMPTokens(now: now)
        guard icmpTokens > 0 else {
            counters[.icmpErrorsRateLimited] += 1
            return
        }
        guard let buffer = pool.take() else {
            counters[.txNoBuffer] += 1
            return
        }
        icmpTokens -= 1
        let quoted = Swift.min(packet.bytes.count, packet.headerLength + 8)
        let icmpStart = NetworkStack.headerRoom
        let icmpLength = ICMPv4Message.headerLength + quoted
        buffer.length = icmpStart + icmpLength
        let bytes = buffer.frame
        bytes.baseAddress!.advanced(by: icmpStart + ICMPv4Message.headerLength).copyMemory(
            from: packet.bytes.baseAddress!, byteCount: quoted)
        ICMPv4Message.emit(
            into: bytes.slice(icmpStart, icmpStart + icmpLength), type: ICMPv4Message.MessageType.destinationUnreachable,
            code: code)
        counters[.icmpErrorsSent] += 1
        sendIPv4(buffer, protocolNumber: IPv4Packet.ProtocolNumber.icmp, source: interface.address,
                 destination: packet.source, payloadLength: icmpLength, via: interface, now: now)
    }

    private func refillICMPTokens(now: Instant) {
        let elapsed = now.since(icmpRefilled)
        guard elapsed >= .milliseconds(10) else { return }
        // A second or more refills the bucket; capping first keeps the product from overflowing.
        let earned = Swift.min(elapsed.nanoseconds, 1_000_000_000) * icmpErrorRate / 1_000_000_000
        if earned > 0 {
            icmpTokens = Swift.min(icmpErrorRate, icmpTokens + earned)
            icmpRefilled = now
        }
    }

    @discardableResult
    private func transmit(_ buffer: PacketBuffer, on interface: NetworkInterface) -> Bool {
        if interface.device.transmit(buffer) { return true }
        counters[.txDeviceDrops] += 1
        return false
    }

    // MARK: ARP

    func sendARPRequest(for address: IPv4Address, on interface: NetworkInterface, gratuitous: Bool = false) {
        guard let buffer = pool.take() else {
            counters[.txNoBuffer] += 1
            return
        }
        buffer.length = EthernetFrame.minimumLength
        let bytes = buffer.frame
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        EthernetFrame.emit(into: bytes, destination: .broadcast, source: interface.mac, etherType: EthernetFrame.EtherType.arp)
        ARPPacket.emit(
            into: bytes.slice(EthernetFrame.headerLength, bytes.count), operation: .request,
            senderHardware: interface.mac, senderProtocol: interface.address,
            targetHardware: .zero, targetProtocol: gratuitous ? interface.address : address)
        counters[.arpRequestsSent] += 1
        transmit(buffer, on: interface)
    }

    /// At link-up: a gratuitous ARP on every interface, and a request for
    /// each gateway so the first packet out does not wait.
    public func announce(now: Instant) {
        for interface in interfaces where interface.device.linkUp {
            sendARPRequest(for: interface.address, on: interface, gratuitous: true)
            if let gateway = interface.configuration.gateway, interface.arp.lookup(gateway, now: now) == nil {
                sendARPRequest(for: gateway, on: interface)
            }
        }
    }

    /// Periodic work: ARP retries, expiry, and gateway refresh.
    public func tick(now: Instant) {
        lastNow = now
        for interface in interfaces {
            interface.arp.expire(
                now: now, retry: { sendARPRequest(for: $0, on: interface) },
                drop: { buffer in
                    counters[.arpUnresolved] += 1
                    pool.give(buffer)
                })
            if let gateway = interface.configuration.gateway, interface.gatewayHardware != nil,
                interface.arp.lookup(gateway, now: now + .seconds(5)) == nil,
                now.since(interface.lastGatewayProbe) >= .seconds(1)
            {
                // Refresh the gateway before it expires rather than after.
                interface.lastGatewayProbe = now
                sendARPRequest(for: gateway, on: interface)
            }
        }
    }
}
