/// The TCP endpoint stack's tables and entry points: it demultiplexes
/// segments to connections, listeners and TIME-WAIT remnants, keeps those
/// tables, runs the timers on schedule, and delivers events.
///
/// Segments arrive through `receive` (from the IPv4 layer) and leave through
/// the `transmit` closure; timers run from `tick`. Each connection runs its
/// own state machine (`TCPConnection`); admission and its limits are in
/// `TCPLayer+Admission`, passive opens and SYN cookies in `TCPLayer+Listen`
/// and `TCPLayer+SynCookies`, segments to no connection in
/// `TCPLayer+Stateless`. Every resource is bounded by `configuration` and
/// every limit hit is counted.
public final class TCPLayer {
    /// Sends a finished segment: the buffer holds it at `segmentOffset`,
    /// `length` bytes long, to go from `source` to `destination`.
    public typealias Transmit = (_ buffer: PacketBuffer, _ source: IPv4Address, _ destination: IPv4Address, _ length: Int) -> Void

    public static let segmentOffset = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength

    public var configuration: TCPConfiguration {
        get { environment.configuration }
        set { environment.configuration = newValue }
    }
    public var counters: TCPCounters { environment.counters }
    /// What connections share: time, configuration, counters, output, budgets, events.
    let environment: TCPEnvironment
    let random: () -> UInt32
    var connections: [TCPEndpointPair: TCPConnection] = [:]
    var listeners: [TCPListener] = []
    var timeWait: [TCPEndpointPair: TimeWaitEntry] = [:]
    /// SYN-RECEIVED connections across all listeners.
    public internal(set) var halfOpenCount = 0
    /// Listeners with a connection to accept, in order, each once.
    var acceptEvents: [TCPListener] = []
    let cookieSecret: UInt64
    private var nextEphemeralPort: UInt16 = 49152

    /// The time of the segment or tick being processed.
    var now: Instant { environment.now }

    /// What remains of a connection in TIME-WAIT: enough to answer its segments.
    struct TimeWaitEntry {
        var expires: Instant
        var receiveNext: SequenceNumber
        var sendNext: SequenceNumber
    }

    public init(pool: PacketPool, configuration: TCPConfiguration = TCPConfiguration(),
                random: @escaping () -> UInt32, transmit: @escaping Transmit) {
        self.random = random
        environment = TCPEnvironment(pool: pool, configuration: configuration, transmit: transmit)
        cookieSecret = UInt64(random()) << 32 | UInt64(random())
        environment.transition = { [self] connection, transition in self.follow(connection, transition) }
    }

    // MARK: Opening

    /// Accepts connections to `port` on `addresses`, within `limits`.
    public func listen(port: UInt16, addresses: [IPv4Address], backlog: Int = 32,
                       limits: TCPListenerLimits = .none) -> TCPListener? {
        guard !listeners.contains(where: { $0.port == port && $0.addresses.contains(where: addresses.contains) }) else {
            return nil
        }
        let listener = TCPListener(layer: self, port: port, addresses: addresses, backlog: Swift.max(1, backlog), limits: limits)
        listeners.append(listener)
        return listener
    }

    /// Whether a connection (or its TIME-WAIT remnant) exists between these endpoints.
    public func tracks(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16) -> Bool {
        let endpoints = TCPEndpointPair(localAddress: local, localPort: localPort, remoteAddress: remote, remotePort: remotePort)
        return connections[endpoints] != nil || timeWait[endpoints] != nil
    }

    /// Whether a listener accepts connections to `port` on `address`.
    public func isListening(port: UInt16, address: IPv4Address) -> Bool {
        listener(port: port, address: address) != nil
    }

    func listener(port: UInt16, address: IPv4Address) -> TCPListener? {
        listeners.first { $0.port == port && $0.addresses.contains(address) }
    }

    func removeListener(_ listener: TCPListener) {
        listeners.removeAll { $0 === listener }
    }

    /// Starts an active open from `local`; nil when no port or connection slot is free.
    public func connect(from local: IPv4Address, to remote: IPv4Address, port: UInt16, now: Instant) -> TCPConnection? {
        environment.now = now
        guard connections.count < configuration.maximumConnections else {
            environment.counters[.connectionLimitHits] += 1
            return nil
        }
        var endpoints: TCPEndpointPair?
        for _ in 0..<16384 {
            let candidate = TCPEndpointPair(localAddress: local, localPort: nextEphemeralPort, remoteAddress: remote, remotePort: port)
            nextEphemeralPort = nextEphemeralPort == 65535 ? 49152 : nextEphemeralPort + 1
            if connections[candidate] == nil && timeWait[candidate] == nil {
                endpoints = candidate
                break
            }
        }
        guard let endpoints else {
            environment.counters[.connectionLimitHits] += 1
            return nil
        }
        let connection = open(endpoints, state: .synSent, initialSendSequence: SequenceNumber(random()))
        environment.counters[.activeOpens] += 1
        connection.sendSyn()
        return connection
    }

    /// A new connection in the table.
    func open(_ endpoints: TCPEndpointPair, state: TCPState, initialSendSequence: SequenceNumber) -> TCPConnection {
        let connection = TCPConnection(environment: environment, endpoints: endpoints, state: state,
                                       initialSendSequence: initialSendSequence)
        connections[endpoints] = connection
        return connection
    }

    // MARK: Input

    /// Handles one segment addressed to `destination` (already checked to be ours).
    public func receive(_ bytes: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address, now: Instant) {
        environment.now = now
        environment.counters[.segmentsReceived] += 1
        let segment: TCPSegment
        do {
            segment = try TCPSegment(parsing: bytes)
        } catch {
            environment.counters[.malformed] += 1
            return
        }
        guard segment.checksumValid(source: source, destination: destination) else {
            environment.counters[.badChecksum] += 1
            return
        }
        let endpoints = TCPEndpointPair(
            localAddress: destination, localPort: segment.destinationPort, remoteAddress: source, remotePort: segment.sourcePort)
        if let connection = connections[endpoints] {
            connection.process(segment)
            // Services react first (reading opens the window, writing can
            // carry the ACK); whatever is still owed goes out after.
            flushEvents()
            connection.output()
        } else if timeWait[endpoints] != nil {
            processTimeWait(segment, endpoints)
        } else if let listener = listener(port: endpoints.localPort, address: destination) {
            processListen(segment, endpoints, listener)
        } else {
            resetUnknown(segment, endpoints)
        }
        flushEvents()
    }

    // MARK: Timers

    /// Runs expired timers: retransmission, delayed ACK, persist probes,
    /// connect and idle timeouts, and TIME-WAIT expiry.
    public func tick(now: Instant) {
        environment.now = now
        for connection in Array(connections.values) {
            connection.runTimers()
        }
        if !timeWait.isEmpty {
            for (endpoints, entry) in timeWait where entry.expires <= now { timeWait[endpoints] = nil }
        }
        flushEvents()
    }

    /// The earliest pending deadline, for the event loop's sleep.
    public var nextDeadline: Instant? {
        var earliest: Instant?
        for connection in connections.values { earliest = Instant.earlier(earliest, connection.nextDeadline) }
        for entry in timeWait.values { earliest = Instant.earlier(earliest, entry.expires) }
        return earliest
    }

    // MARK: Tables

    /// Follows a connection's state change in the tables.
    private func follow(_ connection: TCPConnection, _ transition: TCPTransition) {
        switch transition {
        case .established:
            admitEstablished(connection)
        case .timeWait:
            connections[connection.endpoints] = nil
            leaveOwner(connection)
            if timeWait.count >= configuration.maximumTimeWait {
                environment.counters[.timeWaitLimitHits] += 1
                if let oldest = timeWait.min(by: { $0.value.expires < $1.value.expires }) { timeWait[oldest.key] = nil }
            }
            timeWait[connection.endpoints] = TimeWaitEntry(
                expires: now + configuration.timeWait, receiveNext: connection.receiveNext, sendNext: connection.sendNext)
        case .closed:
            leaveHalfOpen(connection)
            connections[connection.endpoints] = nil
            leaveOwner(connection)
        }
    }

    /// Stops counting an ended connection against its listener's limits.
    private func leaveOwner(_ connection: TCPConnection) {
        guard let owner = connection.owner else { return }
        owner.members.removeAll { $0 === connection }
        connection.owner = nil
    }

    // MARK: Events

    func flushEvents() {
        while !environment.pendingEvents.isEmpty || !acceptEvents.isEmpty {
            let listeners = acceptEvents
            acceptEvents.removeAll()
            for listener in listeners { listener.onAcceptable?() }
            for connection in environment.takeEvents() {
                connection.onEvent?(connection)
                if connection.isFinished { connection.end() }
            }
        }
    }

    // MARK: Inspection

    public var connectionCount: Int { connections.count }
    public var timeWaitCount: Int { timeWait.count }

    /// Connections by state (TIME-WAIT from its table).
    public func count(in state: TCPState) -> Int {
        if state == .timeWait { return timeWait.count }
        return connections.values.reduce(0) { $0 + ($1.state == state ? 1 : 0) }
    }
}
