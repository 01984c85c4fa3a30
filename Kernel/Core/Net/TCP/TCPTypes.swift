/// The connection states of RFC 9293 §3.3.2.
public enum TCPState: Int, CaseIterable, Sendable {
    case closed, listen, synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait

    public var name: StaticString {
        switch self {
        case .closed: return "CLOSED"
        case .listen: return "LISTEN"
        case .synSent: return "SYN-SENT"
        case .synReceived: return "SYN-RECEIVED"
        case .established: return "ESTABLISHED"
        case .finWait1: return "FIN-WAIT-1"
        case .finWait2: return "FIN-WAIT-2"
        case .closeWait: return "CLOSE-WAIT"
        case .closing: return "CLOSING"
        case .lastAck: return "LAST-ACK"
        case .timeWait: return "TIME-WAIT"
        }
    }

    /// States in which both sides' initial sequence numbers are known.
    var isSynchronized: Bool { rawValue >= TCPState.established.rawValue }
}

/// Why a connection ended other than by an orderly close.
public enum TCPError: Error, Equatable, Sendable {
    /// The peer reset it.
    case reset
    /// A segment went unacknowledged through every retransmission.
    case timedOut
    /// `connect` found no listener (the peer answered with a reset).
    case refused
    /// The connection was aborted locally.
    case aborted
    /// A resource limit refused it.
    case limit
}

/// The four numbers that name a connection.
public struct TCPEndpointPair: Hashable, Sendable {
    public var localAddress: IPv4Address
    public var localPort: UInt16
    public var remoteAddress: IPv4Address
    public var remotePort: UInt16
}

/// Limits and timings. Every limit has a counter for the times it was hit.
public struct TCPConfiguration: Sendable {
    public var maximumConnections = 256
    /// Half-open (SYN-RECEIVED) connections kept before answering with SYN cookies instead.
    public var maximumHalfOpen = 64
    public var maximumTimeWait = 512
    public var sendBufferSize = 16 * 1024
    public var receiveBufferSize = 16 * 1024
    public var reassemblyRanges = 8
    public var mss: UInt16 = 1460
    public var minimumRTO = Interval.milliseconds(200)
    public var maximumRTO = Interval.seconds(60)
    public var initialRTO = Interval.seconds(1)
    public var maximumRetransmissions = 8
    public var delayedACK = Interval.milliseconds(40)
    public var timeWait = Interval.seconds(30)
    public var connectTimeout = Interval.seconds(10)

    public init() {}
}

/// Counters kept by the TCP layer.
public struct TCPCounters: Sendable, Equatable {
    public var segmentsReceived: UInt64 = 0
    public var segmentsSent: UInt64 = 0
    public var activeOpens: UInt64 = 0
    public var passiveOpens: UInt64 = 0
    public var resetsSent: UInt64 = 0
    public var resetsReceived: UInt64 = 0
    public var retransmissions: UInt64 = 0
    public var fastRetransmits: UInt64 = 0
    public var timeouts: UInt64 = 0
    public var outOfOrderSegments: UInt64 = 0
    public var duplicateSegments: UInt64 = 0
    public var challengeACKs: UInt64 = 0
    public var synCookiesSent: UInt64 = 0
    public var synCookiesAccepted: UInt64 = 0
    public var synCookiesRejected: UInt64 = 0
    public var badChecksum: UInt64 = 0
    public var malformed: UInt64 = 0
    public var connectionLimitHits: UInt64 = 0
    public var backlogLimitHits: UInt64 = 0
    public var timeWaitLimitHits: UInt64 = 0
    public var reassemblyLimitHits: UInt64 = 0
    public var noBufferDrops: UInt64 = 0

    public init() {}

    @inline(never)
    public func forEach(_ body: (StaticString, UInt64) -> Void) {
        body("tcp-segments-received", segmentsReceived)
        body("tcp-segments-sent", segmentsSent)
        body("tcp-active-opens", activeOpens)
        body("tcp-passive-opens", passiveOpens)
        body("tcp-resets-sent", resetsSent)
        body("tcp-resets-received", resetsReceived)
        body("tcp-retransmissions", retransmissions)
        body("tcp-fast-retransmits", fastRetransmits)
        body("tcp-timeouts", timeouts)
        body("tcp-out-of-order", outOfOrderSegments)
        body("tcp-duplicates", duplicateSegments)
        body("tcp-challenge-acks", challengeACKs)
        body("tcp-syn-cookies-sent", synCookiesSent)
        body("tcp-syn-cookies-accepted", synCookiesAccepted)
        body("tcp-syn-cookies-rejected", synCookiesRejected)
        body("tcp-bad-checksum", badChecksum)
        body("tcp-malformed", malformed)
        body("tcp-connection-limit", connectionLimitHits)
        body("tcp-backlog-limit", backlogLimitHits)
        body("tcp-time-wait-limit", timeWaitLimitHits)
        body("tcp-reassembly-limit", reassemblyLimitHits)
        body("tcp-no-buffer", noBufferDrops)
    }
}
