/// A passive open: a port that accepts connections on some local addresses.
public final class TCPListener {
    public let port: UInt16
    public let addresses: [IPv4Address]
    public let backlog: Int
    public let limits: TCPListenerLimits
    /// Called when `accept` has a connection to give.
    public var onAcceptable: (() -> Void)?
    var acceptQueue: [TCPConnection] = []
    var halfOpen = 0
    /// Established connections counted against `limits`, until each ends.
    var members: [TCPConnection] = []
    public internal(set) var isClosed = false
    let layer: TCPLayer

    init(layer: TCPLayer, port: UInt16, addresses: [IPv4Address], backlog: Int, limits: TCPListenerLimits) {
        self.layer = layer
        self.port = port
        self.addresses = addresses
        self.backlog = backlog
        self.limits = limits
        // Room for every member up front: admitting one does not allocate.
        members.reserveCapacity(Swift.min(limits.maximumConnections, layer.configuration.maximumConnections))
    }

    /// Established connections from this listener that have not ended.
    public var connectionCount: Int { members.count }

    /// The next established connection, or nil.
    public func accept() -> TCPConnection? {
        acceptQueue.isEmpty ? nil : acceptQueue.removeFirst()
    }

    public var pendingConnections: Int { acceptQueue.count }

    /// Stops accepting; connections already accepted carry on.
    public func close() {
        isClosed = true
        for connection in acceptQueue { connection.abort() }
        acceptQueue.removeAll()
        layer.removeListener(self)
    }
}
