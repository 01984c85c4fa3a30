/// Admission: the connection slots passive opens may take, the half-open
/// quotas, and each listener's backlog and `TCPListenerLimits`.
extension TCPLayer {
    /// The slots passive opens may take: all but the last
    /// `reservedForActiveOpens`, which are the health checks'.
    private var passiveShare: Int {
        configuration.maximumConnections
            - Swift.min(Swift.max(0, configuration.reservedForActiveOpens), configuration.maximumConnections)
    }

    /// Half-open connections kept across listeners: `maximumHalfOpenTotal`,
    /// and at most half the passive share, so the rest is always there for
    /// handshakes that complete.
    var halfOpenLimit: Int { Swift.min(configuration.maximumHalfOpenTotal, passiveShare / 2) }

    /// Whether a passive open may take a connection slot now.
    func admitsPassiveOpen() -> Bool {
        if connections.count >= configuration.maximumConnections {
            environment.counters[.connectionLimitHits] += 1
            return false
        }
        if connections.count >= passiveShare {
            environment.counters[.reservationLimitHits] += 1
            return false
        }
        return true
    }

    /// Whether a new SYN to `listener` may hold a half-open slot rather than be answered with a cookie.
    func admitsHalfOpen(to listener: TCPListener) -> Bool {
        listener.halfOpen < configuration.maximumHalfOpen && halfOpenCount < halfOpenLimit
    }

    func enterHalfOpen(_ connection: TCPConnection, _ listener: TCPListener) {
        connection.listener = listener
        listener.halfOpen += 1
        halfOpenCount += 1
    }

    func leaveHalfOpen(_ connection: TCPConnection) {
        guard let listener = connection.listener else { return }
        listener.halfOpen -= 1
        halfOpenCount -= 1
        connection.listener = nil
    }

    /// A connection completed its handshake. A passive open leaves the
    /// half-open count and joins its listener's accept queue if the backlog
    /// and the listener's limits let it; otherwise it is refused.
    func admitEstablished(_ connection: TCPConnection) {
        guard let listener = connection.listener else { return }
        leaveHalfOpen(connection)
        environment.counters[.passiveOpens] += 1
        guard !listener.isClosed, listener.acceptQueue.count < listener.backlog else {
            environment.counters[.backlogLimitHits] += 1
            refuse(connection)
            return
        }
        guard admit(connection, to: listener) else {
            environment.counters[.listenerLimitHits] += 1
            refuse(connection)
            return
        }
        listener.members.append(connection)
        connection.owner = listener
        listener.acceptQueue.append(connection)
        if !acceptEvents.contains(where: { $0 === listener }) { acceptEvents.append(listener) }
    }

    /// Refuses a connection that completed its handshake but may not stay:
    /// a reset within the reset budget, and the connection is gone.
    private func refuse(_ connection: TCPConnection) {
        if environment.takeReset() { connection.sendReset() }
        connection.finish(error: .limit)
    }

    /// Applies `listener.limits` to a connection that just completed its
    /// handshake: a source at its share gives up one connection (one
    /// already closing if it has one, else its longest-idle); a listener at
    /// its limit refuses.
    private func admit(_ connection: TCPConnection, to listener: TCPListener) -> Bool {
        let limits = listener.limits
        let source = connection.endpoints.remoteAddress
        var fromSource = 0
        var idlest: TCPConnection?
        for member in listener.members where member.endpoints.remoteAddress == source {
            fromSource += 1
            if idlest == nil || member.evictsBefore(idlest!) { idlest = member }
        }
        if fromSource >= limits.maximumPerSource, let idlest {
            environment.counters[.sourceLimitEvictions] += 1
            idlest.sendReset()
            idlest.finish(error: .limit)
        }
        return listener.members.count < limits.maximumConnections
    }
}
