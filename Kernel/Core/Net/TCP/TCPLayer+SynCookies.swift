/// SYN cookies: once the half-open quotas or the slots are taken, a SYN is
/// answered statelessly; the connection is made when the ACK returns a
/// valid cookie. The cookie is the ISN: 5 bits of time (64 s steps), 3 of
/// MSS index, 24 of keyed hash over the endpoints and the peer's ISN.
extension TCPLayer {
    static let cookieMSS: [Int] = [536, 1220, 1440, 1460]

    private func cookieHash(_ endpoints: TCPEndpointPair, peerSequence: SequenceNumber, time: UInt32, mssIndex: UInt32) -> UInt32 {
        var mixer = EntropyMixer(seed: cookieSecret)
        mixer.mix(UInt64(endpoints.localAddress.value) << 32 | UInt64(endpoints.remoteAddress.value))
        mixer.mix(UInt64(endpoints.localPort) << 48 | UInt64(endpoints.remotePort) << 32 | UInt64(peerSequence.raw))
        mixer.mix(UInt64(time) << 8 | UInt64(mssIndex))
        return UInt32(truncatingIfNeeded: mixer.next()) & 0x00FF_FFFF
    }

    private var cookieTime: UInt32 { UInt32(truncatingIfNeeded: now.nanoseconds / 64_000_000_000) & 31 }

    func sendCookie(_ endpoints: TCPEndpointPair, peerSequence: SequenceNumber, mss: Int) {
        var mssIndex: UInt32 = 0
        for (index, value) in TCPLayer.cookieMSS.enumerated() where value <= mss {
            mssIndex = UInt32(index)
        }
        let time = cookieTime
        let cookie = time << 27 | mssIndex << 24 | cookieHash(endpoints, peerSequence: peerSequence, time: time, mssIndex: mssIndex)
        environment.counters[.synCookiesSent] += 1
        environment.sendBare(endpoints, sequence: SequenceNumber(cookie), acknowledgment: peerSequence + 1, flags: [.syn, .ack],
                             window: UInt16(configuration.receiveBufferSize), mss: TCPLayer.cookieMSS[Int(mssIndex)])
    }

    /// The half-open connection a valid cookie in `segment` stands for, or
    /// nil (the caller resets) if the cookie is not valid or no slot is free.
    func acceptCookie(_ segment: TCPSegment, _ endpoints: TCPEndpointPair, _ listener: TCPListener) -> TCPConnection? {
        guard counters[.synCookiesSent] > 0 else { return nil }
        let cookie = segment.acknowledgmentNumber &- 1
        let peerSequence = SequenceNumber(segment.sequenceNumber) + -1
        let time = cookie >> 27
        let mssIndex = (cookie >> 24) & 7
        let current = cookieTime
        guard time == current || time == (current &- 1) & 31, Int(mssIndex) < TCPLayer.cookieMSS.count,
            cookie & 0x00FF_FFFF == cookieHash(endpoints, peerSequence: peerSequence, time: time, mssIndex: mssIndex)
        else {
            environment.counters[.synCookiesRejected] += 1
            return nil
        }
        guard admitsPassiveOpen() else { return nil }
        environment.counters[.synCookiesAccepted] += 1
        // The SYN-ACK went out already; nothing to retransmit.
        let connection = open(endpoints, state: .synReceived, initialSendSequence: SequenceNumber(cookie))
        connection.idleTimeout = listener.limits.idleTimeout
        enterHalfOpen(connection, listener)
        // The SYN's window is not known; the ACK's, processed next, sets it.
        connection.synchronize(peerSequence: peerSequence, window: 0,
                               mss: TCPConnection.sendingMSS(UInt16(TCPLayer.cookieMSS[Int(mssIndex)]), configuration: configuration))
        return connection
    }
}
