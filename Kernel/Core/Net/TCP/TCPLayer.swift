/// The TCP endpoint stack: demultiplexing, the RFC 9293 segment-arrival
/// rules, output, retransmission and congestion control, TIME-WAIT, and
/// SYN cookies once the half-open queue is full.
///
/// Segments arrive through `receive` (from the IPv4 layer) and leave through
/// the `transmit` closure; timers run from `tick`. Every resource is bounded
/// by `configuration` and every limit hit is counted.
public final class TCPLayer {
    /// Sends a finished segment: the buffer holds it at `segmentOffset`,
    /// `length` bytes long, to go from `source` to `destination`.
    public typealias Transmit = (_ buffer: PacketBuffer, _ source: IPv4Address, _ destination: IPv4Address, _ length: Int) -> Void

    public static let segmentOffset = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength

    public var configuration: TCPConfiguration
    public private(set) var counters = TCPCounters()
    let pool: PacketPool
    let transmitSegment: Transmit
    let random: () -> UInt32
    private var connections: [TCPEndpointPair: TCPConnection] = [:]
    private var listeners: [TCPListener] = []
    private var timeWait: [TCPEndpointPair: TimeWaitEntry] = [:]
    /// SYN-RECEIVED connections across all listeners.
    public private(set) var halfOpenCount = 0
    private var pendingEvents: [TCPConnection] = []
    private var acceptEvents: [TCPListener] = []
    private var cookieSecret: UInt64
    private var nextEphemeralPort: UInt16 = 49152
    private var now = Instant.zero
    private var resetLimiter: TCPRateLimiter
    private var challengeLimiter: TCPRateLimiter

    /// The time of the segment or tick being processed.
    var currentTime: Instant { now }

    struct TimeWaitEntry {
        var expires: Instant
        var receiveNext: SequenceNumber
        var sendNext: SequenceNumber
    }

    public init(pool: PacketPool, configuration: TCPConfiguration = TCPConfiguration(),
                random: @escaping () -> UInt32, transmit: @escaping Transmit) {
        self.pool = pool
        self.configuration = configuration
        self.random = random
        self.transmitSegment = transmit
        cookieSecret = UInt64(random()) << 32 | UInt64(random())
        resetLimiter = TCPRateLimiter(burst: configuration.resetBurst)
        challengeLimiter = TCPRateLimiter(burst: configuration.challengeACKBurst)
    }

    // MARK: Opening

    /// Accepts connections to `port` on `addresses`, within `limits`.
    public func listen(port: UInt16, addresses: [IPv4Address], backlog: Int = 32,
                       limits: TCPListenerLimits = .none) -> TCPListener? {
        guard !listeners.contains(where: { $0.port == port && $0.addresses.contains(where: addresses.contains) }) else {
            return nil
        }
        let listener = TCPListener(layer: self, port: port, addresses: addresses, backlog: Swift.max(1, backlog), limits: limits)
        listeners.append(listener)
        return listener
    }

    /// Whether a connection (or its TIME-WAIT remnant) exists between these endpoints.
    public func tracks(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16) -> Bool {
        let endpoints = TCPEndpointPair(localAddress: local, localPort: localPort, remoteAddress: remote, remotePort: remotePort)
        return connections[endpoints] != nil || timeWait[endpoints] != nil
    }

    /// Whether a listener accepts connections to `port` on `address`.
    public func isListening(port: UInt16, address: IPv4Address) -> Bool {
        listeners.contains { $0.port == port && $0.addresses.contains(address) }
    }

    func removeListener(_ listener: TCPListener) {
        listeners.removeAll { $0 === listener }
    }

    /// Starts an active open from `local`; nil when no port or connection slot is free.
    public func connect(from local: IPv4Address, to remote: IPv4Address, port: UInt16, now: Instant) -> TCPConnection? {
        self.now = now
        guard connections.count < configuration.maximumConnections else {
            counters[.connectionLimitHits] += 1
            return nil
        }
        var endpoints: TCPEndpointPair?
        for _ in 0..<16384 {
            let candidate = TCPEndpointPair(localAddress: local, localPort: nextEphemeralPort, remoteAddress: remote, remotePort: port)
            nextEphemeralPort = nextEphemeralPort == 65535 ? 49152 : nextEphemeralPort + 1
            if connections[candidate] == nil && timeWait[candidate] == nil {
                endpoints = candidate
                break
            }
        }
        guard let endpoints else {
            counters[.connectionLimitHits] += 1
            return nil
        }
        let connection = TCPConnection(layer: self, endpoints: endpoints, state: .synSent)
        let iss = SequenceNumber(random())
        connection.initialSendSequence = iss
        connection.sendUnacknowledged = iss
        connection.sendNext = iss + 1
        connection.sendMaximum = iss + 1
        connection.connectDeadline = now + configuration.connectTimeout
        connection.retransmitDeadline = now + connection.retransmissionTimeout
        connections[endpoints] = connection
        counters[.activeOpens] += 1
        sendSegment(connection, sequence: iss, flags: [.syn], mss: configuration.mss)
        return connection
    }

    // MARK: Input

    /// Handles one segment addressed to `destination` (already checked to be ours).
    public func receive(_ bytes: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address, now: Instant) {
        self.now = now
        counters[.segmentsReceived] += 1
        let segment: TCPSegment
        do {
            segment = try TCPSegment(parsing: bytes)
        } catch {
            counters[.malformed] += 1
            return
        }
        guard segment.checksumValid(source: source, destination: destination) else {
            counters[.badChecksum] += 1
            return
        }
        let endpoints = TCPEndpointPair(
            localAddress: destination, localPort: segment.destinationPort, remoteAddress: source, remotePort: segment.sourcePort)
        if let connection = connections[endpoints] {
            process(segment, on: connection)
            // Services react first (reading opens the window, writing can
            // carry the ACK); whatever is still owed goes out after.
            flushEvents()
            output(connection)
        } else if timeWait[endpoints] != nil {
            processTimeWait(segment, endpoints)
        } else if let listener = listeners.first(where: { $0.port == endpoints.localPort && $0.addresses.contains(destination) }) {
            processListen(segment, endpoints, listener)
        } else {
            resetUnknown(segment, endpoints)
        }
        flushEvents()
    }

    private func processListen(_ segment: TCPSegment, _ endpoints: TCPEndpointPair, _ listener: TCPListener) {
        let flags = segment.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) {
            // Possibly the third step of a handshake answered with a cookie.
            if !flags.contains(.syn), let connection = acceptCookie(segment, endpoints, listener) {
                process(segment, on: connection)
            } else {
                sendReset(endpoints, sequence: SequenceNumber(segment.acknowledgmentNumber), acknowledgment: nil)
            }
            return
        }
        guard flags.contains(.syn) else { return }
        let peerSequence = SequenceNumber(segment.sequenceNumber)
        let mss = sendingMSS(segment.maximumSegmentSize)
        // A cookie costs no slot: with the slots or the half-open quotas
        // taken, the SYN still gets its answer, and only the cookie's ACK
        // needs a slot.
        if !admitsPassiveOpen() || listener.halfOpen >= configuration.maximumHalfOpen || halfOpenCount >= halfOpenLimit {
            sendCookie(endpoints, peerSequence: peerSequence, mss: mss)
            return
        }
        let connection = TCPConnection(layer: self, endpoints: endpoints, state: .synReceived)
        connection.idleTimeout = listener.limits.idleTimeout
        enterHalfOpen(connection, listener)
        let iss = SequenceNumber(random())
        connection.initialSendSequence = iss
        connection.sendUnacknowledged = iss
        connection.sendNext = iss + 1
        connection.sendMaximum = iss + 1
        connection.initialReceiveSequence = peerSequence
        connection.receiveNext = peerSequence + 1
        connection.sendWindow = Int(segment.window)
        connection.windowUpdateSequence = peerSequence
        connection.maximumSegmentSize = mss
        connection.retransmitDeadline = now + connection.retransmissionTimeout
        connections[endpoints] = connection
        sendSegment(connection, sequence: iss, flags: [.syn, .ack], mss: configuration.mss)
    }

    private func process(_ segment: TCPSegment, on connection: TCPConnection) {
        if connection.state == .synSent {
            processSynSent(segment, on: connection)
            return
        }
        let flags = segment.flags
        var sequence = SequenceNumber(segment.sequenceNumber)
        var payload = UnsafeRawBufferPointer(segment.payload)
        var hasFin = flags.contains(.fin)
        let length = payload.count + (flags.contains(.syn) ? 1 : 0) + (hasFin ? 1 : 0)
        let window = connection.receiveWindow

        // 1. Is any of it in the receive window?
        guard acceptable(sequence, length: length, window: window, next: connection.receiveNext) else {
            if !flags.contains(.rst) {
                if sequence < connection.receiveNext { counters[.duplicateSegments] += 1 }
                connection.ackNow = true
                output(connection)
            }
            return
        }
        // 2. Resets (RFC 5961 §3.2): only an exact match resets; in-window gets a challenge.
        if flags.contains(.rst) {
            if sequence == connection.receiveNext {
                counters[.resetsReceived] += 1
                remove(connection, error: connection.state == .synReceived ? nil : .reset)
            } else {
                challenge(connection)
            }
            return
        }
        // 4. A SYN in a synchronized state (RFC 5961 §4).
        if flags.contains(.syn) {
            challenge(connection)
            return
        }
        // 5. The acknowledgment.
        guard flags.contains(.ack) else { return }
        let ack = SequenceNumber(segment.acknowledgmentNumber)
        if connection.state == .synReceived {
            guard ack - connection.sendUnacknowledged > 0, ack - connection.sendNext <= 0 else {
                sendReset(connection.endpoints, sequence: ack, acknowledgment: nil)
                return
            }
            establish(connection)
        }
        if ack - connection.sendMaximum > 0 {
            // Acknowledges something never sent.
            connection.ackNow = true
            output(connection)
            return
        }
        processAcknowledgment(connection, ack: ack, segment: segment, sequence: sequence, payloadLength: payload.count)
        if connection.isFinished { return }

        // Trim what was already received.
        let duplicate = connection.receiveNext - sequence
        if duplicate > 0 {
            let dropped = Swift.min(duplicate, payload.count)
            payload = UnsafeRawBufferPointer(rebasing: payload[dropped...])
            sequence += dropped
        }
        // 7. Data.
        if payload.count > 0 {
            switch connection.state {
            case .established, .finWait1, .finWait2:
                receiveData(connection, payload, at: sequence)
            default:
                break
            }
        }
        // 8. FIN, once everything before it has arrived.
        if hasFin {
            let finAt = SequenceNumber(segment.sequenceNumber) + segment.payload.count
            if finAt - connection.receiveNext > connection.receiveWindow { hasFin = false }
            if hasFin { connection.peerFinSequence = finAt }
        }
        processFin(connection)
    }

    private func processSynSent(_ segment: TCPSegment, on connection: TCPConnection) {
        let flags = segment.flags
        let ack = SequenceNumber(segment.acknowledgmentNumber)
        if flags.contains(.ack) {
            guard ack - connection.initialSendSequence > 0, ack - connection.sendNext <= 0 else {
                if !flags.contains(.rst) { sendReset(connection.endpoints, sequence: ack, acknowledgment: nil) }
                return
            }
        }
        if flags.contains(.rst) {
            if flags.contains(.ack) {
                counters[.resetsReceived] += 1
                remove(connection, error: .refused)
            }
            return
        }
        guard flags.contains(.syn) else { return }
        let peerSequence = SequenceNumber(segment.sequenceNumber)
        connection.initialReceiveSequence = peerSequence
        connection.receiveNext = peerSequence + 1
        connection.sendWindow = Int(segment.window)
        connection.windowUpdateSequence = peerSequence
        connection.windowUpdateAcknowledgment = ack
        connection.maximumSegmentSize = sendingMSS(segment.maximumSegmentSize)
        if flags.contains(.ack) {
            connection.sendUnacknowledged = ack
            measureRTT(connection, acknowledged: ack)
            establish(connection)
            connection.ackNow = true
        } else {
            // Simultaneous open.
            connection.state = .synReceived
            sendSegment(connection, sequence: connection.initialSendSequence, flags: [.syn, .ack], mss: configuration.mss)
            return
        }
        let payload = UnsafeRawBufferPointer(segment.payload)
        if payload.count > 0 { receiveData(connection, payload, at: peerSequence + 1) }
        output(connection)
    }

    private func establish(_ connection: TCPConnection) {
        connection.state = .established
        connection.connectDeadline = nil
        connection.retransmissions = 0
        connection.congestionWindow = initialWindow(connection)
        if connection.sendUnacknowledged == connection.initialSendSequence {
            connection.sendUnacknowledged = connection.initialSendSequence + 1
        }
        connection.retransmitDeadline = nil
        connection.lastActivity = now
        if let listener = connection.listener {
            leaveHalfOpen(connection)
            counters[.passiveOpens] += 1
            guard !listener.isClosed, listener.acceptQueue.count < listener.backlog else {
                counters[.backlogLimitHits] += 1
                refuse(connection)
                return
            }
            guard admit(connection, to: listener) else {
                counters[.listenerLimitHits] += 1
                refuse(connection)
                return
            }
            listener.members.append(connection)
            connection.owner = listener
            listener.acceptQueue.append(connection)
            if !acceptEvents.contains(where: { $0 === listener }) { acceptEvents.append(listener) }
        }
        notify(connection)
    }

    /// The slots passive opens may take: all but the last
    /// `reservedForActiveOpens`, which are the health checks'.
    private var passiveShare: Int {
        configuration.maximumConnections
            - Swift.min(Swift.max(0, configuration.reservedForActiveOpens), configuration.maximumConnections)
    }

    /// Half-open connections kept across listeners: `maximumHalfOpenTotal`,
    /// and at most half the passive share, so the rest is always there for
    /// handshakes that complete.
    var halfOpenLimit: Int { Swift.min(configuration.maximumHalfOpenTotal, passiveShare / 2) }

    /// Whether a passive open may take a connection slot now.
    private func admitsPassiveOpen() -> Bool {
        if connections.count >= configuration.maximumConnections {
            counters[.connectionLimitHits] += 1
            return false
        }
        if connections.count >= passiveShare {
            counters[.reservationLimitHits] += 1
            return false
        }
        return true
    }

    private func enterHalfOpen(_ connection: TCPConnection, _ listener: TCPListener) {
        connection.listener = listener
        listener.halfOpen += 1
        halfOpenCount += 1
    }

    private func leaveHalfOpen(_ connection: TCPConnection) {
        guard let listener = connection.listener else { return }
        listener.halfOpen -= 1
        halfOpenCount -= 1
        connection.listener = nil
    }

    /// The MSS to send with to a peer that advertised `advertised`: at
    /// least `TCPConfiguration.minimumPeerMSS`, at most ours.
    private func sendingMSS(_ advertised: UInt16?) -> Int {
        let peer = Swift.max(Int(advertised ?? 536), TCPConfiguration.minimumPeerMSS)
        return Swift.max(1, Swift.min(peer, Int(configuration.mss)))
    }

    /// Applies `listener.limits` to a connection that just completed its
    /// handshake: a source at its share gives up one connection (one
    /// already closing if it has one, else its longest-idle); a listener at
    /// its limit refuses.
    private func admit(_ connection: TCPConnection, to listener: TCPListener) -> Bool {
        let limits = listener.limits
        let source = connection.endpoints.remoteAddress
        var fromSource = 0
        var idlest: TCPConnection?
        for member in listener.members where member.endpoints.remoteAddress == source {
            fromSource += 1
            if idlest == nil || member.evictsBefore(idlest!) { idlest = member }
        }
        if fromSource >= limits.maximumPerSource, let idlest {
            counters[.sourceLimitEvictions] += 1
            sendReset(for: idlest)
            remove(idlest, error: .limit)
        }
        return listener.members.count < limits.maximumConnections
    }

    /// RFC 5681 §3.1: min(4 MSS, max(2 MSS, 4380 bytes)).
    private func initialWindow(_ connection: TCPConnection) -> Int {
        let mss = connection.maximumSegmentSize
        return Swift.min(4 * mss, Swift.max(2 * mss, 4380))
    }

    private func processAcknowledgment(
        _ connection: TCPConnection, ack: SequenceNumber, segment: TCPSegment, sequence: SequenceNumber, payloadLength: Int
    ) {
        let mss = connection.maximumSegmentSize
        let newlyAcked = ack - connection.sendUnacknowledged
        if newlyAcked > 0 {
            var dataAcked = newlyAcked
            if connection.finSent && ack - connection.finSequence > 0 { dataAcked -= 1 }
            connection.sendBuffer.discard(Swift.min(dataAcked, connection.sendBuffer.count))
            connection.sendUnacknowledged = ack
            connection.lastActivity = now
            if connection.sendNext - ack < 0 { connection.sendNext = ack }
            measureRTT(connection, acknowledged: ack)
            connection.retransmissions = 0
            if connection.inFastRecovery {
                if ack - connection.recoveryPoint >= 0 {
                    connection.inFastRecovery = false
                    connection.congestionWindow = connection.slowStartThreshold
                } else {
                    // Partial acknowledgment (RFC 6582): resend the next hole at once.
                    retransmitFirst(connection)
                }
            } else if connection.congestionWindow < connection.slowStartThreshold {
                connection.congestionWindow += Swift.min(newlyAcked, mss)
            } else {
                connection.congestionWindow += Swift.max(1, mss * mss / Swift.max(connection.congestionWindow, 1))
            }
            connection.duplicateACKs = 0
            connection.retransmitDeadline = connection.bytesInFlight > 0 ? now + connection.retransmissionTimeout : nil
            connection.persistDeadline = nil
            notify(connection)
            ourFinAcknowledged(connection, ack: ack)
        } else if newlyAcked == 0 && payloadLength == 0 && !segment.flags.contains(.fin)
            && connection.bytesInFlight > 0 && Int(segment.window) == connection.sendWindow
        {
            connection.duplicateACKs += 1
            if connection.duplicateACKs == 3 && !connection.inFastRecovery {
                counters[.fastRetransmits] += 1
                connection.slowStartThreshold = Swift.max(connection.bytesInFlight / 2, 2 * mss)
                connection.inFastRecovery = true
                connection.recoveryPoint = connection.sendNext
                retransmitFirst(connection)
                connection.congestionWindow = connection.slowStartThreshold + 3 * mss
            } else if connection.duplicateACKs > 3 && connection.inFastRecovery {
                connection.congestionWindow += mss
            }
        }
        // Window update (RFC 9293 §3.10.7.4): only from newer segments.
        if connection.windowUpdateSequence - sequence < 0
            || (connection.windowUpdateSequence == sequence && connection.windowUpdateAcknowledgment - ack <= 0)
        {
            let opened = connection.sendWindow == 0 && segment.window > 0
            connection.sendWindow = Int(segment.window)
            connection.windowUpdateSequence = sequence
            connection.windowUpdateAcknowledgment = ack
            if opened {
                connection.persistDeadline = nil
                notify(connection)
            }
        }
    }

    private func ourFinAcknowledged(_ connection: TCPConnection, ack: SequenceNumber) {
        guard connection.finSent, ack - connection.finSequence > 0 else { return }
        switch connection.state {
        case .finWait1: connection.state = .finWait2
        case .closing: enterTimeWait(connection)
        case .lastAck: remove(connection, error: nil)
        default: break
        }
    }

    private func receiveData(_ connection: TCPConnection, _ payload: UnsafeRawBufferPointer, at sequence: SequenceNumber) {
        let offset = sequence - connection.receiveNext
        if offset == 0 {
            let stored = connection.receiveBuffer.append(payload)
            let contiguous = connection.reassembly.advance(by: stored)
            connection.receiveBuffer.commit(contiguous)
            connection.receiveNext += stored + contiguous
            if stored > 0 { connection.lastActivity = now }
            connection.segmentsSinceACK += 1
            if contiguous > 0 || !connection.reassembly.isEmpty || connection.segmentsSinceACK >= 2 {
                connection.ackNow = true
            } else if connection.ackDeadline == nil {
                connection.ackDeadline = now + configuration.delayedACK
            }
            if stored > 0 { notify(connection) }
        } else if offset > 0 {
            counters[.outOfOrderSegments] += 1
            let stored = connection.receiveBuffer.write(payload, at: offset)
            if !connection.reassembly.insert(offset, offset + stored) { counters[.reassemblyLimitHits] += 1 }
            // An immediate duplicate ACK tells the sender where the hole is.
            connection.ackNow = true
        }
    }

    private func processFin(_ connection: TCPConnection) {
        guard let finAt = connection.peerFinSequence, finAt == connection.receiveNext, !connection.finReceived else { return }
        connection.finReceived = true
        connection.lastActivity = now
        connection.receiveNext += 1
        connection.ackNow = true
        switch connection.state {
        case .synReceived, .established:
            connection.state = .closeWait
        case .finWait1:
            connection.state = .closing
        case .finWait2:
            connection.ackNow = false
            sendSegment(connection, sequence: connection.sendNext, flags: [.ack])
            enterTimeWait(connection)
        default:
            break
        }
        notify(connection)
    }

    private func processTimeWait(_ segment: TCPSegment, _ endpoints: TCPEndpointPair) {
        guard var entry = timeWait[endpoints] else { return }
        let flags = segment.flags
        // RFC 1337: a reset does not end TIME-WAIT early.
        if flags.contains(.rst) { return }
        if flags.contains(.syn) && !flags.contains(.ack) && SequenceNumber(segment.sequenceNumber) - entry.receiveNext > 0,
            let listener = listeners.first(where: { $0.port == endpoints.localPort && $0.addresses.contains(endpoints.localAddress) })
        {
            // A new incarnation with higher sequence numbers may reuse the pair (RFC 9293 §3.6.1).
            timeWait[endpoints] = nil
            processListen(segment, endpoints, listener)
            return
        }
        if flags.contains(.fin) {
            entry.expires = now + configuration.timeWait
            timeWait[endpoints] = entry
        }
        sendBare(endpoints, sequence: entry.sendNext, acknowledgment: entry.receiveNext, flags: [.ack], window: 0)
    }

    /// Answers a segment with the reset a closed port would send (RFC 9293
    /// §3.10.7.1): how the balancer refuses a connection it cannot place.
    public func refuse(_ bytes: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address, now: Instant) {
        self.now = now
        guard let segment = try? TCPSegment(parsing: bytes) else { return }
        resetUnknown(segment, TCPEndpointPair(
            localAddress: destination, localPort: segment.destinationPort, remoteAddress: source, remotePort: segment.sourcePort))
    }

    private func resetUnknown(_ segment: TCPSegment, _ endpoints: TCPEndpointPair) {
        let flags = segment.flags
        guard !flags.contains(.rst) else { return }
        if flags.contains(.ack) {
            sendReset(endpoints, sequence: SequenceNumber(segment.acknowledgmentNumber), acknowledgment: nil)
        } else {
            var length = segment.payload.count
            if flags.contains(.syn) { length += 1 }
            if flags.contains(.fin) { length += 1 }
            sendReset(endpoints, sequence: SequenceNumber(0), acknowledgment: SequenceNumber(segment.sequenceNumber) + length)
        }
    }

    private func acceptable(_ sequence: SequenceNumber, length: Int, window: Int, next: SequenceNumber) -> Bool {
        let offset = sequence - next
        if length == 0 {
            return window == 0 ? offset == 0 : offset >= 0 && offset < window
        }
        guard window > 0 else { return false }
        let lastOffset = offset + length - 1
        return (offset >= 0 && offset < window) || (lastOffset >= 0 && lastOffset < window)
    }

    private func challenge(_ connection: TCPConnection) {
        guard challengeLimiter.take(now: now, rate: configuration.challengeACKRate, burst: configuration.challengeACKBurst) else {
            counters[.challengeACKsRateLimited] += 1
            return
        }
        counters[.challengeACKs] += 1
        sendSegment(connection, sequence: connection.sendNext, flags: [.ack])
    }

    // MARK: SYN cookies

    private func cookieHash(_ endpoints: TCPEndpointPair, peerSequence: SequenceNumber, time: UInt32, mssIndex: UInt32) -> UInt32 {
        var mixer = EntropyMixer(seed: cookieSecret)
        mixer.mix(UInt64(endpoints.localAddress.value) << 32 | UInt64(endpoints.remoteAddress.value))
        mixer.mix(UInt64(endpoints.localPort) << 48 | UInt64(endpoints.remotePort) << 32 | UInt64(peerSequence.raw))
        mixer.mix(UInt64(time) << 8 | UInt64(mssIndex))
        return UInt32(truncatingIfNeeded: mixer.next()) & 0x00FF_FFFF
    }

    static let cookieMSS: [Int] = [536, 1220, 1440, 1460]

    private var cookieTime: UInt32 { UInt32(truncatingIfNeeded: now.nanoseconds / 64_000_000_000) & 31 }

    private func sendCookie(_ endpoints: TCPEndpointPair, peerSequence: SequenceNumber, mss: Int) {
        var mssIndex: UInt32 = 0
        for (index, value) in TCPLayer.cookieMSS.enumerated() where value <= mss {
            mssIndex = UInt32(index)
        }
        let time = cookieTime
        let cookie = time << 27 | mssIndex << 24 | cookieHash(endpoints, peerSequence: peerSequence, time: time, mssIndex: mssIndex)
        counters[.synCookiesSent] += 1
        sendBare(endpoints, sequence: SequenceNumber(cookie), acknowledgment: peerSequence + 1, flags: [.syn, .ack],
                 window: UInt16(configuration.receiveBufferSize), mss: TCPLayer.cookieMSS[Int(mssIndex)])
    }

    private func acceptCookie(_ segment: TCPSegment, _ endpoints: TCPEndpointPair, _ listener: TCPListener) -> TCPConnection? {
        guard counters[.synCookiesSent] > 0 else { return nil }
        let cookie = segment.acknowledgmentNumber &- 1
        let peerSequence = SequenceNumber(segment.sequenceNumber) + -1
        let time = cookie >> 27
        let mssIndex = (cookie >> 24) & 7
        let current = cookieTime
        guard time == current || time == (current &- 1) & 31, Int(mssIndex) < TCPLayer.cookieMSS.count,
            cookie & 0x00FF_FFFF == cookieHash(endpoints, peerSequence: peerSequence, time: time, mssIndex: mssIndex)
        else {
            counters[.synCookiesRejected] += 1
            return nil
        }
        // A valid cookie with no slot free is refused (the caller resets it).
        guard admitsPassiveOpen() else { return nil }
        counters[.synCookiesAccepted] += 1
        let connection = TCPConnection(layer: self, endpoints: endpoints, state: .synReceived)
        connection.idleTimeout = listener.limits.idleTimeout
        enterHalfOpen(connection, listener)
        let iss = SequenceNumber(cookie)
        connection.initialSendSequence = iss
        connection.sendUnacknowledged = iss
        connection.sendNext = iss + 1
        connection.sendMaximum = iss + 1
        connection.initialReceiveSequence = peerSequence
        connection.receiveNext = peerSequence + 1
        connection.windowUpdateSequence = peerSequence
        connection.maximumSegmentSize = sendingMSS(UInt16(TCPLayer.cookieMSS[Int(mssIndex)]))
        connections[endpoints] = connection
        return connection
    }

    // MARK: Output

    /// Sends what the windows allow, a FIN when due, and any owed ACK.
    func output(_ connection: TCPConnection) {
        guard !connection.isFinished, !connection.released else { return }
        switch connection.state {
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            break
        case .synReceived, .finWait2:
            // Nothing more to send, but received data still wants acknowledging.
            if connection.ackNow { sendAck(connection) }
            return
        default:
            return
        }
        let mss = connection.maximumSegmentSize
        while true {
            let inFlight = connection.bytesInFlight
            let window = Swift.min(connection.sendWindow, connection.congestionWindow)
            let offset = connection.sendOffset
            let unsent = connection.sendBuffer.count - offset
            let finDue = connection.finQueued && !connection.finSent && unsent == 0
            if unsent > 0 && window - inFlight > 0 {
                let length = Swift.min(unsent, window - inFlight, mss)
                guard length > 0 else { break }
                let fin = connection.finQueued && !connection.finSent && length == unsent
                sendSegment(connection, sequence: connection.sendNext, flags: fin ? [.ack, .psh, .fin] : (length == unsent ? [.ack, .psh] : [.ack]),
                            payloadOffset: offset, payloadLength: length)
                advance(connection, by: length, fin: fin)
                continue
            }
            if finDue {
                sendSegment(connection, sequence: connection.sendNext, flags: [.ack, .fin])
                advance(connection, by: 0, fin: true)
                continue
            }
            if unsent > 0 && connection.sendWindow == 0 && inFlight == 0 && connection.persistDeadline == nil {
                connection.persistInterval = connection.retransmissionTimeout
                connection.persistDeadline = now + connection.persistInterval
            }
            break
        }
        if connection.ackNow { sendAck(connection) }
    }

    private func advance(_ connection: TCPConnection, by length: Int, fin: Bool) {
        if connection.rttSample == nil && length > 0 {
            connection.rttSample = (connection.sendNext + length, now)
        }
        connection.sendNext += length
        if fin {
            connection.finSent = true
            connection.finSequence = connection.sendNext
            connection.sendNext += 1
        }
        connection.sendMaximum = SequenceNumber.max(connection.sendMaximum, connection.sendNext)
        if fin {
            if connection.state == .established { connection.state = .finWait1 }
            if connection.state == .closeWait { connection.state = .lastAck }
        }
        if connection.retransmitDeadline == nil { connection.retransmitDeadline = now + connection.retransmissionTimeout }
        connection.ackNow = false
        connection.ackDeadline = nil
        connection.segmentsSinceACK = 0
    }

    private func sendAck(_ connection: TCPConnection) {
        connection.ackNow = false
        connection.ackDeadline = nil
        connection.segmentsSinceACK = 0
        sendSegment(connection, sequence: connection.sendNext, flags: [.ack])
    }

    /// Resends the first unacknowledged segment (SYN, data or FIN).
    private func retransmitFirst(_ connection: TCPConnection) {
        counters[.retransmissions] += 1
        connection.rttSample = nil  // Karn: no samples from retransmitted data
        switch connection.state {
        case .synSent:
            sendSegment(connection, sequence: connection.initialSendSequence, flags: [.syn], mss: configuration.mss)
            return
        case .synReceived:
            sendSegment(connection, sequence: connection.initialSendSequence, flags: [.syn, .ack], mss: configuration.mss)
            return
        default:
            break
        }
        let length = Swift.min(connection.sendBuffer.count, connection.maximumSegmentSize)
        let finOnly = length == 0 && connection.finSent
        let fin = connection.finSent && length == connection.sendBuffer.count
        if length > 0 || finOnly {
            sendSegment(connection, sequence: connection.sendUnacknowledged, flags: fin ? [.ack, .fin] : [.ack, .psh],
                        payloadOffset: 0, payloadLength: length)
        }
    }

    func windowOpened(_ connection: TCPConnection) {
        // Tell the peer once the window has grown by a segment or half the buffer since last advertised.
        let window = connection.receiveWindow
        if window - connection.advertisedWindow >= Swift.min(connection.maximumSegmentSize, configuration.receiveBufferSize / 2) {
            connection.ackNow = true
            output(connection)
        }
    }

    func sendReset(for connection: TCPConnection) {
        sendBare(connection.endpoints, sequence: connection.sendNext, acknowledgment: connection.receiveNext,
                 flags: [.rst, .ack], window: 0)
        counters[.resetsSent] += 1
    }

    /// Refuses a connection that completed its handshake but may not stay:
    /// a reset within the reset budget, and the connection is gone.
    private func refuse(_ connection: TCPConnection) {
        if resetLimiter.take(now: now, rate: configuration.resetRate, burst: configuration.resetBurst) {
            sendReset(for: connection)
        } else {
            counters[.resetsRateLimited] += 1
        }
        remove(connection, error: .limit)
    }

    /// A reset for a segment that belongs to no connection, within the reset budget.
    private func sendReset(_ endpoints: TCPEndpointPair, sequence: SequenceNumber, acknowledgment: SequenceNumber?) {
        guard resetLimiter.take(now: now, rate: configuration.resetRate, burst: configuration.resetBurst) else {
            counters[.resetsRateLimited] += 1
            return
        }
        counters[.resetsSent] += 1
        sendBare(endpoints, sequence: sequence, acknowledgment: acknowledgment ?? SequenceNumber(0),
                 flags: acknowledgment == nil ? [.rst] : [.rst, .ack], window: 0)
    }

    /// A segment for `connection`, carrying `payloadLength` bytes of its send buffer from `payloadOffset`.
    private func sendSegment(
        _ connection: TCPConnection, sequence: SequenceNumber, flags: TCPSegment.Flags, mss: UInt16? = nil,
        payloadOffset: Int = 0, payloadLength: Int = 0
    ) {
        let window = connection.receiveWindow
        connection.advertisedWindow = window
        // Everything but the opening SYN acknowledges what has been received.
        let opening = flags == [.syn]
        build(connection.endpoints, sequence: sequence, acknowledgment: opening ? SequenceNumber(0) : connection.receiveNext,
              flags: opening ? flags : flags.union(.ack),
              window: UInt16(window), mss: mss, payloadLength: payloadLength) { destination in
            _ = connection.sendBuffer.peek(from: payloadOffset, into: destination)
        }
    }

    private func sendBare(
        _ endpoints: TCPEndpointPair, sequence: SequenceNumber, acknowledgment: SequenceNumber, flags: TCPSegment.Flags,
        window: UInt16, mss: Int? = nil
    ) {
        build(endpoints, sequence: sequence, acknowledgment: acknowledgment, flags: flags, window: window,
              mss: mss.map { UInt16($0) }, payloadLength: 0) { _ in }
    }

    private func build(
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
        transmitSegment(buffer, endpoints.localAddress, endpoints.remoteAddress, length)
    }

    // MARK: Timers

    /// Runs expired timers: retransmission, delayed ACK, persist probes,
    /// connect timeouts and TIME-WAIT expiry.
    public func tick(now: Instant) {
        self.now = now
        for connection in Array(connections.values) {
            if let deadline = connection.connectDeadline, deadline <= now {
                counters[.timeouts] += 1
                remove(connection, error: .timedOut)
                continue
            }
            if let deadline = connection.idleDeadline, deadline <= now {
                counters[.idleTimeouts] += 1
                if connection.state.isSynchronized || connection.state == .synReceived { sendReset(for: connection) }
                remove(connection, error: .idle)
                continue
            }
            if let deadline = connection.retransmitDeadline, deadline <= now {
                retransmissionTimeout(connection)
                if connection.isFinished { continue }
            }
            if let deadline = connection.persistDeadline, deadline <= now {
                // A probe just below the window elicits an ACK with the current window.
                sendBare(connection.endpoints, sequence: connection.sendUnacknowledged + -1,
                         acknowledgment: connection.receiveNext, flags: [.ack], window: UInt16(connection.receiveWindow))
                connection.persistInterval = Swift.min(
                    Interval(nanoseconds: connection.persistInterval.nanoseconds * 2), configuration.maximumRTO)
                connection.persistDeadline = now + connection.persistInterval
            }
            if let deadline = connection.ackDeadline, deadline <= now {
                sendAck(connection)
            }
        }
        if !timeWait.isEmpty {
            for (endpoints, entry) in timeWait where entry.expires <= now { timeWait[endpoints] = nil }
        }
        flushEvents()
    }

    private func retransmissionTimeout(_ connection: TCPConnection) {
        connection.retransmissions += 1
        let limit = connection.state == .synReceived
            ? configuration.maximumSynAckRetransmissions : configuration.maximumRetransmissions
        guard connection.retransmissions <= limit else {
            counters[.timeouts] += 1
            if connection.state.isSynchronized { sendReset(for: connection) }
            remove(connection, error: .timedOut)
            return
        }
        let mss = connection.maximumSegmentSize
        if connection.state.isSynchronized {
            connection.slowStartThreshold = Swift.max(connection.bytesInFlight / 2, 2 * mss)
            connection.congestionWindow = mss
            connection.inFastRecovery = false
            connection.duplicateACKs = 0
        }
        connection.retransmissionTimeout = Swift.min(
            Interval(nanoseconds: connection.retransmissionTimeout.nanoseconds * 2), configuration.maximumRTO)
        if connection.state.isSynchronized {
            // Go back to the first unacknowledged byte and resend from there
            // as the (now one-segment) congestion window allows.
            counters[.retransmissions] += 1
            connection.rttSample = nil
            connection.sendNext = connection.sendUnacknowledged
            if connection.finSent && connection.finSequence - connection.sendUnacknowledged >= 0 { connection.finSent = false }
            connection.retransmitDeadline = nil
            output(connection)
            if connection.retransmitDeadline == nil && connection.bytesInFlight > 0 {
                connection.retransmitDeadline = now + connection.retransmissionTimeout
            }
        } else {
            retransmitFirst(connection)
        }
        connection.retransmitDeadline = now + connection.retransmissionTimeout
    }

    /// RFC 6298 §2: SRTT and RTTVAR from one sample per window (Karn's rule:
    /// none from retransmitted data).
    private func measureRTT(_ connection: TCPConnection, acknowledged ack: SequenceNumber) {
        guard let sample = connection.rttSample, ack - sample.sequence >= 0 else { return }
        connection.rttSample = nil
        let rtt = now.since(sample.sentAt)
        if let smoothed = connection.smoothedRTT {
            let difference = smoothed.nanoseconds > rtt.nanoseconds
                ? smoothed.nanoseconds - rtt.nanoseconds : rtt.nanoseconds - smoothed.nanoseconds
            connection.rttVariance = Interval(nanoseconds: (3 * connection.rttVariance.nanoseconds + difference) / 4)
            connection.smoothedRTT = Interval(nanoseconds: (7 * smoothed.nanoseconds + rtt.nanoseconds) / 8)
        } else {
            connection.smoothedRTT = rtt
            connection.rttVariance = Interval(nanoseconds: rtt.nanoseconds / 2)
        }
        let rto = connection.smoothedRTT!.nanoseconds + Swift.max(1_000_000, 4 * connection.rttVariance.nanoseconds)
        connection.retransmissionTimeout = Swift.min(
            Swift.max(Interval(nanoseconds: rto), configuration.minimumRTO), configuration.maximumRTO)
    }

    /// The earliest pending deadline, for the event loop's sleep.
    public var nextDeadline: Instant? {
        var earliest: Instant?
        func consider(_ deadline: Instant?) {
            guard let deadline else { return }
            if earliest == nil || deadline < earliest! { earliest = deadline }
        }
        for connection in connections.values {
            consider(connection.retransmitDeadline)
            consider(connection.ackDeadline)
            consider(connection.persistDeadline)
            consider(connection.connectDeadline)
            consider(connection.idleDeadline)
        }
        for entry in timeWait.values { consider(entry.expires) }
        return earliest
    }

    // MARK: Lifecycle

    private func enterTimeWait(_ connection: TCPConnection) {
        connections[connection.endpoints] = nil
        leaveOwner(connection)
        connection.state = .timeWait
        connection.retransmitDeadline = nil
        connection.ackDeadline = nil
        connection.persistDeadline = nil
        if timeWait.count >= configuration.maximumTimeWait {
            counters[.timeWaitLimitHits] += 1
            if let oldest = timeWait.min(by: { $0.value.expires < $1.value.expires }) { timeWait[oldest.key] = nil }
        }
        timeWait[connection.endpoints] = TimeWaitEntry(
            expires: now + configuration.timeWait, receiveNext: connection.receiveNext, sendNext: connection.sendNext)
        notify(connection)
    }

    func remove(_ connection: TCPConnection, error: TCPError?) {
        if connection.state == .synReceived { leaveHalfOpen(connection) }
        connections[connection.endpoints] = nil
        leaveOwner(connection)
        connection.state = .closed
        connection.error = error
        connection.retransmitDeadline = nil
        connection.ackDeadline = nil
        connection.persistDeadline = nil
        connection.connectDeadline = nil
        notify(connection)
    }

    /// Stops counting an ended connection against its listener's limits.
    private func leaveOwner(_ connection: TCPConnection) {
        guard let owner = connection.owner else { return }
        owner.members.removeAll { $0 === connection }
        connection.owner = nil
    }

    private func notify(_ connection: TCPConnection) {
        if !pendingEvents.contains(where: { $0 === connection }) { pendingEvents.append(connection) }
    }

    private func flushEvents() {
        while !pendingEvents.isEmpty || !acceptEvents.isEmpty {
            let listeners = acceptEvents
            acceptEvents.removeAll()
            for listener in listeners { listener.onAcceptable?() }
            let events = pendingEvents
            pendingEvents.removeAll()
            for connection in events {
                connection.onEvent?(connection)
                if connection.isFinished { connection.end() }
            }
        }
    }

    // MARK: Inspection

    public var connectionCount: Int { connections.count }
    public var timeWaitCount: Int { timeWait.count }

    /// Connections by state (TIME-WAIT from its table).
    public func count(in state: TCPState) -> Int {
        if state == .timeWait { return timeWait.count }
        return connections.values.reduce(0) { $0 + ($1.state == state ? 1 : 0) }
    }
}
