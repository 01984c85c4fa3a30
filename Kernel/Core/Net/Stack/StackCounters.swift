/// Everything the stack drops or answers, by name. Each drop path
/// increments exactly one of these.
public enum StackCounter: Int, CounterKey, CaseIterable {
    case framesReceived
    case frameTruncated
    case frameNotForUs
    case frameUnknownType
    case arpMalformed
    case arpRequestsSent
    case arpRepliesSent
    case ipv4Truncated
    case ipv4Malformed
    case ipv4BadChecksum
    case ipv4Fragments
    case ipv4OptionsSkipped
    case ipv4TTLExpired
    case ipv4NotForUs
    case ipv4UnknownProtocol
    case icmpTruncated
    case icmpBadChecksum
    case icmpUnsupported
    case icmpEchoReplies
    case icmpErrorsSent
    case icmpErrorsRateLimited
    case udpTruncated
    case udpMalformed
    case udpBadChecksum
    case udpNoListener
    case udpDelivered
    case noRoute
    case txNoBuffer
    case txDeviceDrops
    case balancerForwarded
    case balancerDrops
    case balancerRefused
    case arpPendingOverflow
    case arpUnresolved
    case firewallDropped
    case firewallRejected
    case firewallInvalid
    case ipv4MartianSource
    case ipv4OwnSource
    case ipv4MartianDestination
    case ipv4BroadcastDestination
    case arpMartianSender
    case txMartian
    /// ARP requests for another host's address, ignored.
    case arpNotForUs

    public var name: StaticString {
        switch self {
        case .framesReceived: "frames-received"
        case .frameTruncated: "frame-truncated"
        case .frameNotForUs: "frame-not-for-us"
        case .frameUnknownType: "frame-unknown-type"
        case .arpMalformed: "arp-malformed"
        case .arpRequestsSent: "arp-requests-sent"
        case .arpRepliesSent: "arp-replies-sent"
        case .ipv4Truncated: "ipv4-truncated"
        case .ipv4Malformed: "ipv4-malformed"
        case .ipv4BadChecksum: "ipv4-bad-checksum"
        case .ipv4Fragments: "ipv4-fragments"
        case .ipv4OptionsSkipped: "ipv4-options-skipped"
        case .ipv4TTLExpired: "ipv4-ttl-expired"
        case .ipv4NotForUs: "ipv4-not-for-us"
        case .ipv4UnknownProtocol: "ipv4-unknown-protocol"
        case .icmpTruncated: "icmp-truncated"
        case .icmpBadChecksum: "icmp-bad-checksum"
        case .icmpUnsupported: "icmp-unsupported"
        case .icmpEchoReplies: "icmp-echo-replies"
        case .icmpErrorsSent: "icmp-errors-sent"
        case .icmpErrorsRateLimited: "icmp-errors-rate-limited"
        case .udpTruncated: "udp-truncated"
        case .udpMalformed: "udp-malformed"
        case .udpBadChecksum: "udp-bad-checksum"
        case .udpNoListener: "udp-no-listener"
        case .udpDelivered: "udp-delivered"
        case .noRoute: "no-route"
        case .txNoBuffer: "tx-no-buffer"
        case .txDeviceDrops: "tx-device-drops"
        case .balancerForwarded: "balancer-forwarded"
        case .balancerDrops: "balancer-drops"
        case .balancerRefused: "balancer-refused"
        case .arpPendingOverflow: "arp-pending-overflow"
        case .arpUnresolved: "arp-unresolved"
        case .firewallDropped: "firewall-dropped"
        case .firewallRejected: "firewall-rejected"
        case .firewallInvalid: "firewall-invalid"
        case .ipv4MartianSource: "ipv4-martian-source"
        case .ipv4OwnSource: "ipv4-own-source"
        case .ipv4MartianDestination: "ipv4-martian-destination"
        case .ipv4BroadcastDestination: "ipv4-broadcast-destination"
        case .arpMartianSender: "arp-martian-sender"
        case .txMartian: "tx-martian"
        case .arpNotForUs: "arp-not-for-us"
        }
    }
}

/// One count per `StackCounter`.
public typealias StackCounters = CounterSet<StackCounter>
