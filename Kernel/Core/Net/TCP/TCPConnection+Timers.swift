/// The connection's timers: connect and idle timeouts, retransmission
/// (RFC 6298 §5), persist probes and the delayed ACK. The layer decides
/// when to look (`tick`, `nextDeadline`); the connection handles what expired.
extension TCPConnection {
    /// Handles every deadline at or before the environment's time.
    func runTimers() {
        let now = environment.now
        if let deadline = connectDeadline, deadline <= now {
            environment.counters[.timeouts] += 1
            finish(error: .timedOut)
            return
        }
        if let deadline = idleDeadline, deadline <= now {
            environment.counters[.idleTimeouts] += 1
            if state.isSynchronized || state == .synReceived { sendReset() }
            finish(error: .idle)
            return
        }
        if let deadline = retransmitDeadline, deadline <= now {
            retransmissionTimeout()
            if isFinished { return }
        }
        if let deadline = persistDeadline, deadline <= now {
            // A probe just below the window elicits an ACK with the current window.
            environment.sendBare(endpoints, sequence: sendUnacknowledged + -1, acknowledgment: receiveNext, flags: [.ack],
                                 window: UInt16(receiveWindow))
            persistInterval = Swift.min(Interval(nanoseconds: persistInterval.nanoseconds * 2), environment.configuration.maximumRTO)
            persistDeadline = now + persistInterval
        }
        if let deadline = ackDeadline, deadline <= now {
            sendAck()
        }
    }

    /// The earliest of the connection's deadlines, if any.
    var nextDeadline: Instant? {
        let earliest = Instant.earlier(retransmitDeadline, ackDeadline)
        return Instant.earlier(Instant.earlier(earliest, persistDeadline), Instant.earlier(connectDeadline, idleDeadline))
    }

    private func retransmissionTimeout() {
        let now = environment.now
        let configuration = environment.configuration
        retransmissions += 1
        let limit = state == .synReceived ? configuration.maximumSynAckRetransmissions : configuration.maximumRetransmissions
        guard retransmissions <= limit else {
            environment.counters[.timeouts] += 1
            if state.isSynchronized { sendReset() }
            finish(error: .timedOut)
            return
        }
        if state.isSynchronized { congestion.timedOut(flight: bytesInFlight) }
        rtt.backOff()
        if state.isSynchronized {
            // Go back to the first unacknowledged byte and resend from there
            // as the (now one-segment) congestion window allows.
            environment.counters[.retransmissions] += 1
            rtt.cancelTiming()
            sendNext = sendUnacknowledged
            if finSent && finSequence - sendUnacknowledged >= 0 { finSent = false }
            retransmitDeadline = nil
            output()
            if retransmitDeadline == nil && bytesInFlight > 0 {
                retransmitDeadline = now + rtt.timeout
            }
        } else {
            retransmitFirst()
        }
        retransmitDeadline = now + rtt.timeout
    }
}

extension Instant {
    /// The earlier of two optional instants; nil only if both are.
    static func earlier(_ a: Instant?, _ b: Instant?) -> Instant? {
        guard let a else { return b }
        guard let b else { return a }
        return b < a ? b : a
    }
}
