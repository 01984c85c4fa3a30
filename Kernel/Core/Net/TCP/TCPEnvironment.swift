/// What a TCP connection needs from outside itself: the time, the
/// configuration, the counters, segment output, the shared reset and
/// challenge-ACK budgets, and the queue its events wait in.
///
/// The layer owns one and hands it to every connection it creates, so a
/// connection processes segments and timers without reaching into the
/// layer. What only the layer may do (its tables, admission) the connection
/// asks for through `transition`.
final class TCPEnvironment {
    var configuration: TCPConfiguration
    var counters = TCPCounters()
    /// The time of the segment, tick or call being processed.
    var now = Instant.zero
    let pool: PacketPool
    let transmit: TCPLayer.Transmit
    /// Resets for segments to no connection, and refusals.
    var resetLimiter: TCPRateLimiter
    /// Challenge ACKs (RFC 5961), across all connections.
    var challengeLimiter: TCPRateLimiter
    /// Connections whose readiness or state changed, in order, each once.
    private(set) var pendingEvents: [TCPConnection] = []
    /// The layer's side of a connection's state change: the connection has
    /// done its part when this is called.
    var transition: (TCPConnection, TCPTransition) -> Void = { _, _ in }

    init(pool: PacketPool, configuration: TCPConfiguration, transmit: @escaping TCPLayer.Transmit) {
        self.pool = pool
        self.configuration = configuration
        self.transmit = transmit
        resetLimiter = TCPRateLimiter(burst: configuration.resetBurst)
        challengeLimiter = TCPRateLimiter(burst: configuration.challengeACKBurst)
    }

    // MARK: Events

    func notify(_ connection: TCPConnection) {
        if !pendingEvents.contains(where: { $0 === connection }) { pendingEvents.append(connection) }
    }

    /// Hands over the pending events, leaving the queue empty.
    func takeEvents() -> [TCPConnection] {
        let events = pendingEvents
        pendingEvents.removeAll()
        return events
    }

    // MARK: Budgets

    /// Whether a reset to no connection (or a refusal) may go now; counts it if not.
    func takeReset() -> Bool {
        guard resetLimiter.take(now: now, rate: configuration.resetRate, burst: configuration.resetBurst) else {
            counters[.resetsRateLimited] += 1
            return false
        }
        return true
    }

    /// Whether a challenge ACK may go now; counts it if not.
    func takeChallenge() -> Bool {
        guard challengeLimiter.take(now: now, rate: configuration.challengeACKRate, burst: configuration.challengeACKBurst) else {
            counters[.challengeACKsRateLimited] += 1
            return false
        }
        return true
    }

    // MARK: Output

    /// A reset for a segment that belongs to no connection, within the reset budget.
    func sendReset(_ endpoints: TCPEndpointPair, sequence: SequenceNumber, acknowledgment: SequenceNumber?) {
        guard takeReset() else { return }
        counters[.resetsSent] += 1
        sendBare(endpoints, sequence: sequence, acknowledgment: acknowledgment ?? SequenceNumber(0),
                 flags: acknowledgment == nil ? [.rst] : [.rst, .ack], window: 0)
    }

    /// A segment without payload.
    func sendBare(
        _ endpoints: TCPEndpointPair, sequence: SequenceNumber, acknowledgment: SequenceNumber, flags: TCPSegment.Flags,
        window: UInt16, mss: Int? = nil
    ) {
        build(endpoints, sequence: sequence, acknowledgment: acknowledgment, flags: flags, window: window,
              mss: mss.map { UInt16($0) }, payloadLength: 0) { _ in }
    }

    /// Builds a segment in a pool buffer, `fill` writing its payload, and transmits it.
    func build(
        _ endpoints: TCPEndpointPair, sequence: SequenceNumber, acknowledgment: SequenceNumber, flags: TCPSegment.Flags,
        window: UInt16, mss: UInt16?, payloadLength: Int, fill: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        guard let buffer = pool.take() else {
            counters[.noBufferDrops] += 1
            return
        }
        let headerLength = TCPSegment.minimumHeaderLength + (mss == nil ? 0 : 4)
        let length = headerLength + payloadLength
        buffer.length = TCPLayer.segmentOffset + length
        let bytes = buffer.frame.slice(TCPLayer.segmentOffset, TCPLayer.segmentOffset + length)
        if payloadLength > 0 { fill(bytes.slice(headerLength, length)) }
        TCPSegment.emit(
            into: bytes, sourcePort: endpoints.localPort, destinationPort: endpoints.remotePort,
            sequenceNumber: sequence.raw, acknowledgmentNumber: acknowledgment.raw, flags: flags, window: window, mss: mss,
            payloadLength: payloadLength, source: endpoints.localAddress, destination: endpoints.remoteAddress)
        counters[.segmentsSent] += 1
        transmit(buffer, endpoints.localAddress, endpoints.remoteAddress, length)
    }
}

/// A connection's state changes that the layer's tables follow.
enum TCPTransition {
    /// The handshake completed; a passive open now goes through admission.
    case established
    /// TIME-WAIT began: the layer keeps the endpoints' remnant.
    case timeWait
    /// The connection ended and leaves every table.
    case closed
}
