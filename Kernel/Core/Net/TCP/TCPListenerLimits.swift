/// Admission limits for one listener's connections, enforced by the layer
/// when a handshake completes (so a spoofed source never counts: SYN floods
/// are the half-open limit's and the SYN cookies' business).
public struct TCPListenerLimits: Sendable {
    /// Established connections from this listener at once, whether accepted
    /// or still queued. One more is refused with a reset
    /// (`tcp-listener-limit`).
    public var maximumConnections: Int
    /// Established connections from one remote address. One more replaces
    /// one of that address's connections, which is reset
    /// (`tcp-source-limit-evictions`): one already closing if there is one,
    /// else the longest idle. The source cannot exceed its share, and a
    /// client behind the same address (every host client under QEMU's
    /// user-mode networking) is never locked out by idle ones.
    public var maximumPerSource: Int
    /// Each connection's `TCPConnection.idleTimeout`.
    public var idleTimeout: Interval?

    public init(maximumConnections: Int = .max, maximumPerSource: Int = .max, idleTimeout: Interval? = nil) {
        self.maximumConnections = Swift.max(1, maximumConnections)
        self.maximumPerSource = Swift.max(1, maximumPerSource)
        self.idleTimeout = idleTimeout
    }

    /// No limits: the layer's own still apply.
    public static let none = TCPListenerLimits()
}
