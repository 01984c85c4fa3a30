/// What a hook decides about a packet.
public enum HookVerdict: Int, Sendable, CaseIterable {
    /// Let it go on: to the next hook, then to the stack's own handling.
    case pass
    /// The hook has taken the buffer (forwarded or answered it); nothing after it sees the packet.
    case consume
    /// Dropped (the hook counted why); the stack returns the buffer to the pool.
    case drop
}

/// A hook on the inbound chain. It sees each IPv4 packet addressed to the
/// interface it arrived on, after the stack's header checks and before
/// local delivery (IncludeOS's prerouting/input chains are the model).
///
/// Class-bound so the chain can hold hooks of different types without
/// boxing (Embedded Swift has no existentials of other protocols).
public protocol InboundHook: AnyObject {
    /// Decides about `packet`, held in `buffer`. Only `.consume` hands the buffer over.
    func inbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack,
                 now: Instant) -> HookVerdict

    /// Whether this hook keeps state for the TCP flow between a local and a
    /// remote endpoint, so the firewall reads its packets as established.
    func tracksTCP(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16,
                   on interface: NetworkInterface) -> Bool
}

extension InboundHook {
    public func tracksTCP(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16,
                          on interface: NetworkInterface) -> Bool { false }
}

/// A hook on the outbound chain. It sees each IPv4 frame about to leave an
/// interface (originated here or forwarded), before its Ethernet header is
/// filled in: the packet starts at `EthernetFrame.headerLength` in `buffer`.
public protocol OutboundHook: AnyObject {
    /// Decides about the packet in `buffer`. Only `.consume` hands the buffer over.
    func outbound(_ buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack, now: Instant) -> HookVerdict
}

/// How many packets each hook of a chain passed, consumed and dropped.
public struct HookCounts: Equatable, Sendable {
    public var passed: UInt64 = 0
    public var consumed: UInt64 = 0
    public var dropped: UInt64 = 0

    public init() {}

    mutating func count(_ verdict: HookVerdict) {
        switch verdict {
        case .pass: passed &+= 1
        case .consume: consumed &+= 1
        case .drop: dropped &+= 1
        }
    }
}

/// An ordered chain of hooks. The stack runs it in registration order and
/// stops at the first hook that consumes or drops; running it never allocates.
public struct HookChain<Hook> {
    public private(set) var hooks: [Hook] = []
    /// Per hook, in the same order as `hooks`.
    public private(set) var counts: [HookCounts] = []

    public init() {}

    /// Adds `hook` at the end of the chain.
    public mutating func append(_ hook: Hook) {
        hooks.append(hook)
        counts.append(HookCounts())
    }

    public var isEmpty: Bool { hooks.isEmpty }

    /// Counts `verdict` against the hook at `index`.
    mutating func record(_ verdict: HookVerdict, at index: Int) {
        counts[index].count(verdict)
    }
}

/// The inbound chain of a stack.
public typealias InboundChain = HookChain<any InboundHook>
/// The outbound chain of a stack.
public typealias OutboundChain = HookChain<any OutboundHook>
