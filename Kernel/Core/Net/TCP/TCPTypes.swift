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
    public var idleTimeouts: UInt64 = 0
    public var reservationLimitHits: UInt64 = 0
    public var listenerLimitHits: UInt64 = 0
    public var sourceLimitEvictions: UInt64 = 0
    public var resetsRateLimited: UInt64 = 0
    public var challengeACKsRateLimited: UInt64 = 0

    public init() {}

    /// How many counters `name(_:)` and `value(_:)` index.
    public static let count = 28

    /// Counter `index`'s name, in declaration order.
    public static func name(_ index: Int) -> StaticString {
        switch index {
        case 0: return "tcp-segments-received"
        case 1: return "tcp-segments-sent"
        case 2: return "tcp-active-opens"
        case 3: return "tcp-passive-opens"
        case 4: return "tcp-resets-sent"
        case 5: return "tcp-resets-received"
        case 6: return "tcp-retransmissions"
        case 7: return "tcp-fast-retransmits"
        case 8: return "tcp-timeouts"
        case 9: return "tcp-out-of-order"
        case 10: return "tcp-duplicates"
        case 11: return "tcp-challenge-acks"
        case 12: return "tcp-syn-cookies-sent"
        case 13: return "tcp-syn-cookies-accepted"
        case 14: return "tcp-syn-cookies-rejected"
        case 15: return "tcp-bad-checksum"
        case 16: return "tcp-malformed"
        case 17: return "tcp-connection-limit"
        case 18: return "tcp-backlog-limit"
        case 19: return "tcp-time-wait-limit"
        case 20: return "tcp-reassembly-limit"
        case 21: return "tcp-no-buffer"
        case 22: return "tcp-idle-timeouts"
        case 23: return "tcp-reservation-limit"
        case 24: return "tcp-listener-limit"
        case 25: return "tcp-source-limit-evictions"
        case 26: return "tcp-resets-rate-limited"
        case 27: return "tcp-challenge-acks-rate-limited"
        default: return "unknown"
        }
    }

    /// Counter `index`'s value.
    public func value(_ index: Int) -> UInt64 {
        switch index {
        case 0: return segmentsReceived
        case 1: return segmentsSent
        case 2: return activeOpens
        case 3: return passiveOpens
        case 4: return resetsSent
        case 5: return resetsReceived
        case 6: return retransmissions
        case 7: return fastRetransmits
        case 8: return timeouts
        case 9: return outOfOrderSegments
        case 10: return duplicateSegments
        case 11: return challengeACKs
        case 12: return synCookiesSent
        case 13: return synCookiesAccepted
        case 14: return synCookiesRejected
        case 15: return badChecksum
        case 16: return malformed
        case 17: return connectionLimitHits
        case 18: return backlogLimitHits
        case 19: return timeWaitLimitHits
        case 20: return reassemblyLimitHits
        case 21: return noBufferDrops
        case 22: return idleTimeouts
        case 23: return reservationLimitHits
        case 24: return listenerLimitHits
        case 25: return sourceLimitEvictions
        case 26: return resetsRateLimited
        case 27: return challengeACKsRateLimited
        default: return 0
        }
    }

    /// Calls `body` with each counter's name and value, in declaration order.
    public func forEach(_ body: (StaticString, UInt64) -> Void) {
        for index in 0..<Self.count { body(Self.name(index), value(index)) }
    }
}
