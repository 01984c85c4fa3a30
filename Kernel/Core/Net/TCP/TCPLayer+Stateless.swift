/// Segments that meet no connection: TIME-WAIT remnants, and resets for
/// segments to closed ports or refused by policy.
extension TCPLayer {
    func processTimeWait(_ segment: TCPSegment, _ endpoints: TCPEndpointPair) {
        guard var entry = timeWait[endpoints] else { return }
        let flags = segment.flags
        // RFC 1337: a reset does not end TIME-WAIT early.
        if flags.contains(.rst) { return }
        if flags.contains(.syn) && !flags.contains(.ack) && SequenceNumber(segment.sequenceNumber) - entry.receiveNext > 0,
            let listener = listener(port: endpoints.localPort, address: endpoints.localAddress)
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
        environment.sendBare(endpoints, sequence: entry.sendNext, acknowledgment: entry.receiveNext, flags: [.ack], window: 0)
    }

    /// Answers a segment with the reset a closed port would send (RFC 9293
    /// §3.10.7.1): how the balancer refuses a connection it cannot place.
    public func refuse(_ bytes: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address, now: Instant) {
        environment.now = now
        guard let segment = try? TCPSegment(parsing: bytes) else { return }
        resetUnknown(segment, TCPEndpointPair(
            localAddress: destination, localPort: segment.destinationPort, remoteAddress: source, remotePort: segment.sourcePort))
    }

    func resetUnknown(_ segment: TCPSegment, _ endpoints: TCPEndpointPair) {
        let flags = segment.flags
        guard !flags.contains(.rst) else { return }
        if flags.contains(.ack) {
            environment.sendReset(endpoints, sequence: SequenceNumber(segment.acknowledgmentNumber), acknowledgment: nil)
        } else {
            var length = segment.payload.count
            if flags.contains(.syn) { length += 1 }
            if flags.contains(.fin) { length += 1 }
            environment.sendReset(endpoints, sequence: SequenceNumber(0), acknowledgment: SequenceNumber(segment.sequenceNumber) + length)
        }
    }
}
