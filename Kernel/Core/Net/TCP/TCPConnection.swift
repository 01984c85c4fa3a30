/// One TCP connection: its control block (RFC 9293 §3.3.1), its buffers,
/// its state machine, and the non-blocking API services use.
///
/// The connection processes the segments and timers the layer hands it
/// (`TCPConnection+Receive`, `+Send`, `+Timers`) through its
/// `TCPEnvironment`; the layer demultiplexes, keeps the tables and runs
/// admission, following the connection's `TCPTransition`s.
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

    let environment: TCPEnvironment
    /// The listener while the handshake is half-open.
    var listener: TCPListener?
    /// The listener whose limits this established connection counts against, until it ends.
    var owner: TCPListener?

    // Send sequence space. `sendBuffer` holds the bytes from `sendUnacknowledged` on.
    let initialSendSequence: SequenceNumber
    var sendUnacknowledged: SequenceNumber
    var sendNext: SequenceNumber
    /// The highest `sendNext` has reached: after a timeout `sendNext` goes
    /// back to resend, but acknowledgments up to here are still valid.
    var sendMaximum: SequenceNumber
    var sendWindow = 0
    var windowUpdateSequence = SequenceNumber(0)
    var windowUpdateAcknowledgment = SequenceNumber(0)
    var sendBuffer: ByteRing
    var finQueued = false
    var finSent = false
    var finSequence = SequenceNumber(0)
    var maximumSegmentSize = TCPConfiguration.minimumPeerMSS

    // Receive sequence space. `receiveBuffer` holds delivered, unread bytes.
    var initialReceiveSequence = SequenceNumber(0)
    var receiveNext = SequenceNumber(0)
    var receiveBuffer: ByteRing
    var reassembly: ReassemblyRanges
    var peerFinSequence: SequenceNumber?
    public internal(set) var finReceived = false
    var advertisedWindow = 0

    // Retransmission (RFC 6298) and congestion control (RFC 5681, NewReno).
    var rtt: RTTEstimator
    var congestion = CongestionController()
    var retransmitDeadline: Instant?
    var retransmissions = 0

    // Acknowledgment and probing.
    var ackDeadline: Instant?
    var ackNow = false
    var segmentsSinceACK = 0
    var persistDeadline: Instant?
    var persistInterval = Interval.zero
    var connectDeadline: Instant?
    var released = false

    /// A connection in `state` whose first segment is its SYN at
    /// `initialSendSequence`: the one place the send sequence space starts.
    init(environment: TCPEnvironment, endpoints: TCPEndpointPair, state: TCPState, initialSendSequence: SequenceNumber) {
        let configuration = environment.configuration
        self.environment = environment
        self.endpoints = endpoints
        self.state = state
        self.initialSendSequence = initialSendSequence
        sendUnacknowledged = initialSendSequence
        sendNext = initialSendSequence + 1
        sendMaximum = initialSendSequence + 1
        sendBuffer = ByteRing(capacity: configuration.sendBufferSize)
        receiveBuffer = ByteRing(capacity: configuration.receiveBufferSize)
        reassembly = ReassemblyRanges(limit: configuration.reassemblyRanges)
        rtt = RTTEstimator(initial: configuration.initialRTO, minimum: configuration.minimumRTO, maximum: configuration.maximumRTO)
        lastActivity = environment.now
    }

    /// The peer's SYN at `sequence` arrived, offering `window` and an MSS
    /// of `mss` (already bounded): the one place the receive sequence space starts.
    func synchronize(peerSequence sequence: SequenceNumber, window: Int, mss: Int) {
        initialReceiveSequence = sequence
        receiveNext = sequence + 1
        sendWindow = window
        windowUpdateSequence = sequence
        maximumSegmentSize = mss
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
        if count > 0 { windowOpened() }
        return count
    }

    /// Queues bytes to send; returns how many fit.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard writableSpace > 0 else { return 0 }
        let count = sendBuffer.append(bytes)
        if count > 0 { output() }
        return count
    }

    /// Orderly close: a FIN follows the data already written.
    public func close() {
        switch state {
        case .synSent:
            finish(error: nil)
        case .synReceived, .established, .closeWait:
            guard !finQueued else { return }
            finQueued = true
            output()
        default:
            break
        }
    }

    /// Abortive close: a reset to the peer, buffers dropped.
    public func abort() {
        guard !isFinished else { return }
        if state.isSynchronized || state == .synReceived { sendReset() }
        finish(error: .aborted)
    }

    // MARK: Ending

    /// Ends the connection (CLOSED) with `error`, leaving the layer's tables.
    func finish(error: TCPError?) {
        environment.transition(self, .closed)
        state = .closed
        self.error = error
        retransmitDeadline = nil
        ackDeadline = nil
        persistDeadline = nil
        connectDeadline = nil
        environment.notify(self)
    }

    /// Enters TIME-WAIT: the layer keeps a remnant of the endpoints and sequence numbers.
    func enterTimeWait() {
        environment.transition(self, .timeWait)
        state = .timeWait
        retransmitDeadline = nil
        ackDeadline = nil
        persistDeadline = nil
        environment.notify(self)
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
