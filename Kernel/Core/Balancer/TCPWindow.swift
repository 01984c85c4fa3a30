/// What the connection tracker reads from a TCP segment: the header
/// fields that move a flow's state and sequence windows.
public struct TrackedSegment: Sendable {
    public var flags: TCPSegment.Flags
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    /// The raw window field (scaled by the sender's factor outside SYNs).
    public var window: UInt16
    public var payloadLength: Int
    /// The window-scale option's shift, on SYNs that carry one.
    public var windowScale: UInt8?

    public init(flags: TCPSegment.Flags, sequenceNumber: UInt32 = 0, acknowledgmentNumber: UInt32 = 0, window: UInt16 = 0,
                payloadLength: Int = 0, windowScale: UInt8? = nil) {
        self.flags = flags
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.window = window
        self.payloadLength = payloadLength
        self.windowScale = windowScale
    }

    /// The segment's header fields, read without allocating.
    @inline(__always)
    public init(_ segment: TCPSegment) {
        flags = segment.flags
        sequenceNumber = segment.sequenceNumber
        acknowledgmentNumber = segment.acknowledgmentNumber
        window = segment.window
        payloadLength = segment.bytes.count - segment.headerLength
        windowScale = segment.flags.contains(.syn) ? segment.windowScale : nil
    }

    /// RST and FIN: the segments that end a flow, so the ones a blind
    /// attacker would forge. Only these are dropped when out of window.
    @inline(__always)
    public var isControl: Bool { flags.contains(.rst) || flags.contains(.fin) }

    /// The sequence number just past the segment: SYN and FIN each take one.
    @inline(__always)
    var end: UInt32 {
        var length = UInt32(truncatingIfNeeded: payloadLength)
        if flags.contains(.syn) { length &+= 1 }
        if flags.contains(.fin) { length &+= 1 }
        return sequenceNumber &+ length
    }
}

/// One direction of a flow's sequence space, as Linux conntrack's TCP
/// window tracking keeps it (`td_end`, `td_maxend`, `td_maxwin`,
/// `td_scale`): what the sender has sent, how far the receiver lets it
/// send, and the largest window it has offered. A segment is in the
/// window when its sequence range and acknowledgment fall inside these
/// bounds; only in-window segments move them.
public struct TCPWindow: Sendable, Equatable {
    /// The sequence number just past the highest byte the sender has sent.
    public var end: UInt32 = 0
    /// The highest sequence number the receiver has allowed (ack + window).
    public var maximumEnd: UInt32 = 0
    /// The largest window the sender has advertised (0: not seen yet).
    public var maximumWindow: UInt32 = 0
    /// The sender's window-scale shift, once both SYNs agreed on scaling.
    public var scale: UInt8 = 0
    /// The sender's SYN offered window scaling.
    public var offeredScale = false

    public init() {}

    /// Whether the sender's first segment (its SYN) has been seen.
    @inline(__always)
    public var isInitialized: Bool { maximumWindow != 0 }

    /// An acknowledgment this far below the receiver's end is still
    /// plausible (a late duplicate ACK); Linux uses the same floor.
    static let minimumAckWindow: UInt32 = 66_000

    /// Starts the direction from its SYN, or from the SYN-ACK that
    /// answers one (`reply`): the receiver of a SYN has offered no window
    /// yet, the receiver of a SYN-ACK has (in its SYN).
    mutating func start(_ segment: TrackedSegment, reply: Bool) {
        end = segment.end
        maximumWindow = Swift.max(UInt32(segment.window), 1)
        maximumEnd = reply ? end &+ maximumWindow : end
        if let shift = segment.windowScale {
            offeredScale = true
            scale = Swift.min(shift, 14)
        }
    }

    /// Whether `segment`, sent by this direction's endpoint to the one
    /// whose window is `receiver`, lies inside both windows.
    @inline(__always)
    func accepts(_ segment: TrackedSegment, receiver: TCPWindow) -> Bool {
        let sequence = segment.sequenceNumber
        let segmentEnd = segment.end
        let ack = segment.flags.contains(.ack) ? segment.acknowledgmentNumber : receiver.end
        let ackWindow = Swift.max(maximumWindow, TCPWindow.minimumAckWindow)
        return Sequence.before(sequence, maximumEnd &+ 1)
            && Sequence.after(segmentEnd, end &- receiver.maximumWindow &- 1)
            && Sequence.before(ack, receiver.end &+ 1)
            && Sequence.after(ack, receiver.end &- ackWindow &- 1)
    }

    /// Moves both directions' bounds after this direction sent an
    /// in-window `segment`.
    @inline(__always)
    mutating func advance(_ segment: TrackedSegment, receiver: inout TCPWindow) {
        let window = segment.flags.contains(.syn) ? UInt32(segment.window) : UInt32(segment.window) << UInt32(scale)
        let segmentEnd = segment.end
        if maximumWindow < window { maximumWindow = window }
        if Sequence.after(segmentEnd, end) { end = segmentEnd }
        guard segment.flags.contains(.ack) else { return }
        let ack = segment.acknowledgmentNumber
        if receiver.maximumWindow != 0 && Sequence.after(segmentEnd, maximumEnd) {
            receiver.maximumWindow &+= segmentEnd &- maximumEnd
        }
        let rightEdge = ack &+ window
        if Sequence.after(rightEdge, receiver.maximumEnd &- 1) {
            receiver.maximumEnd = window == 0 ? rightEdge &+ 1 : rightEdge
        }
    }

    /// Serial-number arithmetic on 32-bit sequence numbers (RFC 1982).
    enum Sequence {
        @inline(__always) static func before(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
        @inline(__always) static func after(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: b &- a) < 0 }
    }
}
