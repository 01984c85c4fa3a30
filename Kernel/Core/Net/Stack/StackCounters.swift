/// Everything the stack drops or answers, by name. Each drop path
/// increments exactly one of these.
public struct StackCounters: Sendable, Equatable {
    public var framesReceived: UInt64 = 0
    public var frameTruncated: UInt64 = 0
    public var frameNotForUs: UInt64 = 0
    public var frameUnknownType: UInt64 = 0
    public var arpMalformed: UInt64 = 0
    public var arpRequestsSent: UInt64 = 0
    public var arpRepliesSent: UInt64 = 0
    public var ipv4Truncated: UInt64 = 0
    public var ipv4Malformed: UInt64 = 0
    public var ipv4BadChecksum: UInt64 = 0
    public var ipv4Fragments: UInt64 = 0
    public var ipv4OptionsSkipped: UInt64 = 0
    public var ipv4TTLExpired: UInt64 = 0
    public var ipv4NotForUs: UInt64 = 0
    public var ipv4UnknownProtocol: UInt64 = 0
    public var icmpTruncated: UInt64 = 0
    public var icmpBadChecksum: UInt64 = 0
    public var icmpUnsupported: UInt64 = 0
    public var icmpEchoReplies: UInt64 = 0
    public var icmpErrorsSent: UInt64 = 0
    public var icmpErrorsRateLimited: UInt64 = 0
    public var udpTruncated: UInt64 = 0
    public var udpMalformed: UInt64 = 0
    public var udpBadChecksum: UInt64 = 0
    public var udpNoListener: UInt64 = 0
    public var udpDelivered: UInt64 = 0
    public var noRoute: UInt64 = 0
    public var txNoBuffer: UInt64 = 0
    public var txDeviceDrops: UInt64 = 0
    public var balancerForwarded: UInt64 = 0
    public var balancerDrops: UInt64 = 0
    public var balancerRefused: UInt64 = 0
    public var arpPendingOverflow: UInt64 = 0
    public var arpUnresolved: UInt64 = 0
    public var firewallDropped: UInt64 = 0
    public var firewallRejected: UInt64 = 0
    public var firewallInvalid: UInt64 = 0
    public var ipv4MartianSource: UInt64 = 0
    public var ipv4OwnSource: UInt64 = 0
    public var ipv4MartianDestination: UInt64 = 0
    public var ipv4BroadcastDestination: UInt64 = 0
    public var arpMartianSender: UInt64 = 0
    public var txMartian: UInt64 = 0

    public init() {}

    /// How many counters `name(_:)` and `value(_:)` index.
    public static let count = 43

    /// Counter `index`'s name, in declaration order.
    public static func name(_ index: Int) -> StaticString {
        switch index {
        case 0: return "frames-received"
        case 1: return "frame-truncated"
        case 2: return "frame-not-for-us"
        case 3: return "frame-unknown-type"
        case 4: return "arp-malformed"
        case 5: return "arp-requests-sent"
        case 6: return "arp-replies-sent"
        case 7: return "ipv4-truncated"
        case 8: return "ipv4-malformed"
        case 9: return "ipv4-bad-checksum"
        case 10: return "ipv4-fragments"
        case 11: return "ipv4-options-skipped"
        case 12: return "ipv4-ttl-expired"
        case 13: return "ipv4-not-for-us"
        case 14: return "ipv4-unknown-protocol"
        case 15: return "icmp-truncated"
        case 16: return "icmp-bad-checksum"
        case 17: return "icmp-unsupported"
        case 18: return "icmp-echo-replies"
        case 19: return "icmp-errors-sent"
        case 20: return "icmp-errors-rate-limited"
        case 21: return "udp-truncated"
        case 22: return "udp-malformed"
        case 23: return "udp-bad-checksum"
        case 24: return "udp-no-listener"
        case 25: return "udp-delivered"
        case 26: return "no-route"
        case 27: return "tx-no-buffer"
        case 28: return "tx-device-drops"
        case 29: return "balancer-forwarded"
        case 30: return "balancer-drops"
        case 31: return "balancer-refused"
        case 32: return "arp-pending-overflow"
        case 33: return "arp-unresolved"
        case 34: return "firewall-dropped"
        case 35: return "firewall-rejected"
        case 36: return "firewall-invalid"
        case 37: return "ipv4-martian-source"
        case 38: return "ipv4-own-source"
        case 39: return "ipv4-martian-destination"
        case 40: return "ipv4-broadcast-destination"
        case 41: return "arp-martian-sender"
        case 42: return "tx-martian"
        default: return "unknown"
        }
    }

    /// Counter `index`'s value.
    public func value(_ index: Int) -> UInt64 {
        switch index {
        case 0: return framesReceived
        case 1: return frameTruncated
        case 2: return frameNotForUs
        case 3: return frameUnknownType
        case 4: return arpMalformed
        case 5: return arpRequestsSent
        case 6: return arpRepliesSent
        case 7: return ipv4Truncated
        case 8: return ipv4Malformed
        case 9: return ipv4BadChecksum
        case 10: return ipv4Fragments
        case 11: return ipv4OptionsSkipped
        case 12: return ipv4TTLExpired
        case 13: return ipv4NotForUs
        case 14: return ipv4UnknownProtocol
        case 15: return icmpTruncated
        case 16: return icmpBadChecksum
        case 17: return icmpUnsupported
        case 18: return icmpEchoReplies
        case 19: return icmpErrorsSent
        case 20: return icmpErrorsRateLimited
        case 21: return udpTruncated
        case 22: return udpMalformed
        case 23: return udpBadChecksum
        case 24: return udpNoListener
        case 25: return udpDelivered
        case 26: return noRoute
        case 27: return txNoBuffer
        case 28: return txDeviceDrops
        case 29: return balancerForwarded
        case 30: return balancerDrops
        case 31: return balancerRefused
        case 32: return arpPendingOverflow
        case 33: return arpUnresolved
        case 34: return firewallDropped
        case 35: return firewallRejected
        case 36: return firewallInvalid
        case 37: return ipv4MartianSource
        case 38: return ipv4OwnSource
        case 39: return ipv4MartianDestination
        case 40: return ipv4BroadcastDestination
        case 41: return arpMartianSender
        case 42: return txMartian
        default: return 0
        }
    }

    /// Calls `body` with each counter's name and value, in declaration order.
    public func forEach(_ body: (StaticString, UInt64) -> Void) {
        for index in 0..<Self.count { body(Self.name(index), value(index)) }
    }
}
