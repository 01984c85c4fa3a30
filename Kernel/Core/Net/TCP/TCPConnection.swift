/// One TCP connection: its control block (RFC 9293 §3.3.1), its buffers,
/// and the non-blocking API services use.
///
/// Nothing here blocks. `read` and `write` move what they can; `onEvent`
/// runs (from the event loop, never in the middle of segment processing)
/// whenever the connection became readable, writable, established or closed.
///
/// Lifetime: the layer owns the connection until it ends. After delivering
/// the final event (closed, reset, timed out, aborted or TIME-WAIT) it drops
/// the handler and frees both buffers, so a handler that captures its
/// connection, or an object holding it, can never keep either alive. The
/// handler is given the connection, so it has no need to capture it.
public final class TCPConnection {
    public let endpoints: TCPEndpointPair
    public internal(set) var state: TCPState
    /// Why the connection ended, if it did not close in order.
    public internal(set) var error: TCPError?
    /// Called with this connection after its readiness or state changed;
    /// dropped by the layer after the final event.
    public var onEvent: ((TCPConnection) -> Void)?
    /// When set, the layer resets the connection (error `.idle`, counted in
    /// `tcp-idle-timeouts`) once this long passes without progress: no new
    /// data from the peer and none of ours newly acknowledged. Pure ACKs,
    /// window probes and out-of-order data do not count, so a peer that
    /// never reads or only trickles probes is reaped too. Applies in every
    /// state until TIME-WAIT; nil (the default for `connect`) means never.
    public var idleTimeout: Interval?
    /// When the connection last made progress (see `idleTimeout`).
    public internal(set) var lastActivity: Instant

    let layer: TCPLayer
    /// The listener while the handshake is half-open.
    var listener: TCPListener?
    /// The listener whose limits this established connection counts against, until it ends.
    var owner: TCPListener?

    // Send sequence space. `sendBuffer` holds the bytes from `sendUnacknowledged` on.
    var initialSendSequence = SequenceNumber(0)
    var sendUnacknowledged = SequenceNumber(0)
    var sendNext = SequenceNumber(0)
    /// The highest `sendNext` has reached: after a timeout `sendNext` goes
    /// back to resend, but acknowledgments up to here are still valid.
    var sendMaximum = SequenceNumber(0)
    var sendWindow = 0
    var windowUpdateSequence = SequenceNumber(0)
    var windowUpdateAcknowledgment = SequenceNumber(0)
    var sendBuffer: ByteRing
    var finQueued = false
    var finSent = false
    var finSequence = SequenceNumber(0)
    var maximumSegmentSize = 536

    // Receive sequence space. `receiveBuffer` holds delivered, unread bytes.
    var initialReceiveSequence = SequenceNumber(0)
    var receiveNext = SequenceNumber(0)
    var receiveBuffer: ByteRing
    var reassembly: ReassemblyRanges
    var peerFinSequence: SequenceNumber?
    public internal(set) var finReceived = false
    var advertisedWindow = 0

    // Retransmission (RFC 6298) and congestion control (RFC 5681, Reno).
    var smoothedRTT: Interval?
    var rttVariance = Interval.zero
    var retransmissionTimeout: Interval
    var rttSample: (sequence: SequenceNumber, sentAt: Instant)?
    var retransmitDeadline: Instant?
    var retransmissions = 0
    var congestionWindow = 0
    var slowStartThreshold = 65535
    var duplicateACKs = 0
    var inFastRecovery = false
    var recoveryPoint = SequenceNumber(0)

    // Acknowledgment and probing.
    var ackDeadline: Instant?
    var ackNow = false
    var segmentsSinceACK = 0
    var persistDeadline: Instant?
    var persistInterval = Interval.zero
    var connectDeadline: Instant?
    var released = false

    init(layer: TCPLayer, endpoints: TCPEndpointPair, state: TCPState) {
        self.layer = layer
        self.endpoints = endpoints
        self.state = state
        sendBuffer = ByteRing(capacity: layer.configuration.sendBufferSize)
        receiveBuffer = ByteRing(capacity: layer.configuration.receiveBufferSize)
        reassembly = ReassemblyRanges(limit: layer.configuration.reassemblyRanges)
        retransmissionTimeout = layer.configuration.initialRTO
        lastActivity = layer.currentTime
    }

    deinit { releaseBuffers() }

    func releaseBuffers() {
        guard !released else { return }
        released = true
        sendBuffer.release()
        receiveBuffer.release()
    }

    /// Called by the layer once the final event has been delivered: breaks
    /// any cycle through the handler and returns the buffers' memory now,
    /// whoever still holds a reference.
    func end() {
        onEvent = nil
        releaseBuffers()
    }

    // MARK: The service's view

    /// Bytes ready to `read`.
    public var readableBytes: Int { released ? 0 : receiveBuffer.count }

    /// The peer has finished sending and everything it sent has been read.
    public var atEndOfStream: Bool { (finReceived || isFinished) && readableBytes == 0 }

    /// Room for `write`, or 0 once the connection can no longer send.
    public var writableSpace: Int {
        guard !released, !finQueued, state == .established || state == .closeWait else { return 0 }
        return sendBuffer.free
    }

    /// Closed, reset, timed out or aborted: nothing more will happen.
    public var isFinished: Bool { state == .closed || state == .timeWait }

    /// Copies received bytes out; returns how many.
    public func read(into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard !released else { return 0 }
        let count = receiveBuffer.read(into: destination)
        if count > 0 { layer.windowOpened(self) }
        return count
    }

    /// Queues bytes to send; returns how many fit.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard writableSpace > 0 else { return 0 }
        let count = sendBuffer.append(bytes)
        if count > 0 { layer.output(self) }
        return count
    }

    /// Orderly close: a FIN follows the data already written.
    public func close() {
        switch state {
        case .synSent:
            layer.remove(self, error: nil)
        case .synReceived, .established, .closeWait:
            guard !finQueued else { return }
            finQueued = true
            layer.output(self)
        default:
            break
        }
    }

    /// Abortive close: a reset to the peer, buffers dropped.
    public func abort() {
        guard !isFinished else { return }
        if state.isSynchronized || state == .synReceived { layer.sendReset(for: self) }
        layer.remove(self, error: .aborted)
    }

    // MARK: Sequence-space helpers

    /// Bytes in flight (sent, unacknowledged), SYN and FIN included.
    var bytesInFlight: Int { sendNext - sendUnacknowledged }

    /// Offset in `sendBuffer` of the next byte to send.
    var sendOffset: Int {
        var offset = sendNext - sendUnacknowledged
        if state == .synSent || state == .synReceived { offset -= 1 }
        if finSent && sendNext - finSequence > 0 { offset -= 1 }
        return Swift.max(0, offset)
    }

    /// Whether a source at its share should give up this connection before
    /// `other`: one whose close has begun (it is going anyway) first, then
    /// the longest idle.
    func evictsBefore(_ other: TCPConnection) -> Bool {
        let closing = finReceived || finQueued
        let otherClosing = other.finReceived || other.finQueued
        if closing != otherClosing { return closing }
        return lastActivity < other.lastActivity
    }

    /// When `idleTimeout` runs out, if set.
    var idleDeadline: Instant? { idleTimeout.map { lastActivity + $0 } }

    var receiveWindow: Int { Swift.min(65535, released ? 0 : receiveBuffer.free) }
}

/// A passive open: a port that accepts connections on some local addresses.
public final class TCPListener {
    public let port: UInt16
    public let addresses: [IPv4Address]
    public let backlog: Int
    public let limits: TCPListenerLimits
    /// Called when `accept` has a connection to give.
    public var onAcceptable: (() -> Void)?
    var acceptQueue: [TCPConnection] = []
    var halfOpen = 0
    /// Established connections counted against `limits`, until each ends.
    var members: [TCPConnection] = []
    public internal(set) var isClosed = false
    let layer: TCPLayer

    init(layer: TCPLayer, port: UInt16, addresses: [IPv4Address], backlog: Int, limits: TCPListenerLimits) {
        self.layer = layer
        self.port = port
        self.addresses = addresses
        self.backlog = backlog
        self.limits = limits
        // Room for every member up front: admitting one does not allocate.
        members.reserveCapacity(Swift.min(limits.maximumConnections, layer.configuration.maximumConnections))
    }

    /// Established connections from this listener that have not ended.
    public var connectionCount: Int { members.count }

    /// The next established connection, or nil.
    public func accept() -> TCPConnection? {
        acceptQueue.isEmpty ? nil : acceptQueue.removeFirst()
    }

    public var pendingConnections: Int { acceptQueue.count }

    /// Stops accepting; connections already accepted carry on.
    public func close() {
        isClosed = true
        for connection in acceptQueue { connection.abort() }
        acceptQueue.removeAll()
        layer.removeListener(self)
    }
}
