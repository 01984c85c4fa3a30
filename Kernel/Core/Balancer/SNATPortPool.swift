/// The source ports the appliance uses toward backends, handed out
/// first-freed, last-reused: a port a flow just gave up (an evicted
/// half-open flow, say) waits behind every other free port, so a backend
/// still holding state for the old flow has time to drop it before the
/// port carries a new one. Sized at creation; takes and returns allocate
/// nothing.
struct SNATPortPool {
    private var ring: [UInt16]
    private var head = 0
    private(set) var available: Int

    init(_ ports: ClosedRange<UInt16>) {
        ring = Array(ports)
        available = ring.count
    }

    /// The port free the longest, or nil when every port is in use.
    mutating func take() -> UInt16? {
        guard available > 0 else { return nil }
        let port = ring[head]
        head = head + 1 == ring.count ? 0 : head + 1
        available -= 1
        return port
    }

    /// Returns a port to the back of the queue.
    mutating func give(_ port: UInt16) {
        precondition(available < ring.count, "SNAT port returned twice")
        var tail = head + available
        if tail >= ring.count { tail -= ring.count }
        ring[tail] = port
        available += 1
    }
}
