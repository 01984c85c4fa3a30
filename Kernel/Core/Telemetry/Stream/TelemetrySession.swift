/// One client of the telemetry stream: what it has sent, what it still has
/// to be sent, and its subscription. Bytes come in through
/// `TelemetryStream.receive`, leave through `pending`/`consumed`.
public final class TelemetrySession {
    public enum State: Sendable, Equatable {
        case awaitingHello
        case open
        /// Send what is pending, then close.
        case closing
        /// Abort the connection: the client broke a bound.
        case dropped
    }

    public let peer: IPv4Address
    public internal(set) var state = State.awaitingHello
    /// The protocol version agreed in the hello; frames are encoded for it.
    public internal(set) var version = TelemetryProtocol.version
    var input: [UInt8] = []
    var output = TelemetryFrameWriter()
    var sent = 0
    public internal(set) var interval: Interval?
    var events = false
    var nextSnapshot = Instant.zero
    /// When the last snapshot was made; rules hit since then go in the next.
    var rulesSince: Instant?
    var firewallResets: UInt64 = 0
    var sequence: UInt64 = 0
    /// When the connection opened.
    public let opened: Instant
    /// The last time the client took some of its output (never: when it sent something).
    var lastProgress: Instant
    /// When the client last completed a request (the hello included).
    var lastRequest: Instant
    /// Where the last snapshot ends in `output`: until it is sent, later ones are skipped.
    var snapshotEnd = 0
    /// Snapshots not made because the previous one was still unread.
    public internal(set) var skippedSnapshots: UInt64 = 0

    init(peer: IPv4Address, now: Instant) {
        self.peer = peer
        opened = now
        lastProgress = now
        lastRequest = now
    }

    /// Whether the client's input should be read: not while this much of its
    /// output waits, so it cannot make more answers than it takes.
    public var wantsInput: Bool {
        (state == .awaitingHello || state == .open) && pendingCount < TelemetryStream.readPause
    }

    /// Bytes waiting to go to the client.
    public var pendingCount: Int { output.bytes.count - sent }

    /// Hands the bytes waiting to go to the client to `body`, which returns how many it took.
    /// With nothing waiting, the client is not behind: the stall clock starts over.
    public func send(_ body: (UnsafeRawBufferPointer) -> Int, now: Instant) {
        guard pendingCount > 0 else {
            lastProgress = now
            return
        }
        let taken = output.bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
        guard taken > 0 else { return }
        sent += min(taken, pendingCount)
        lastProgress = now
        if sent == output.bytes.count {
            output.bytes.removeAll(keepingCapacity: true)
            sent = 0
            snapshotEnd = 0
        }
    }

    /// Ends the stream with an error frame.
    func fail(_ code: TelemetryProtocol.ErrorCode, _ message: StaticString) {
        TelemetryEncoder.error(&output, code, message)
        state = .closing
    }
}
