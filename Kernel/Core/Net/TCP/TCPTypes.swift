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
    /// A resource limit refused it, or a newer connection from the same
    /// source replaced it (`TCPListenerLimits.maximumPerSource`).
    case limit
    /// Nothing moved either way for its `idleTimeout`.
    case idle
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
    /// Half-open (SYN-RECEIVED) connections kept per listener before
    /// answering with SYN cookies instead.
    public var maximumHalfOpen = 64
    /// Half-open connections kept across all listeners, and never more than
    /// half the slots passive opens may take: handshakes that complete,
    /// cookies included, always find slots however many SYNs are spoofed.
    public var maximumHalfOpenTotal = 128
    /// SYN-ACK retransmissions before a half-open connection is dropped
    /// (about 15 s at the initial RTO), so spoofed SYNs free their entries soon.
    public var maximumSynAckRetransmissions = 3
    public var maximumTimeWait = 512
    public var sendBufferSize = 16 * 1024
    public var receiveBufferSize = 16 * 1024
    public var reassemblyRanges = 8
    public var mss: UInt16 = 1460
    /// The least MSS used towards a peer, whatever it advertises: RFC 9293's
    /// default, which every IPv4 host must accept. A smaller one would
    /// multiply the segments (and a zero one stall) for the same data.
    public static let minimumPeerMSS = 536
    public var minimumRTO = Interval.milliseconds(200)
    public var maximumRTO = Interval.seconds(60)
    public var initialRTO = Interval.seconds(1)
    public var maximumRetransmissions = 8
    public var delayedACK = Interval.milliseconds(40)
    public var timeWait = Interval.seconds(30)
    public var connectTimeout = Interval.seconds(10)
    /// Slots of `maximumConnections` only active opens (`connect`) may take:
    /// passive opens stop short of them, so the health checks always find a
    /// connection however many clients hold theirs. `HealthChecker` raises
    /// it to its probe count.
    public var reservedForActiveOpens = 0
    /// Resets sent for segments to no connection (closed ports, refusals by
    /// the firewall, the balancer and the limits): a token bucket of this
    /// many per second, up to `resetBurst` at once.
    public var resetRate = 100
    public var resetBurst = 100
    /// Challenge ACKs (RFC 5961) for in-window resets and SYNs, across all
    /// connections, as Linux's `tcp_challenge_ack_limit`.
    public var challengeACKRate = 100
    public var challengeACKBurst = 100

    public init() {}
}

/// Counters kept by the TCP layer.
public enum TCPCounter: Int, CounterKey, CaseIterable {
    case segmentsReceived
    case segmentsSent
    case activeOpens
    case passiveOpens
    case resetsSent
    case resetsReceived
    case retransmissions
    case fastRetransmits
    case timeouts
    case outOfOrderSegments
    case duplicateSegments
    case challengeACKs
    case synCookiesSent
    case synCookiesAccepted
    case synCookiesRejected
    case badChecksum
    case malformed
    case connectionLimitHits
    case backlogLimitHits
    case timeWaitLimitHits
    case reassemblyLimitHits
    case noBufferDrops
    case idleTimeouts
    case reservationLimitHits
    case listenerLimitHits
    case sourceLimitEvictions
    case resetsRateLimited
    case challengeACKsRateLimited

    public var name: StaticString {
        switch self {
        case .segmentsReceived: "tcp-segments-received"
        case .segmentsSent: "tcp-segments-sent"
        case .activeOpens: "tcp-active-opens"
        case .passiveOpens: "tcp-passive-opens"
        case .resetsSent: "tcp-resets-sent"
        case .resetsReceived: "tcp-resets-received"
        case .retransmissions: "tcp-retransmissions"
        case .fastRetransmits: "tcp-fast-retransmits"
        case .timeouts: "tcp-timeouts"
        case .outOfOrderSegments: "tcp-out-of-order"
        case .duplicateSegments: "tcp-duplicates"
        case .challengeACKs: "tcp-challenge-acks"
        case .synCookiesSent: "tcp-syn-cookies-sent"
        case .synCookiesAccepted: "tcp-syn-cookies-accepted"
        case .synCookiesRejected: "tcp-syn-cookies-rejected"
        case .badChecksum: "tcp-bad-checksum"
        case .malformed: "tcp-malformed"
        case .connectionLimitHits: "tcp-connection-limit"
        case .backlogLimitHits: "tcp-backlog-limit"
        case .timeWaitLimitHits: "tcp-time-wait-limit"
        case .reassemblyLimitHits: "tcp-reassembly-limit"
        case .noBufferDrops: "tcp-no-buffer"
        case .idleTimeouts: "tcp-idle-timeouts"
        case .reservationLimitHits: "tcp-reservation-limit"
        case .listenerLimitHits: "tcp-listener-limit"
        case .sourceLimitEvictions: "tcp-source-limit-evictions"
        case .resetsRateLimited: "tcp-resets-rate-limited"
        case .challengeACKsRateLimited: "tcp-challenge-acks-rate-limited"
        }
    }
}

/// One count per `TCPCounter`.
public typealias TCPCounters = CounterSet<TCPCounter>
