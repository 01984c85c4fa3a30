/// SYN redispatch: a backend that refuses a forwarded SYN (a RST
/// acknowledging it, or an ICMP destination unreachable quoting it) or
/// leaves it unanswered past the service's connect timeout does not fail
/// the client's connection. The balancer sends the client's SYN, with the
/// client's own sequence number, window and options, to another eligible
/// backend this flow has not tried, at most `retries` times; only when
/// none is left does the client get a reset.
///
/// Only flows awaiting their SYN-ACK do any of this work: what the re-send
/// needs lives in `tracker.attempts`, not in the flow's entry, and packets
/// of established flows never reach this file.
extension LoadBalancer {
    /// A packet the balancer built, `length` bytes from the IPv4 header,
    /// to send to `target`.
    public struct Emission: Equatable, Sendable {
        public var target: IPv4Address
        public var length: Int
    }

    /// The room, from the IPv4 header, a re-sent SYN may need.
    public static let redispatchRoom = IPv4Packet.minimumHeaderLength + ConnectAttempts.headerCapacity

    // MARK: Outcomes

    /// Every connect outcome of client traffic goes through here: the
    /// backend answered the SYN (`.passed`), refused it with a RST or an
    /// ICMP error (`.refused`), or left it unanswered (`.timeout`).
    private func connectFinished(_ outcome: HealthCheckOutcome, service: Service, backend: Backend, now: Instant) {
        switch outcome {
        case .refused:
            backend.statistics.connectRefused += 1
            service.statistics.connectRefused += 1
        case .timeout:
            backend.statistics.connectTimeouts += 1
            service.statistics.connectTimeouts += 1
        default:
            break
        }
        observeConnect(service: service, backend: backend, succeeded: outcome == .passed, now: now)
    }

    /// The backend of `flow`, and its service.
    private func parties(_ flow: Int) -> (Service, Backend) {
        let entry = tracker.entries[flow]
        let service = services[Int(entry.serviceIndex)]
        return (service, service.backends[Int(entry.backendIndex)])
    }

    // MARK: Attempts

    /// Keeps what re-sending the client's opening `segment` of a new
    /// `flow` needs, and arms its connect deadline.
    func beginAttempt(_ flow: Int, _ segment: TCPSegment, now: Instant) {
        let serviceIndex = Int(tracker.entries[flow].serviceIndex)
        let header = UnsafeRawBufferPointer(segment.bytes.slice(0, segment.headerLength))
        tracker.beginAttempt(
            flow, list: serviceIndex, deadline: now + services[serviceIndex].configuration.connectTimeout, header: header)
    }

    /// `flow` left synSent on a segment the tracker accepted: the
    /// backend's SYN-ACK is a connect that succeeded; a client's reset
    /// just ends the attempt.
    func settleAttempt(_ flow: Int, fromClient: Bool, now: Instant) {
        let state = tracker.entries[flow].state
        guard state != .synSent else { return }
        if !fromClient && state == .synReceived {
            let (service, backend) = parties(flow)
            connectFinished(.passed, service: service, backend: backend, now: now)
        }
        tracker.endAttempt(flow)
    }

    /// A backend's RST to a flow awaiting its SYN-ACK. A genuine refusal
    /// (it acknowledges the SYN, its checksum holds) is counted, and the
    /// SYN goes to the next backend in the RST's place when one is left.
    /// Nil: handle the RST as any other segment (it reaches the client).
    func refused(_ flow: Int, _ header: TransportHeader, _ segment: TCPSegment, room: UnsafeMutableRawBufferPointer,
                 now: Instant) -> Verdict? {
        guard tracker.isRefusal(flow, TrackedSegment(segment)),
            segment.checksumValid(source: header.ip.source, destination: header.ip.destination)
        else { return nil }
        let (service, backend) = parties(flow)
        connectFinished(.refused, service: service, backend: backend, now: now)
        guard let length = redispatch(flow, into: room, now: now) else { return nil }
        return .send(to: tracker.entries[flow].backend, length: length)
    }

    /// An ICMP destination unreachable on the private NIC about a SYN the
    /// balancer forwarded: the quote must name the flow exactly (private
    /// address and SNAT port, backend address and port, the client's
    /// initial sequence number) and the message's checksum must hold.
    /// Anything else is not the balancer's.
    func unreachable(_ packet: UnsafeMutableRawBufferPointer, now: Instant) -> Verdict {
        guard let ip = try? IPv4Packet(parsing: packet), ip.protocolNumber == IPv4Packet.ProtocolNumber.icmp,
            let message = try? ICMPv4Message(parsing: ip.payload),
            message.type == ICMPv4Message.MessageType.destinationUnreachable,
            let quoted = try? message.quotedDatagram(), quoted.protocolNumber == IPv4Packet.ProtocolNumber.tcp,
            quoted.source == privateAddress
        else { return .notOurs }
        let ports = quoted.payload
        guard let flow = tracker.lookupBackend(quoted.destination, ports.u16(2), snatPort: ports.u16(0),
                                               protocolNumber: IPv4Packet.ProtocolNumber.tcp)
        else { return .notOurs }
        let entry = tracker.entries[flow]
        guard entry.state == .synSent, entry.attempt >= 0, ports.u32(4) == tracker.attempts.initialSequence(entry.attempt),
            message.checksumValid, packet.count >= LoadBalancer.redispatchRoom
        else { return .notOurs }
        guard let emission = connectFailed(flow, .refused, room: packet, now: now) else { return .notOurs }
        return .send(to: emission.target, length: emission.length)
    }

    // MARK: Connect timeouts

    /// Whether some flow's connect deadline has passed.
    public func connectDue(now: Instant) -> Bool {
        for list in 0..<tracker.attempts.listCount where tracker.attempts.due(list: list, now: now) != nil {
            return true
        }
        return false
    }

    /// Handles flows whose backend left the SYN unanswered past the
    /// connect deadline, earliest first, until one needs a packet sent:
    /// the SYN for the next backend, or the client's reset, built in
    /// `room` (at least `redispatchRoom` bytes). Nil when none is due.
    public func expireConnect(now: Instant, into room: UnsafeMutableRawBufferPointer) -> Emission? {
        guard room.count >= LoadBalancer.redispatchRoom else { return nil }
        for list in 0..<tracker.attempts.listCount {
            while let slot = tracker.attempts.due(list: list, now: now) {
                if let emission = connectFailed(tracker.attempts.flow(slot), .timeout, room: room, now: now) {
                    return emission
                }
            }
        }
        return nil
    }

    // MARK: Failure

    /// A connect of `flow` failed without a RST the client could be
    /// given. With redispatch off (`retries 0`) it is counted and the
    /// flow left to the client's own retransmissions; otherwise the SYN
    /// goes to the next backend or, with none left, the client gets a
    /// reset built here (seq 0, ack ISN+1) and the flow is forgotten.
    private func connectFailed(_ flow: Int, _ outcome: HealthCheckOutcome, room: UnsafeMutableRawBufferPointer,
                               now: Instant) -> Emission? {
        let (service, backend) = parties(flow)
        connectFinished(outcome, service: service, backend: backend, now: now)
        guard service.configuration.retries > 0 else {
            tracker.endAttempt(flow)
            return nil
        }
        if let length = redispatch(flow, into: room, now: now) {
            return Emission(target: tracker.entries[flow].backend, length: length)
        }
        let entry = tracker.entries[flow]
        let length = writeClientReset(entry, into: room)
        backend.statistics.failedConnects += 1
        service.statistics.failedConnects += 1
        service.statistics.count(packetBytes: length, toBackend: false)
        forget(flow)
        return Emission(target: entry.client, length: length)
    }

    // MARK: Re-sending

    /// Moves `flow` to an eligible backend it has not tried and writes the
    /// client's SYN for it into `room`; its length, or nil (nothing
    /// changed) when the retries are spent, no such backend is eligible,
    /// or `room` is too small.
    private func redispatch(_ flow: Int, into room: UnsafeMutableRawBufferPointer, now: Instant) -> Int? {
        let entry = tracker.entries[flow]
        let slot = entry.attempt
        guard slot >= 0, room.count >= LoadBalancer.redispatchRoom else { return nil }
        let attempts = tracker.attempts
        let (service, left) = parties(flow)
        guard attempts.redispatches(slot) < service.configuration.retries,
            let chosen = service.pickBackend(
                flowHash: LoadBalancer.flowHash(entry.client, entry.clientPort), excluding: attempts.tried(slot), now: now)
        else { return nil }
        left.statistics.redispatched += 1
        service.statistics.redispatched += 1
        let next = service.backends[chosen]
        tracker.rebind(flow, backend: next.configuration.address, backendPort: next.configuration.port, backendIndex: chosen,
                       now: now)
        attempts.redispatched(slot, deadline: now + service.configuration.connectTimeout)
        let length = writeSYN(tracker.entries[flow], into: room)
        next.statistics.count(packetBytes: length, toBackend: true)
        service.statistics.count(packetBytes: length, toBackend: true)
        return length
    }

    /// The client's SYN as kept, from the private address and SNAT port to
    /// the flow's backend, with both checksums filled.
    private func writeSYN(_ entry: ConnectionTracker.Entry, into room: UnsafeMutableRawBufferPointer) -> Int {
        let tcpStart = IPv4Packet.minimumHeaderLength
        let tcp = room.slice(tcpStart, room.count)
        let headerLength = tracker.attempts.copyHeader(entry.attempt, into: tcp)
        let segment = tcp.slice(0, headerLength)
        segment.setU16(entry.snatPort, at: TCPSegment.Field.sourcePort)
        segment.setU16(entry.backendPort, at: TCPSegment.Field.destinationPort)
        if let parsed = try? TCPSegment(parsing: segment) {
            parsed.fillChecksum(source: privateAddress, destination: entry.backend)
        }
        IPv4Packet.emit(into: room, source: privateAddress, destination: entry.backend,
                        protocolNumber: IPv4Packet.ProtocolNumber.tcp, payloadLength: headerLength)
        return tcpStart + headerLength
    }

    /// The reset a closed port would send the client's SYN (RFC 9293
    /// §3.10.7.1: seq 0, ack ISN+1, RST|ACK), from the service address.
    private func writeClientReset(_ entry: ConnectionTracker.Entry, into room: UnsafeMutableRawBufferPointer) -> Int {
        let tcpStart = IPv4Packet.minimumHeaderLength
        let length = tcpStart + TCPSegment.minimumHeaderLength
        let initialSequence = entry.attempt >= 0 ? tracker.attempts.initialSequence(entry.attempt) : entry.clientWindow.end &- 1
        TCPSegment.emit(
            into: room.slice(tcpStart, length), sourcePort: entry.servicePort, destinationPort: entry.clientPort,
            sequenceNumber: 0, acknowledgmentNumber: initialSequence &+ 1, flags: [.rst, .ack], window: 0, payloadLength: 0,
            source: entry.service, destination: entry.client)
        IPv4Packet.emit(into: room, source: entry.service, destination: entry.client,
                        protocolNumber: IPv4Packet.ProtocolNumber.tcp, payloadLength: TCPSegment.minimumHeaderLength)
        return length
    }
}
