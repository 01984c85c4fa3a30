/// Segment arrival (RFC 9293 §3.10.7.3-4): the checks in the RFC's order,
/// acknowledgment processing, data, and FIN.
extension TCPConnection {
    /// Processes one segment the layer demultiplexed to this connection.
    func process(_ segment: TCPSegment) {
        if state == .synSent {
            processSynSent(segment)
            return
        }
        let flags = segment.flags
        var sequence = SequenceNumber(segment.sequenceNumber)
        var payload = UnsafeRawBufferPointer(segment.payload)
        var hasFin = flags.contains(.fin)
        let length = payload.count + (flags.contains(.syn) ? 1 : 0) + (hasFin ? 1 : 0)

        // 1. Is any of it in the receive window?
        guard TCPConnection.acceptable(sequence, length: length, window: receiveWindow, next: receiveNext) else {
            if !flags.contains(.rst) {
                if sequence < receiveNext { environment.counters[.duplicateSegments] += 1 }
                ackNow = true
                output()
            }
            return
        }
        // 2. Resets (RFC 5961 §3.2): only an exact match resets; in-window gets a challenge.
        if flags.contains(.rst) {
            if sequence == receiveNext {
                environment.counters[.resetsReceived] += 1
                finish(error: state == .synReceived ? nil : .reset)
            } else {
                challenge()
            }
            return
        }
        // 4. A SYN in a synchronized state (RFC 5961 §4).
        if flags.contains(.syn) {
            challenge()
            return
        }
        // 5. The acknowledgment.
        guard flags.contains(.ack) else { return }
        let ack = SequenceNumber(segment.acknowledgmentNumber)
        if state == .synReceived {
            guard ack - sendUnacknowledged > 0, ack - sendNext <= 0 else {
                environment.sendReset(endpoints, sequence: ack, acknowledgment: nil)
                return
            }
            establish()
        }
        if ack - sendMaximum > 0 {
            // Acknowledges something never sent.
            ackNow = true
            output()
            return
        }
        processAcknowledgment(ack, segment: segment, sequence: sequence, payloadLength: payload.count)
        if isFinished { return }

        // Trim what was already received.
        let duplicate = receiveNext - sequence
        if duplicate > 0 {
            let dropped = Swift.min(duplicate, payload.count)
            payload = UnsafeRawBufferPointer(rebasing: payload[dropped...])
            sequence += dropped
        }
        // 7. Data.
        if payload.count > 0 {
            switch state {
            case .established, .finWait1, .finWait2:
                receiveData(payload, at: sequence)
            default:
                break
            }
        }
        // 8. FIN, once everything before it has arrived.
        if hasFin {
            let finAt = SequenceNumber(segment.sequenceNumber) + segment.payload.count
            if finAt - receiveNext > receiveWindow { hasFin = false }
            if hasFin { peerFinSequence = finAt }
        }
        processFin()
    }

    private func processSynSent(_ segment: TCPSegment) {
        let flags = segment.flags
        let ack = SequenceNumber(segment.acknowledgmentNumber)
        if flags.contains(.ack) {
            guard ack - initialSendSequence > 0, ack - sendNext <= 0 else {
                if !flags.contains(.rst) { environment.sendReset(endpoints, sequence: ack, acknowledgment: nil) }
                return
            }
        }
        if flags.contains(.rst) {
            if flags.contains(.ack) {
                environment.counters[.resetsReceived] += 1
                finish(error: .refused)
            }
            return
        }
        guard flags.contains(.syn) else { return }
        let peerSequence = SequenceNumber(segment.sequenceNumber)
        synchronize(peerSequence: peerSequence, window: Int(segment.window),
                    mss: TCPConnection.sendingMSS(segment.maximumSegmentSize, configuration: environment.configuration))
        windowUpdateAcknowledgment = ack
        if flags.contains(.ack) {
            sendUnacknowledged = ack
            rtt.acknowledged(ack, at: environment.now)
            establish()
            ackNow = true
        } else {
            // Simultaneous open.
            state = .synReceived
            sendOpening()
            return
        }
        let payload = UnsafeRawBufferPointer(segment.payload)
        if payload.count > 0 { receiveData(payload, at: peerSequence + 1) }
        output()
    }

    /// The handshake completed: ESTABLISHED, then the layer's admission for a passive open.
    private func establish() {
        state = .established
        connectDeadline = nil
        retransmissions = 0
        congestion.start(segmentSize: maximumSegmentSize)
        if sendUnacknowledged == initialSendSequence {
            sendUnacknowledged = initialSendSequence + 1
        }
        retransmitDeadline = nil
        lastActivity = environment.now
        environment.transition(self, .established)
        environment.notify(self)
    }

    private func processAcknowledgment(_ ack: SequenceNumber, segment: TCPSegment, sequence: SequenceNumber, payloadLength: Int) {
        let now = environment.now
        let newlyAcked = ack - sendUnacknowledged
        if newlyAcked > 0 {
            var dataAcked = newlyAcked
            if finSent && ack - finSequence > 0 { dataAcked -= 1 }
            sendBuffer.discard(Swift.min(dataAcked, sendBuffer.count))
            sendUnacknowledged = ack
            lastActivity = now
            if sendNext - ack < 0 { sendNext = ack }
            rtt.acknowledged(ack, at: now)
            retransmissions = 0
            if congestion.acknowledged(newlyAcked, upTo: ack) == .firstUnacknowledged {
                // Partial acknowledgment (RFC 6582): resend the next hole at once.
                retransmitFirst()
            }
            retransmitDeadline = bytesInFlight > 0 ? now + rtt.timeout : nil
            persistDeadline = nil
            environment.notify(self)
            ourFinAcknowledged(ack)
        } else if newlyAcked == 0 && payloadLength == 0 && !segment.flags.contains(.fin)
            && bytesInFlight > 0 && Int(segment.window) == sendWindow
        {
            if congestion.duplicateAcknowledged(flight: bytesInFlight, sendNext: sendNext) == .firstUnacknowledged {
                environment.counters[.fastRetransmits] += 1
                retransmitFirst()
            }
        }
        // Window update (RFC 9293 §3.10.7.4): only from newer segments.
        if windowUpdateSequence - sequence < 0
            || (windowUpdateSequence == sequence && windowUpdateAcknowledgment - ack <= 0)
        {
            let opened = sendWindow == 0 && segment.window > 0
            sendWindow = Int(segment.window)
            windowUpdateSequence = sequence
            windowUpdateAcknowledgment = ack
            if opened {
                persistDeadline = nil
                environment.notify(self)
            }
        }
    }

    private func ourFinAcknowledged(_ ack: SequenceNumber) {
        guard finSent, ack - finSequence > 0 else { return }
        switch state {
        case .finWait1: state = .finWait2
        case .closing: enterTimeWait()
        case .lastAck: finish(error: nil)
        default: break
        }
    }

    private func receiveData(_ payload: UnsafeRawBufferPointer, at sequence: SequenceNumber) {
        let offset = sequence - receiveNext
        if offset == 0 {
            let stored = receiveBuffer.append(payload)
            let contiguous = reassembly.advance(by: stored)
            receiveBuffer.commit(contiguous)
            receiveNext += stored + contiguous
            if stored > 0 { lastActivity = environment.now }
            segmentsSinceACK += 1
            if contiguous > 0 || !reassembly.isEmpty || segmentsSinceACK >= 2 {
                ackNow = true
            } else if ackDeadline == nil {
                ackDeadline = environment.now + environment.configuration.delayedACK
            }
            if stored > 0 { environment.notify(self) }
        } else if offset > 0 {
            environment.counters[.outOfOrderSegments] += 1
            let stored = receiveBuffer.write(payload, at: offset)
            if !reassembly.insert(offset, offset + stored) { environment.counters[.reassemblyLimitHits] += 1 }
            // An immediate duplicate ACK tells the sender where the hole is.
            ackNow = true
        }
    }

    private func processFin() {
        guard let finAt = peerFinSequence, finAt == receiveNext, !finReceived else { return }
        finReceived = true
        lastActivity = environment.now
        receiveNext += 1
        ackNow = true
        switch state {
        case .synReceived, .established:
            state = .closeWait
        case .finWait1:
            state = .closing
        case .finWait2:
            ackNow = false
            sendSegment(sequence: sendNext, flags: [.ack])
            enterTimeWait()
        default:
            break
        }
        environment.notify(self)
    }

    /// RFC 9293 §3.10.7.4's acceptability test: whether any of a segment of
    /// `length` at `sequence` falls in the window of `window` from `next`.
    static func acceptable(_ sequence: SequenceNumber, length: Int, window: Int, next: SequenceNumber) -> Bool {
        let offset = sequence - next
        if length == 0 {
            return window == 0 ? offset == 0 : offset >= 0 && offset < window
        }
        guard window > 0 else { return false }
        let lastOffset = offset + length - 1
        return (offset >= 0 && offset < window) || (lastOffset >= 0 && lastOffset < window)
    }

    /// A challenge ACK (RFC 5961), within the shared budget.
    private func challenge() {
        guard environment.takeChallenge() else { return }
        environment.counters[.challengeACKs] += 1
        sendSegment(sequence: sendNext, flags: [.ack])
    }

    /// The MSS to send with to a peer that advertised `advertised`: at
    /// least `TCPConfiguration.minimumPeerMSS`, at most ours.
    static func sendingMSS(_ advertised: UInt16?, configuration: TCPConfiguration) -> Int {
        let peer = Swift.max(Int(advertised ?? 536), TCPConfiguration.minimumPeerMSS)
        return Swift.max(1, Swift.min(peer, Int(configuration.mss)))
    }
}
