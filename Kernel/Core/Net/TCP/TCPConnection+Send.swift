/// Output: segmentation within the send and congestion windows, FIN,
/// acknowledgments, retransmission of the first segment, and resets.
extension TCPConnection {
    /// An active open's SYN, with the connect and retransmission timers.
    func sendSyn() {
        let now = environment.now
        connectDeadline = now + environment.configuration.connectTimeout
        retransmitDeadline = now + rtt.timeout
        sendOpening()
    }

    /// A passive open's SYN-ACK, with the retransmission timer.
    func sendSynAck() {
        retransmitDeadline = environment.now + rtt.timeout
        sendOpening()
    }

    /// The SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), with our MSS.
    func sendOpening() {
        sendSegment(sequence: initialSendSequence, flags: state == .synSent ? [.syn] : [.syn, .ack],
                    mss: environment.configuration.mss)
    }

    /// Sends what the windows allow, a FIN when due, and any owed ACK.
    func output() {
        guard !isFinished, !released else { return }
        switch state {
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            break
        case .synReceived, .finWait2:
            // Nothing more to send, but received data still wants acknowledging.
            if ackNow { sendAck() }
            return
        default:
            return
        }
        let mss = maximumSegmentSize
        while true {
            let inFlight = bytesInFlight
            let window = Swift.min(sendWindow, congestion.window)
            let offset = sendOffset
            let unsent = sendBuffer.count - offset
            let finDue = finQueued && !finSent && unsent == 0
            if unsent > 0 && window - inFlight > 0 {
                let length = Swift.min(unsent, window - inFlight, mss)
                guard length > 0 else { break }
                let fin = finQueued && !finSent && length == unsent
                sendSegment(sequence: sendNext, flags: fin ? [.ack, .psh, .fin] : (length == unsent ? [.ack, .psh] : [.ack]),
                            payloadOffset: offset, payloadLength: length)
                advance(by: length, fin: fin)
                continue
            }
            if finDue {
                sendSegment(sequence: sendNext, flags: [.ack, .fin])
                advance(by: 0, fin: true)
                continue
            }
            if unsent > 0 && sendWindow == 0 && inFlight == 0 && persistDeadline == nil {
                persistInterval = rtt.timeout
                persistDeadline = environment.now + persistInterval
            }
            break
        }
        if ackNow { sendAck() }
    }

    /// Moves `sendNext` past `length` bytes just sent (and the FIN), timing
    /// the segment and arming the retransmission timer.
    private func advance(by length: Int, fin: Bool) {
        let now = environment.now
        if length > 0 { rtt.startTiming(until: sendNext + length, at: now) }
        sendNext += length
        if fin {
            finSent = true
            finSequence = sendNext
            sendNext += 1
        }
        sendMaximum = SequenceNumber.max(sendMaximum, sendNext)
        if fin {
            if state == .established { state = .finWait1 }
            if state == .closeWait { state = .lastAck }
        }
        if retransmitDeadline == nil { retransmitDeadline = now + rtt.timeout }
        ackNow = false
        ackDeadline = nil
        segmentsSinceACK = 0
    }

    func sendAck() {
        ackNow = false
        ackDeadline = nil
        segmentsSinceACK = 0
        sendSegment(sequence: sendNext, flags: [.ack])
    }

    /// Resends the first unacknowledged segment (SYN, data or FIN).
    func retransmitFirst() {
        environment.counters[.retransmissions] += 1
        rtt.cancelTiming()
        if state == .synSent || state == .synReceived {
            sendOpening()
            return
        }
        let length = Swift.min(sendBuffer.count, maximumSegmentSize)
        let finOnly = length == 0 && finSent
        let fin = finSent && length == sendBuffer.count
        if length > 0 || finOnly {
            sendSegment(sequence: sendUnacknowledged, flags: fin ? [.ack, .fin] : [.ack, .psh],
                        payloadOffset: 0, payloadLength: length)
        }
    }

    /// After a read: tells the peer once the window has grown by a segment
    /// or half the buffer since last advertised.
    func windowOpened() {
        let window = receiveWindow
        if window - advertisedWindow >= Swift.min(maximumSegmentSize, environment.configuration.receiveBufferSize / 2) {
            ackNow = true
            output()
        }
    }

    /// A reset to the peer from where this connection stands.
    func sendReset() {
        environment.sendBare(endpoints, sequence: sendNext, acknowledgment: receiveNext, flags: [.rst, .ack], window: 0)
        environment.counters[.resetsSent] += 1
    }

    /// A segment carrying `payloadLength` bytes of the send buffer from `payloadOffset`.
    func sendSegment(
        sequence: SequenceNumber, flags: TCPSegment.Flags, mss: UInt16? = nil, payloadOffset: Int = 0, payloadLength: Int = 0
    ) {
        let window = receiveWindow
        advertisedWindow = window
        // Everything but the opening SYN acknowledges what has been received.
        let opening = flags == [.syn]
        environment.build(
            endpoints, sequence: sequence, acknowledgment: opening ? SequenceNumber(0) : receiveNext,
            flags: opening ? flags : flags.union(.ack),
            window: UInt16(window), mss: mss, payloadLength: payloadLength
        ) { destination in
            _ = sendBuffer.peek(from: payloadOffset, into: destination)
        }
    }
}
