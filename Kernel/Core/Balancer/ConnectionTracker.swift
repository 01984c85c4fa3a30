/// The full-NAT connection table: each flow from a client to a service
/// address, mapped to a backend reached from the appliance's own private
/// address and a source port allocated for the flow.
///
/// Everything is sized at creation: entries live in a fixed array, two
/// open-addressing indices (client side and backend side) point into it,
/// and SNAT ports come from a fixed pool. Inserting, finding, updating and
/// expiring flows allocates nothing. A full table or an exhausted port pool
/// refuses the new flow (counted); existing flows carry on.
public final class ConnectionTracker {
    /// The life of a tracked TCP flow, as far as a middlebox can see it.
    public enum FlowState: UInt8, Sendable, CaseIterable {
        case synSent, established, finWait, closing, closed

        public var name: StaticString {
            switch self {
            case .synSent: return "syn"
            case .established: return "established"
            case .finWait: return "fin"
            case .closing: return "closing"
            case .closed: return "closed"
            }
        }
    }

    public struct Timeouts: Sendable {
        public var syn = Interval.seconds(10)
        public var established = Interval.seconds(300)
        public var fin = Interval.seconds(30)
        public var closing = Interval.seconds(10)
        public var closed = Interval.seconds(10)
        public var udp = Interval.seconds(30)
        public init() {}

        public init(syn: Interval, established: Interval, fin: Interval, closing: Interval, closed: Interval) {
            self.syn = syn
            self.established = established
            self.fin = fin
            self.closing = closing
            self.closed = closed
        }

        func timeout(_ state: FlowState, udp isUDP: Bool) -> Interval {
            if isUDP { return udp }
            switch state {
            case .synSent: return syn
            case .established: return established
            case .finWait: return fin
            case .closing: return closing
            case .closed: return closed
            }
        }
    }

    public struct Entry: Sendable {
        public var client = IPv4Address.any
        public var clientPort: UInt16 = 0
        public var service = IPv4Address.any
        public var servicePort: UInt16 = 0
        public var backend = IPv4Address.any
        public var backendPort: UInt16 = 0
        public var backendIndex: Int32 = -1
        public var serviceIndex: Int32 = -1
        public var snatPort: UInt16 = 0
        public var protocolNumber: UInt8 = 0
        public var state = FlowState.synSent
        public var clientFin = false
        public var backendFin = false
        public var expires = Instant.zero
        public var inUse = false
    }

    public struct Counters: Sendable, Equatable {
        public var flowsCreated: UInt64 = 0
        public var tableFull: UInt64 = 0
        public var snatPortsExhausted: UInt64 = 0
        public var expired: UInt64 = 0
        public init() {}
    }

    public let capacity: Int
    /// Timeouts for flows of services without their own.
    public var timeouts = Timeouts()
    /// Per-service timeouts, indexed by the flows' `serviceIndex`.
    public var serviceTimeouts: [Timeouts] = []
    public private(set) var counters = Counters()
    public private(set) var count = 0
    public private(set) var entries: [Entry]
    private var freeEntries: [Int32]
    private var clientIndex: [Int32]
    private var backendIndex: [Int32]
    private let indexMask: Int
    private var freePorts: [UInt16]
    private var sweepCursor = 0

    /// - Parameters:
    ///   - capacity: flows tracked at most.
    ///   - snatPorts: the source ports the appliance may use toward backends.
    public init(capacity: Int, snatPorts: ClosedRange<UInt16> = 1024...65535) {
        self.capacity = capacity
        entries = Array(repeating: Entry(), count: capacity)
        freeEntries = (0..<Int32(capacity)).reversed().map { $0 }
        var indexSize = 16
        while indexSize < capacity * 2 { indexSize <<= 1 }
        indexMask = indexSize - 1
        clientIndex = Array(repeating: -1, count: indexSize)
        backendIndex = Array(repeating: -1, count: indexSize)
        freePorts = snatPorts.reversed().map { $0 }
    }

    public var availableSNATPorts: Int { freePorts.count }

    // MARK: Lookup

    /// The flow a client packet belongs to.
    @inline(__always)
    public func lookupClient(_ client: IPv4Address, _ clientPort: UInt16, _ service: IPv4Address, _ servicePort: UInt16,
                             protocolNumber: UInt8) -> Int? {
        var slot = Int(truncatingIfNeeded: ConnectionTracker.hash(client.value, clientPort, service.value, servicePort, protocolNumber)) & indexMask
        while true {
            let index = clientIndex[slot]
            if index < 0 { return nil }
            let entry = entries[Int(index)]
            if entry.client == client && entry.clientPort == clientPort && entry.servicePort == servicePort
                && entry.service == service && entry.protocolNumber == protocolNumber
            {
                return Int(index)
            }
            slot = (slot + 1) & indexMask
        }
    }

    /// The flow a backend's reply belongs to.
    @inline(__always)
    public func lookupBackend(_ backend: IPv4Address, _ backendPort: UInt16, snatPort: UInt16, protocolNumber: UInt8) -> Int? {
        var slot = Int(truncatingIfNeeded: ConnectionTracker.hash(backend.value, backendPort, 0, snatPort, protocolNumber)) & indexMask
        while true {
            let index = backendIndex[slot]
            if index < 0 { return nil }
            let entry = entries[Int(index)]
            if entry.snatPort == snatPort && entry.backendPort == backendPort && entry.backend == backend
                && entry.protocolNumber == protocolNumber
            {
                return Int(index)
            }
            slot = (slot + 1) & indexMask
        }
    }

    // MARK: Changes

    /// Tracks a new flow; nil (and counted) when the table is full or no SNAT port is free.
    public func insert(
        client: IPv4Address, clientPort: UInt16, service: IPv4Address, servicePort: UInt16, protocolNumber: UInt8,
        backend: IPv4Address, backendPort: UInt16, backendIndex backendNumber: Int, serviceIndex: Int, now: Instant
    ) -> Int? {
        guard let index = freeEntries.last else {
            counters.tableFull += 1
            return nil
        }
        guard let port = freePorts.popLast() else {
            counters.snatPortsExhausted += 1
            return nil
        }
        freeEntries.removeLast()
        var entry = Entry()
        entry.client = client
        entry.clientPort = clientPort
        entry.service = service
        entry.servicePort = servicePort
        entry.protocolNumber = protocolNumber
        entry.backend = backend
        entry.backendPort = backendPort
        entry.backendIndex = Int32(backendNumber)
        entry.serviceIndex = Int32(serviceIndex)
        entry.snatPort = port
        entry.state = .synSent
        entry.expires = now + timeouts(for: serviceIndex).timeout(.synSent, udp: protocolNumber == IPv4Packet.ProtocolNumber.udp)
        entry.inUse = true
        entries[Int(index)] = entry
        insertIndex(clientSide: true, index, hash: ConnectionTracker.hash(client.value, clientPort, service.value, servicePort, protocolNumber))
        insertIndex(clientSide: false, index, hash: ConnectionTracker.hash(backend.value, backendPort, 0, port, protocolNumber))
        count += 1
        counters.flowsCreated += 1
        return Int(index)
    }

    /// Advances a TCP flow's state from the flags of a packet seen in one
    /// direction, and refreshes its expiry.
    public func observe(_ index: Int, flags: TCPSegment.Flags, fromClient: Bool, now: Instant) {
        var entry = entries[index]
        let isUDP = entry.protocolNumber == IPv4Packet.ProtocolNumber.udp
        if entry.state == .closed {
            // Closed stays closed: late FINs and retransmissions only keep it from expiring early.
        } else if !isUDP {
            if flags.contains(.rst) {
                entry.state = .closed
            } else if flags.contains(.fin) {
                if fromClient { entry.clientFin = true } else { entry.backendFin = true }
                entry.state = entry.clientFin && entry.backendFin ? .closing : .finWait
            } else if entry.state == .synSent && !fromClient && flags.contains(.syn) && flags.contains(.ack) {
                entry.state = .established
            } else if entry.state == .closing && flags == [.ack] {
                entry.state = .closed
            }
        } else if entry.state == .synSent && !fromClient {
            entry.state = .established
        }
        entry.expires = now + timeouts(for: Int(entry.serviceIndex)).timeout(entry.state, udp: isUDP)
        entries[index] = entry
    }

    @inline(__always)
    private func timeouts(for serviceIndex: Int) -> Timeouts {
        serviceIndex >= 0 && serviceIndex < serviceTimeouts.count ? serviceTimeouts[serviceIndex] : timeouts
    }

    /// Forgets a flow now (its backend was disabled, or the caller closed it).
    public func remove(_ index: Int) {
        let entry = entries[index]
        guard entry.inUse else { return }
        removeIndex(clientSide: true, Int32(index), hash: ConnectionTracker.hash(
            entry.client.value, entry.clientPort, entry.service.value, entry.servicePort, entry.protocolNumber))
        removeIndex(clientSide: false, Int32(index), hash: ConnectionTracker.hash(
            entry.backend.value, entry.backendPort, 0, entry.snatPort, entry.protocolNumber))
        freePorts.append(entry.snatPort)
        entries[index].inUse = false
        freeEntries.append(Int32(index))
        count -= 1
    }

    /// Expires up to `budget` entries' worth of the table from where the
    /// last sweep stopped, calling `expired` for each flow removed. Bounded
    /// work per call keeps the event loop's turns short.
    public func sweep(now: Instant, budget: Int, expired: (Entry) -> Void) {
        var remaining = Swift.min(budget, capacity)
        while remaining > 0 {
            let index = sweepCursor
            sweepCursor = (sweepCursor + 1) % capacity
            remaining -= 1
            let entry = entries[index]
            guard entry.inUse, entry.expires <= now else { continue }
            remove(index)
            counters.expired += 1
            expired(entry)
        }
    }

    // MARK: Index

    @inline(__always)
    static func hash(_ a: UInt32, _ aPort: UInt16, _ b: UInt32, _ bPort: UInt16, _ protocolNumber: UInt8) -> UInt64 {
        var z = UInt64(a) << 32 | UInt64(b)
        z ^= (UInt64(aPort) << 24 | UInt64(bPort) << 8 | UInt64(protocolNumber)) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) private func slotValue(_ clientSide: Bool, _ slot: Int) -> Int32 {
        clientSide ? clientIndex[slot] : backendIndex[slot]
    }

    @inline(__always) private func setSlot(_ clientSide: Bool, _ slot: Int, _ value: Int32) {
        if clientSide { clientIndex[slot] = value } else { backendIndex[slot] = value }
    }

    private func insertIndex(clientSide: Bool, _ entry: Int32, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & indexMask
        while slotValue(clientSide, slot) >= 0 { slot = (slot + 1) & indexMask }
        setSlot(clientSide, slot, entry)
    }

    /// Linear-probing deletion with backward shift: no tombstones, so
    /// lookups never slow down as flows come and go.
    private func removeIndex(clientSide: Bool, _ entry: Int32, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & indexMask
        while slotValue(clientSide, slot) != entry {
            if slotValue(clientSide, slot) < 0 { return }
            slot = (slot + 1) & indexMask
        }
        var hole = slot
        var next = (hole + 1) & indexMask
        while slotValue(clientSide, next) >= 0 {
            let candidate = slotValue(clientSide, next)
            let home = Int(truncatingIfNeeded: homeHash(of: candidate, clientSide: clientSide)) & indexMask
            // Move the candidate back unless its home lies after the hole (cyclically).
            if (hole - home) & indexMask <= (next - home) & indexMask {
                setSlot(clientSide, hole, candidate)
                hole = next
            }
            next = (next + 1) & indexMask
        }
        setSlot(clientSide, hole, -1)
    }

    private func homeHash(of entryIndex: Int32, clientSide: Bool) -> UInt64 {
        let entry = entries[Int(entryIndex)]
        if clientSide {
            return ConnectionTracker.hash(entry.client.value, entry.clientPort, entry.service.value, entry.servicePort, entry.protocolNumber)
        }
        return ConnectionTracker.hash(entry.backend.value, entry.backendPort, 0, entry.snatPort, entry.protocolNumber)
    }
}
