/// Passive opens: a segment to a listener with no connection yet.
extension TCPLayer {
    func processListen(_ segment: TCPSegment, _ endpoints: TCPEndpointPair, _ listener: TCPListener) {
        let flags = segment.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) {
            // Possibly the third step of a handshake answered with a cookie.
            if !flags.contains(.syn), let connection = acceptCookie(segment, endpoints, listener) {
                connection.process(segment)
            } else {
                environment.sendReset(endpoints, sequence: SequenceNumber(segment.acknowledgmentNumber), acknowledgment: nil)
            }
            return
        }
        guard flags.contains(.syn) else { return }
        let peerSequence = SequenceNumber(segment.sequenceNumber)
        let mss = TCPConnection.sendingMSS(segment.maximumSegmentSize, configuration: configuration)
        // A cookie costs no slot: with the slots or the half-open quotas
        // taken, the SYN still gets its answer, and only the cookie's ACK
        // needs a slot.
        if !admitsPassiveOpen() || !admitsHalfOpen(to: listener) {
            sendCookie(endpoints, peerSequence: peerSequence, mss: mss)
            return
        }
        let connection = open(endpoints, state: .synReceived, initialSendSequence: SequenceNumber(random()))
        connection.idleTimeout = listener.limits.idleTimeout
        enterHalfOpen(connection, listener)
        connection.synchronize(peerSequence: peerSequence, window: Int(segment.window), mss: mss)
        connection.sendSynAck()
    }
}
