/// What the balancer counts about packets it could not forward, by name.
public enum BalancerCounter: Int, CounterKey, CaseIterable {
    /// Packets of no flow that cannot open one, and client SYNs carrying data.
    case invalidPackets
    case noBackend
    case serviceLimit
    case ttlExpired
    /// Client SYNs, and RST and FIN segments of a tracked flow, with a
    /// wrong TCP checksum, dropped.
    case badChecksum
    /// Packets the NAT rewrite refused as shorter than their headers say.
    case rewriteTruncated
    /// Packets the NAT rewrite refused for a header field no packet can hold.
    case rewriteMalformed
    /// Packets the NAT rewrite refused as neither TCP nor UDP.
    case rewriteNotTCPOrUDP

    public var name: StaticString {
        switch self {
        case .invalidPackets: "invalid"
        case .noBackend: "no-backend"
        case .serviceLimit: "service-limit"
        case .ttlExpired: "ttl-expired"
        case .badChecksum: "bad-checksum"
        case .rewriteTruncated: "rewrite-truncated"
        case .rewriteMalformed: "rewrite-malformed"
        case .rewriteNotTCPOrUDP: "rewrite-not-tcp-udp"
        }
    }

    /// The counter for a packet the NAT rewrite refused.
    public init(_ failure: NATRewrite.Failure) {
        switch failure {
        case .truncated: self = .rewriteTruncated
        case .malformed: self = .rewriteMalformed
        case .notTCPOrUDP: self = .rewriteNotTCPOrUDP
        case .ttlExpired: self = .ttlExpired
        }
    }
}

/// The full-NAT L4 balancer: packets from clients to a service port on the
/// public address go to a backend from the appliance's private address and
/// an SNAT port; the backend's replies take the reverse mapping.
///
/// No TCP endpoint is involved: packets are rewritten in place, so the cost
/// per packet is a table lookup and a few checksum updates (see
/// `skerry bench datapath`), and nothing is allocated per packet.
public final class LoadBalancer {
    /// What the stack should do with a packet after `fromClient`/`fromBackend`.
    public enum Verdict: Equatable, Sendable {
        /// Not a balanced service or flow: deliver it locally as usual.
        case notOurs
        /// Rewritten: send it to `nextHop` (the backend, or the client).
        case forward(to: IPv4Address)
        /// Invalid (counted): dropped silently.
        case drop
        /// A new connection the balancer cannot place (no eligible backend,
        /// a limit, a full table): refused with a reset, counted.
        case refuse
        /// The balancer replaced the packet with one it built in the same
        /// buffer, `length` bytes from the IPv4 header (the client's SYN
        /// for another backend, or a reset for the client): send it to `to`.
        case send(to: IPv4Address, length: Int)
    }

    /// An operator's decision about a backend, independent of its health.
    public enum AdministrativeState: Sendable, Equatable, CaseIterable {
        case enabled
        /// Keeps its open connections, gets no new ones.
        case draining
        /// Gets nothing; its connections are dropped.
        case disabled

        public var name: StaticString {
            switch self {
            case .enabled: return "enabled"
            case .draining: return "DRAIN"
            case .disabled: return "DISABLED"
            }
        }
    }

    public struct Statistics: Sendable, Equatable {
        /// Open connections: the client completed the handshake and the
        /// flow has not closed (a gauge; half-open flows are not counted).
        public var activeConnections = 0
        public var maximumConnectionsSeen = 0
        /// Connections whose handshake completed.
        public var totalConnections: UInt64 = 0
        public var refusedConnections: UInt64 = 0
        /// Connections that failed for the client: every backend tried
        /// refused or ignored the SYN, and the client got the reset.
        public var failedConnects: UInt64 = 0
        /// See `TrafficStatistic.redispatched`, `.connectRefused`, `.connectTimeouts`.
        public var redispatched: UInt64 = 0
        public var connectRefused: UInt64 = 0
        public var connectTimeouts: UInt64 = 0
        /// New connections per second, over the last full second.
        public var connectionRate: UInt64 = 0
        public var packetsToBackend: UInt64 = 0
        public var bytesToBackend: UInt64 = 0
        public var packetsToClient: UInt64 = 0
        public var bytesToClient: UInt64 = 0
        public init() {}

        init(open: Int) {
            activeConnections = open
            maximumConnectionsSeen = open
        }

        /// A connection completed its handshake.
        mutating func opened() {
            activeConnections += 1
            totalConnections += 1
            maximumConnectionsSeen = Swift.max(maximumConnectionsSeen, activeConnections)
        }

        /// An open connection closed or was forgotten.
        mutating func closed() {
            activeConnections -= 1
        }

        mutating func count(packetBytes: Int, toBackend: Bool) {
            if toBackend {
                packetsToBackend += 1
                bytesToBackend += UInt64(packetBytes)
            } else {
                packetsToClient += 1
                bytesToClient += UInt64(packetBytes)
            }
        }
    }

    public final class Backend {
    public let configuration: BackendConfiguration
        public internal(set) var health = BackendHealth()
        public internal(set) var administrative = AdministrativeState.enabled
        public internal(set) var statistics = Statistics()
        /// The configured weight, until an operator sets another.
        public internal(set) var weight: Int

        init(_ configuration: BackendConfiguration) {
            self.configuration = configuration
            weight = configuration.weight
        }

        /// Takes new connections: healthy, enabled, under its connection limit.
        public var eligible: Bool {
            health.status == .up && administrative == .enabled
                && (configuration.maximumConnections == 0 || statistics.activeConnections < configuration.maximumConnections)
        }
    }

    public final class Service {
        public let configuration: ServiceConfiguration
        public let backends: [Backend]
        public internal(set) var statistics = Statistics()
        var scheduler: Scheduler
        var candidates: [SchedulingCandidate]

        init(_ configuration: ServiceConfiguration) {
            self.configuration = configuration
            backends = configuration.backends.map { Backend($0) }
            scheduler = Scheduler(algorithm: configuration.algorithm, keys: configuration.backends.map {
                UInt64($0.address.value) << 16 | UInt64($0.port)
            })
            candidates = Array(repeating: SchedulingCandidate(weight: 0, activeConnections: 0, eligible: false), count: backends.count)
        }
    }

    public enum Event {
        case backendStatusChanged(service: Service, backend: Backend, status: BackendHealth.Status)
        case administrativeChange(service: Service, backend: Backend, state: AdministrativeState)
        case weightChange(service: Service, backend: Backend, weight: Int)
        /// A health check failed (whether or not the status changed).
        case checkFailed(service: Service, backend: Backend)
    }


    /// One count per `BalancerCounter`.
    public typealias Counters = CounterSet<BalancerCounter>

    public let services: [Service]
    public let tracker: ConnectionTracker
    private var rateWindowStart = Instant.zero
    private var rateWindowTotals: [UInt64] = []
    public let publicAddress: IPv4Address
    public let privateAddress: IPv4Address
    public private(set) var counters = Counters()
    public var onEvent: ((Event) -> Void)?

    /// - Parameter halfOpenLimit: half-open flows tracked at most (default: a quarter of `connectionCapacity`).
    public init(services: [ServiceConfiguration], publicAddress: IPv4Address, privateAddress: IPv4Address,
                connectionCapacity: Int = 65_536, snatPorts: ClosedRange<UInt16> = 1024...65535, halfOpenLimit: Int? = nil) {
        self.services = services.map { Service($0) }
        self.publicAddress = publicAddress
        self.privateAddress = privateAddress
        tracker = ConnectionTracker(capacity: connectionCapacity, snatPorts: snatPorts, halfOpenLimit: halfOpenLimit,
                                    deadlineLists: services.count)
        tracker.serviceTimeouts = services.map { $0.timeouts }
    }

    // MARK: Flow queries

    /// Whether `port` on the public address is a balanced service.
    public func serves(port: UInt16, protocolNumber: UInt8) -> Bool {
        protocolNumber == IPv4Packet.ProtocolNumber.tcp && services.contains { $0.configuration.port == port }
    }

    /// Whether a flow exists for a client's packet to a service port.
    public func tracksClient(_ client: IPv4Address, port: UInt16, servicePort: UInt16, protocolNumber: UInt8) -> Bool {
        tracker.lookupClient(client, port, publicAddress, servicePort, protocolNumber: protocolNumber) != nil
    }

    /// Whether a flow exists for a backend's packet to an SNAT port.
    public func tracksBackend(_ backend: IPv4Address, port: UInt16, snatPort: UInt16, protocolNumber: UInt8) -> Bool {
        tracker.lookupBackend(backend, port, snatPort: snatPort, protocolNumber: protocolNumber) != nil
    }

    // MARK: Packets

    /// A packet that arrived on the public NIC for the public address.
    public func fromClient(_ packet: UnsafeMutableRawBufferPointer, now: Instant) -> Verdict {
        guard let header = TransportHeader(packet) else { return .notOurs }
        guard let serviceIndex = services.firstIndex(where: { $0.configuration.port == header.destinationPort }),
            header.protocolNumber == IPv4Packet.ProtocolNumber.tcp
        else { return .notOurs }
        let service = services[serviceIndex]
        let client = header.ip.source
        let isOpening = header.flags.contains(.syn) && !header.flags.contains(.ack)
        var existing = tracker.lookupClient(client, header.sourcePort, publicAddress, header.destinationPort, protocolNumber: header.protocolNumber)
        if let old = existing, isOpening, tracker.entries[old].state == .closing || tracker.entries[old].state == .closed {
            // The client reuses the port of a finished connection: a new flow, with a new backend choice.
            forget(old)
            existing = nil
        }
        if isOpening, let segment = header.segment,
            let refusal = OpeningSYN.admit(segment, source: client, destination: header.ip.destination)
        {
            counters[refusal == .badChecksum ? .badChecksum : .invalidPackets] += 1
            return .drop
        }
        let flow: Int
        var created = false
        if let existing {
            flow = existing
        } else {
            // Only a SYN opens a flow; anything else for an unknown flow is stale or forged.
            guard isOpening else {
                counters[.invalidPackets] += 1
                return .drop
            }
            guard let opened = open(service, serviceIndex: serviceIndex, client: client, clientPort: header.sourcePort, now: now)
            else { return .refuse }
            flow = opened
            created = true
        }
        guard track(flow, header, fromClient: true, now: now) else { return .drop }
        let entry = tracker.entries[flow]
        do throws(NATRewrite.Failure) {
            try NATRewrite.rewrite(header.ip, source: privateAddress, sourcePort: entry.snatPort, destination: entry.backend,
                                   destinationPort: entry.backendPort)
        } catch {
            counters[BalancerCounter(error)] += 1
            // A SYN that never reaches a backend must leave no flow whose deadline would blame one.
            if created { forget(flow) }
            return .drop
        }
        if created, let segment = header.segment { beginAttempt(flow, segment, now: now) }
        let backend = service.backends[Int(entry.backendIndex)]
        backend.statistics.count(packetBytes: packet.count, toBackend: true)
        service.statistics.count(packetBytes: packet.count, toBackend: true)
        return .forward(to: entry.backend)
    }

    /// A packet that arrived on the private NIC for the private address.
    /// `packet` starts with the IPv4 header and may run past its total
    /// length to the end of its buffer: a refused SYN's reset or ICMP
    /// error is replaced there by the SYN for the next backend (`.send`),
    /// which needs `redispatchRoom` bytes.
    public func fromBackend(_ packet: UnsafeMutableRawBufferPointer, now: Instant) -> Verdict {
        guard let header = TransportHeader(packet) else { return unreachable(packet, now: now) }
        let backendAddress = header.ip.source
        guard let flow = tracker.lookupBackend(backendAddress, header.sourcePort, snatPort: header.destinationPort,
                                               protocolNumber: header.protocolNumber)
        else { return .notOurs }
        let before = tracker.entries[flow].state
        if before == .synSent, let segment = header.segment, segment.flags.contains(.rst),
            let verdict = refused(flow, header, segment, room: packet, now: now)
        {
            return verdict
        }
        guard track(flow, header, fromClient: false, now: now) else { return .drop }
        let entry = tracker.entries[flow]
        if before == .synSent && entry.state == .closed {
            services[Int(entry.serviceIndex)].backends[Int(entry.backendIndex)].statistics.failedConnects += 1
            services[Int(entry.serviceIndex)].statistics.failedConnects += 1
        }
        do throws(NATRewrite.Failure) {
            try NATRewrite.rewrite(header.ip, source: entry.service, sourcePort: entry.servicePort, destination: entry.client,
                                   destinationPort: entry.clientPort)
        } catch {
            counters[BalancerCounter(error)] += 1
            return .drop
        }
        let service = services[Int(entry.serviceIndex)]
        let backend = service.backends[Int(entry.backendIndex)]
        backend.statistics.count(packetBytes: header.ip.totalLength, toBackend: false)
        service.statistics.count(packetBytes: header.ip.totalLength, toBackend: false)
        return .forward(to: entry.client)
    }

    /// Feeds a packet of `flow` to the tracker and keeps the connection
    /// counts in step with its state. False: a RST or FIN with a bad
    /// checksum or outside the window, counted; drop it.
    @inline(__always)
    private func track(_ flow: Int, _ header: TransportHeader, fromClient: Bool, now: Instant) -> Bool {
        let before = tracker.entries[flow].state
        var summary = TrackedSegment(flags: [])
        if let segment = header.segment {
            summary = TrackedSegment(segment)
            // Only control segments pay for a checksum: they are the ones that end a flow.
            if summary.isControl && before != .closed
                && !segment.checksumValid(source: header.ip.source, destination: header.ip.destination)
            {
                counters[.badChecksum] += 1
                return false
            }
        }
        guard tracker.observe(flow, summary, fromClient: fromClient, now: now) else { return false }
        if before == .synSent { settleAttempt(flow, fromClient: fromClient, now: now) }
        account(tracker.entries[flow], before: before)
        return true
    }

    /// A flow counts as an active connection while its state is open: from
    /// the client's completing ACK until it closes or is forgotten.
    @inline(__always)
    private func account(_ entry: ConnectionTracker.Entry, before: ConnectionTracker.FlowState) {
        let wasOpen = before.isOpen
        let isOpen = entry.state.isOpen
        guard wasOpen != isOpen else { return }
        let service = services[Int(entry.serviceIndex)]
        let backend = service.backends[Int(entry.backendIndex)]
        if isOpen {
            service.statistics.opened()
            backend.statistics.opened()
        } else {
            service.statistics.closed()
            backend.statistics.closed()
        }
    }

    /// Removes a flow from the table, releasing its connection count.
    func forget(_ index: Int) {
        let entry = tracker.entries[index]
        tracker.remove(index)
        account(entry, closedFrom: entry.state)
    }

    /// Releases the count of a flow the tracker has already removed.
    @inline(__always)
    private func account(_ entry: ConnectionTracker.Entry, closedFrom state: ConnectionTracker.FlowState) {
        var gone = entry
        gone.state = .closed
        account(gone, before: state)
    }

    /// Picks a backend for a new flow and tracks it; nil (counted) when a
    /// limit, the backends' health or a full table refuses it. The flow
    /// counts toward the limits once the client completes the handshake.
    private func open(_ service: Service, serviceIndex: Int, client: IPv4Address, clientPort: UInt16, now: Instant) -> Int? {
        if service.configuration.maximumConnections > 0
            && service.statistics.activeConnections >= service.configuration.maximumConnections
        {
            counters[.serviceLimit] += 1
            service.statistics.refusedConnections += 1
            return nil
        }
        guard let chosen = service.pickBackend(flowHash: LoadBalancer.flowHash(client, clientPort), excluding: 0, now: now) else {
            counters[.noBackend] += 1
            service.statistics.refusedConnections += 1
            return nil
        }
        let backend = service.backends[chosen]
        guard let flow = tracker.insert(
            client: client, clientPort: clientPort, service: publicAddress, servicePort: service.configuration.port,
            protocolNumber: IPv4Packet.ProtocolNumber.tcp, backend: backend.configuration.address,
            backendPort: backend.configuration.port, backendIndex: chosen, serviceIndex: serviceIndex, now: now)
        else {
            service.statistics.refusedConnections += 1
            return nil
        }
        return flow
    }

    /// What picks a flow's backend: the client's address and port.
    @inline(__always)
    static func flowHash(_ client: IPv4Address, _ clientPort: UInt16) -> UInt64 {
        ConnectionTracker.hash(client.value, clientPort, 0, 0, 6)
    }

    // MARK: Time, health and administration

    /// Expires idle flows, a bounded slice of the table per call, and
    /// updates the connection rates once a second.
    public func sweep(now: Instant, budget: Int = 1024) {
        tracker.sweep(now: now, budget: budget) { entry in
            account(entry, closedFrom: entry.state)
        }
        let elapsed = now.since(rateWindowStart)
        guard elapsed >= .seconds(1) else { return }
        if rateWindowTotals.count == services.count {
            for (index, service) in services.enumerated() {
                service.statistics.connectionRate = LoadBalancer.rate(
                    opened: service.statistics.totalConnections, since: rateWindowTotals[index], over: elapsed)
            }
        }
        if rateWindowTotals.count != services.count { rateWindowTotals = Array(repeating: 0, count: services.count) }
        for (index, service) in services.enumerated() { rateWindowTotals[index] = service.statistics.totalConnections }
        rateWindowStart = now
    }

    /// Connections per second between two readings of a total. A total
    /// below its baseline (the counters were reset in between) counts from zero.
    static func rate(opened total: UInt64, since baseline: UInt64, over elapsed: Interval) -> UInt64 {
        let opened = total >= baseline ? total - baseline : total
        let nanoseconds = Swift.max(elapsed.nanoseconds, 1)
        let (scaled, overflow) = opened.multipliedReportingOverflow(by: 1_000_000_000)
        guard overflow else { return scaled / nanoseconds }
        return opened / Swift.max(nanoseconds / 1_000_000_000, 1)
    }

    /// The weights an operator may set: 0 takes no new connections.
    public static let weights = 0...1000

    /// Sets a backend's weight for new connections; open ones stay where they are.
    public func setWeight(_ weight: Int, service: Service, backend: Backend) {
        let weight = Swift.min(Swift.max(weight, LoadBalancer.weights.lowerBound), LoadBalancer.weights.upperBound)
        guard backend.weight != weight else { return }
        backend.weight = weight
        onEvent?(.weightChange(service: service, backend: backend, weight: weight))
    }

    /// Zeroes the traffic and connection totals of every service and
    /// backend; open connections and their counts stay.
    public func resetStatistics() {
        for service in services {
            service.statistics = Statistics(open: service.statistics.activeConnections)
            for backend in service.backends {
                backend.statistics = Statistics(open: backend.statistics.activeConnections)
                backend.health.resetCounters()
            }
        }
        // The rate's baseline restarts with the totals it is subtracted from.
        for index in rateWindowTotals.indices { rateWindowTotals[index] = 0 }
        counters = Counters()
        tracker.resetCounters()
    }

    /// Drain, disable or enable a backend. Disabling also drops its flows.
    public func setAdministrative(_ state: AdministrativeState, service: Service, backend: Backend) {
        guard backend.administrative != state else { return }
        backend.administrative = state
        if state == .disabled, let serviceIndex = services.firstIndex(where: { $0 === service }),
            let backendIndex = service.backends.firstIndex(where: { $0 === backend })
        {
            for index in tracker.entries.indices {
                let entry = tracker.entries[index]
                guard entry.inUse, entry.serviceIndex == Int16(serviceIndex), entry.backendIndex == Int16(backendIndex) else { continue }
                forget(index)
            }
        }
        onEvent?(.administrativeChange(service: service, backend: backend, state: state))
    }
}

/// A TCP or UDP packet as the balancer reads it: the IPv4 view, the
/// ports, and the segment when it is TCP. Nil unless both headers parse.
struct TransportHeader {
    var ip: IPv4Packet
    /// Nil for UDP.
    var segment: TCPSegment?
    var sourcePort: UInt16
    var destinationPort: UInt16

    var protocolNumber: UInt8 { ip.protocolNumber }
    /// No flags for UDP.
    var flags: TCPSegment.Flags { segment?.flags ?? [] }

    @inline(__always)
    init?(_ packet: UnsafeMutableRawBufferPointer) {
        guard let ip = try? IPv4Packet(parsing: packet) else { return nil }
        self.ip = ip
        switch ip.protocolNumber {
        case IPv4Packet.ProtocolNumber.tcp:
            guard let segment = try? TCPSegment(parsing: ip.payload) else { return nil }
            self.segment = segment
            sourcePort = segment.sourcePort
            destinationPort = segment.destinationPort
        case IPv4Packet.ProtocolNumber.udp:
            guard let datagram = try? UDPDatagram(parsing: ip.payload) else { return nil }
            segment = nil
            sourcePort = datagram.sourcePort
            destinationPort = datagram.destinationPort
        default:
            return nil
        }
    }
}
