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

    public init() {}

    /// Calls `body` with each counter's name and value, in declaration order.
    @inline(never)
    public func forEach(_ body: (StaticString, UInt64) -> Void) {
        body("frames-received", framesReceived)
        body("frame-truncated", frameTruncated)
        body("frame-not-for-us", frameNotForUs)
        body("frame-unknown-type", frameUnknownType)
        body("arp-malformed", arpMalformed)
        body("arp-requests-sent", arpRequestsSent)
        body("arp-replies-sent", arpRepliesSent)
        body("ipv4-truncated", ipv4Truncated)
        body("ipv4-malformed", ipv4Malformed)
        body("ipv4-bad-checksum", ipv4BadChecksum)
        body("ipv4-fragments", ipv4Fragments)
        body("ipv4-options-skipped", ipv4OptionsSkipped)
        body("ipv4-ttl-expired", ipv4TTLExpired)
        body("ipv4-not-for-us", ipv4NotForUs)
        body("ipv4-unknown-protocol", ipv4UnknownProtocol)
        body("icmp-truncated", icmpTruncated)
        body("icmp-bad-checksum", icmpBadChecksum)
        body("icmp-unsupported", icmpUnsupported)
        body("icmp-echo-replies", icmpEchoReplies)
        body("icmp-errors-sent", icmpErrorsSent)
        body("icmp-errors-rate-limited", icmpErrorsRateLimited)
        body("udp-truncated", udpTruncated)
        body("udp-malformed", udpMalformed)
        body("udp-bad-checksum", udpBadChecksum)
        body("udp-no-listener", udpNoListener)
        body("udp-delivered", udpDelivered)
        body("no-route", noRoute)
        body("tx-no-buffer", txNoBuffer)
        body("tx-device-drops", txDeviceDrops)
        body("balancer-forwarded", balancerForwarded)
        body("balancer-drops", balancerDrops)
        body("balancer-refused", balancerRefused)
        body("arp-pending-overflow", arpPendingOverflow)
        body("arp-unresolved", arpUnresolved)
        body("firewall-dropped", firewallDropped)
        body("firewall-rejected", firewallRejected)
        body("firewall-invalid", firewallInvalid)
    }
}
