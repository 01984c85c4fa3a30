/// Cumulative counts; `reset-counters` zeroes them. Gauges (`count`,
/// `halfOpenCount`) live apart and are never reset.
public enum ConntrackCounter: Int, CounterKey, CaseIterable {
    case flowsCreated
    case tableFull
    case snatPortsExhausted
    case expired
    /// Half-open flows evicted to make room for a new SYN.
    case halfOpenEvicted
    /// RST and FIN segments outside the flow's window, dropped.
    case outOfWindow
    /// Client RSTs inside the window but not at the backend's next
    /// expected byte: forwarded, the flow unchanged.
    case resetInexact

    public var name: StaticString {
        switch self {
        case .flowsCreated: "created"
        case .tableFull: "table-full"
        case .snatPortsExhausted: "snat-ports-exhausted"
        case .expired: "expired"
        case .halfOpenEvicted: "half-open-evicted"
        case .outOfWindow: "out-of-window"
        case .resetInexact: "rst-inexact"
        }
    }
}

/// The full-NAT connection table: each flow from a client to a service
/// address, mapped to a backend reached from the appliance's own private
/// address and a source port allocated for the flow.
///
/// Everything is sized at creation: entries live in a fixed array, two
/// open-addressing indices (client side and backend side) point into it,
/// and SNAT ports come from a fixed pool. Inserting, finding, updating and
/// expiring flows allocates nothing. A full table or an exhausted port pool
/// refuses the new flow (counted); existing flows carry on.
///
/// A TCP flow is half-open from the client's SYN until the client
/// acknowledges the backend's SYN-ACK. Half-open flows keep the `syn`
/// timeout, are counted apart (`halfOpenCount`) and bounded
/// (`halfOpenLimit`): a new SYN past the bound, or into a full table or
/// port pool, evicts the oldest half-open flow. A spoofed SYN is never
/// acknowledged, so a flood only ever displaces other spoofed flows, while
/// a real client completes its handshake within a round trip.
///
/// Each direction's sequence window is tracked (`TCPWindow`): a RST or FIN
/// outside it is refused (counted) and changes nothing. A client's RST
/// ends the flow only at exactly the next byte the backend expects (its
/// highest acknowledgment), as RFC 5961 §3.2 has the backend itself
/// require: any other in-window RST passes (counted) so the backend can
/// answer with a challenge ACK, and changes nothing. Backend RSTs come
/// from the private network and need only be in the window.
public final class ConnectionTracker {
    /// The life of a tracked TCP flow, as far as a middlebox can see it.
    public enum FlowState: UInt8, Sendable, CaseIterable {
        /// The client's SYN passed.
        case synSent
        /// The backend's SYN-ACK passed; the client has not acknowledged it.
        case synReceived
        case established, finWait, closing, closed

        public var name: StaticString {
            switch self {
            case .synSent: return "syn"
            case .synReceived: return "syn-received"
            case .established: return "established"
            case .finWait: return "fin"
            case .closing: return "closing"
            case .closed: return "closed"
            }
        }

        /// Before the client completed the handshake.
        @inline(__always)
        public var isHalfOpen: Bool { self == .synSent || self == .synReceived }

        /// A connection both ends opened and not both closed: what
        /// connection counts and limits count.
        @inline(__always)
        public var isOpen: Bool { self == .established || self == .finWait || self == .closing }
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
            case .synSent, .synReceived: return syn
            case .established: return established
            case .finWait: return fin
            case .closing: return closing
            case .closed: return closed
            }
        }
    }

    /// One flow. Fields are ordered so the entry packs into 80 bytes.
    public struct Entry: Sendable {
        public var expires = Instant.zero
        public var client = IPv4Address.any
        public var service = IPv4Address.any
        public var backend = IPv4Address.any
        public var backendIndex: Int16 = -1
        public var serviceIndex: Int16 = -1
        /// Neighbours in the half-open queue, oldest first (-1: none).
        var olderHalfOpen: Int32 = -1
        var newerHalfOpen: Int32 = -1
        /// The flow's slot in `attempts` while its SYN awaits an answer (-1: none).
        public internal(set) var attempt: Int32 = -1
        /// The highest acknowledgment the backend has sent: the next
        /// client byte it expects, where a client RST must sit to end the flow.
        public var backendAcknowledged: UInt32 = 0
        /// What the client sends (sequence numbers in the client's space).
        public var clientWindow = TCPWindow()
        public var clientPort: UInt16 = 0
        /// What the backend sends.
        public var backendWindow = TCPWindow()
        public var servicePort: UInt16 = 0
        public var backendPort: UInt16 = 0
        public var snatPort: UInt16 = 0
        public var protocolNumber: UInt8 = 0
        public var state = FlowState.synSent
        /// `clientFin`, `backendFin` and `inUse`, one bit each.
        private var marks: UInt8 = 0

        public var clientFin: Bool {
            get { mark(0) }
            set { setMark(0, newValue) }
        }
        public var backendFin: Bool {
            get { mark(1) }
            set { setMark(1, newValue) }
        }
        public var inUse: Bool {
            get { mark(2) }
            set { setMark(2, newValue) }
        }

        @inline(__always)
        private func mark(_ bit: UInt8) -> Bool { marks & (1 << bit) != 0 }

        @inline(__always)
        private mutating func setMark(_ bit: UInt8, _ on: Bool) {
            if on { marks |= 1 << bit } else { marks &= ~(1 << bit) }
        }
    }

    /// One count per `ConntrackCounter`.
    public typealias Counters = CounterSet<ConntrackCounter>

    public let capacity: Int
    /// Half-open flows tracked at most; past it a new SYN evicts the oldest.
    public let halfOpenLimit: Int
    /// Timeouts for flows of services without their own.
    public var timeouts = Timeouts()
    /// Per-service timeouts, indexed by the flows' `serviceIndex`.
    public var serviceTimeouts: [Timeouts] = []
    public private(set) var counters = Counters()
    /// Flows in the table (a gauge).
    public private(set) var count = 0
    /// Flows in the table that are half-open (a gauge).
    public private(set) var halfOpenCount = 0
    public private(set) var entries: [Entry]
    /// What redispatching a half-open flow's SYN needs, one slot per
    /// half-open flow at most; a removed flow's slot is released.
    public let attempts: ConnectAttempts
    private var freeEntries: [Int32]
    private var clientIndex: [Int32]
    private var backendIndex: [Int32]
    private let indexMask: Int
    private var ports: SNATPortPool
    private var sweepCursor = 0
    private var oldestHalfOpen: Int32 = -1
    private var newestHalfOpen: Int32 = -1

    /// The share of the table half-open flows may take unless told otherwise.
    public static let defaultHalfOpenShare = 4

    /// - Parameters:
    ///   - capacity: flows tracked at most.
    ///   - snatPorts: the source ports the appliance may use toward backends.
    ///   - halfOpenLimit: half-open flows tracked at most (default: a quarter of `capacity`).
    ///   - deadlineLists: connect-deadline lists in `attempts` (one per service).
    public init(capacity: Int, snatPorts: ClosedRange<UInt16> = 1024...65535, halfOpenLimit: Int? = nil, deadlineLists: Int = 1) {
        self.capacity = capacity
        self.halfOpenLimit = Swift.max(1, Swift.min(halfOpenLimit ?? capacity / ConnectionTracker.defaultHalfOpenShare, capacity))
        attempts = ConnectAttempts(capacity: self.halfOpenLimit, lists: deadlineLists)
        entries = Array(repeating: Entry(), count: capacity)
        freeEntries = (0..<Int32(capacity)).reversed().map { $0 }
        var indexSize = 16
        while indexSize < capacity * 2 { indexSize <<= 1 }
        indexMask = indexSize - 1
        clientIndex = Array(repeating: -1, count: indexSize)
        backendIndex = Array(repeating: -1, count: indexSize)
        ports = SNATPortPool(snatPorts)
    }

    public var availableSNATPorts: Int { ports.available }

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

    /// Tracks a new flow in the synSent state; nil (and counted) when the
    /// table is full or no SNAT port is free and no half-open flow can be
    /// evicted to make room.
    public func insert(
        client: IPv4Address, clientPort: UInt16, service: IPv4Address, servicePort: UInt16, protocolNumber: UInt8,
        backend: IPv4Address, backendPort: UInt16, backendIndex backendNumber: Int, serviceIndex: Int, now: Instant
    ) -> Int? {
        if halfOpenCount >= halfOpenLimit || (freeEntries.isEmpty || ports.available == 0) && halfOpenCount > 0 {
            evictOldestHalfOpen()
        }
        guard let index = freeEntries.last else {
            counters[.tableFull] += 1
            return nil
        }
        guard let port = ports.take() else {
            counters[.snatPortsExhausted] += 1
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
        entry.backendIndex = Int16(truncatingIfNeeded: backendNumber)
        entry.serviceIndex = Int16(truncatingIfNeeded: serviceIndex)
        entry.snatPort = port
        entry.state = .synSent
        entry.expires = now + timeouts(for: serviceIndex).timeout(.synSent, udp: protocolNumber == IPv4Packet.ProtocolNumber.udp)
        entry.inUse = true
        entries[Int(index)] = entry
        insertIndex(clientSide: true, index, hash: ConnectionTracker.hash(client.value, clientPort, service.value, servicePort, protocolNumber))
        insertIndex(clientSide: false, index, hash: ConnectionTracker.hash(backend.value, backendPort, 0, port, protocolNumber))
        count += 1
        counters[.flowsCreated] += 1
        enqueueHalfOpen(index)
        return Int(index)
    }

    /// Advances a flow from a packet seen in one direction and refreshes
    /// its expiry. Returns false for a RST or FIN outside the flow's
    /// window: it is counted, changes nothing, and must not be forwarded.
    /// Other out-of-window segments, and a client's in-window RST not at
    /// the backend's next expected byte (counted), pass unchanged (the
    /// endpoint judges them) but neither move the state nor keep the flow alive.
    @discardableResult
    public func observe(_ index: Int, _ segment: TrackedSegment, fromClient: Bool, now: Instant) -> Bool {
        var entry = entries[index]
        let before = entry.state
        let isUDP = entry.protocolNumber == IPv4Packet.ProtocolNumber.udp
        if isUDP {
            if entry.state == .synSent && !fromClient { entry.state = .established }
        } else if entry.state != .closed {
            // Closed stays closed: late FINs and retransmissions only keep it from expiring early.
            switch Self.track(&entry, segment, fromClient: fromClient) {
            case .tracked:
                break
            case .outOfWindow:
                guard segment.isControl else { return true }
                counters[.outOfWindow] += 1
                return false
            case .inexactReset:
                counters[.resetInexact] += 1
                return true
            }
        }
        entry.expires = now + timeouts(for: Int(entry.serviceIndex)).timeout(entry.state, udp: isUDP)
        entries[index] = entry
        if before.isHalfOpen && !entry.state.isHalfOpen { dequeueHalfOpen(Int32(index)) }
        return true
    }

    /// What `track` made of a segment.
    private enum Outcome {
        /// In the window; the entry moved with it.
        case tracked
        /// Outside the window; the entry is unchanged.
        case outOfWindow
        /// A client RST in the window but not at the backend's next
        /// expected byte; the entry is unchanged.
        case inexactReset
    }

    /// The TCP state machine with window tracking.
    @inline(__always)
    private static func track(_ entry: inout Entry, _ segment: TrackedSegment, fromClient: Bool) -> Outcome {
        let flags = segment.flags
        if fromClient {
            if !entry.clientWindow.isInitialized {
                // The SYN that opened the flow.
                guard flags.contains(.syn) && !flags.contains(.ack) else { return .outOfWindow }
                entry.clientWindow.start(segment, reply: false)
                return .tracked
            }
            guard entry.clientWindow.accepts(segment, receiver: entry.backendWindow) else { return .outOfWindow }
            // Once the backend has acknowledged, only a RST at its next expected byte would reset it (RFC 5961 §3.2).
            if flags.contains(.rst) && entry.backendWindow.isInitialized && segment.sequenceNumber != entry.backendAcknowledged {
                return .inexactReset
            }
            entry.clientWindow.advance(segment, receiver: &entry.backendWindow)
        } else {
            if !entry.backendWindow.isInitialized {
                // Only the SYN-ACK (or a refusing RST) acknowledging the client's SYN starts the reply direction.
                guard flags.contains(.ack), segment.acknowledgmentNumber == entry.clientWindow.end else { return .outOfWindow }
                if flags.contains(.rst) {
                    entry.state = .closed
                    return .tracked
                }
                guard flags.contains(.syn) else { return .outOfWindow }
                entry.backendAcknowledged = segment.acknowledgmentNumber
                entry.backendWindow.start(segment, reply: true)
                if !(entry.clientWindow.offeredScale && entry.backendWindow.offeredScale) {
                    entry.clientWindow.scale = 0
                    entry.backendWindow.scale = 0
                }
                entry.backendWindow.advance(segment, receiver: &entry.clientWindow)
                entry.state = .synReceived
                return .tracked
            }
            guard entry.backendWindow.accepts(segment, receiver: entry.clientWindow) else { return .outOfWindow }
            entry.backendWindow.advance(segment, receiver: &entry.clientWindow)
            if flags.contains(.ack) && TCPWindow.Sequence.after(segment.acknowledgmentNumber, entry.backendAcknowledged) {
                entry.backendAcknowledged = segment.acknowledgmentNumber
            }
        }
        if flags.contains(.rst) {
            entry.state = .closed
            return .tracked
        }
        // The client's ACK of the backend's SYN-ACK completes the handshake.
        if entry.state == .synReceived && fromClient && flags.contains(.ack)
            && segment.acknowledgmentNumber == entry.backendWindow.end
        {
            entry.state = .established
        }
        guard entry.state.isOpen else { return .tracked }
        if flags.contains(.fin) {
            if fromClient { entry.clientFin = true } else { entry.backendFin = true }
            entry.state = entry.clientFin && entry.backendFin ? .closing : .finWait
        } else if entry.state == .closing && flags == [.ack] {
            entry.state = .closed
        }
        return .tracked
    }

    @inline(__always)
    private func timeouts(for serviceIndex: Int) -> Timeouts {
        serviceIndex >= 0 && serviceIndex < serviceTimeouts.count ? serviceTimeouts[serviceIndex] : timeouts
    }

    /// Forgets a flow now (its backend was disabled, or the caller closed it).
    public func remove(_ index: Int) {
        let entry = entries[index]
        guard entry.inUse else { return }
        if entry.state.isHalfOpen { dequeueHalfOpen(Int32(index)) }
        endAttempt(index)
        removeIndex(clientSide: true, Int32(index), hash: ConnectionTracker.hash(
            entry.client.value, entry.clientPort, entry.service.value, entry.servicePort, entry.protocolNumber))
        removeIndex(clientSide: false, Int32(index), hash: ConnectionTracker.hash(
            entry.backend.value, entry.backendPort, 0, entry.snatPort, entry.protocolNumber))
        ports.give(entry.snatPort)
        entries[index].inUse = false
        freeEntries.append(Int32(index))
        count -= 1
    }

    // MARK: Connect attempts

    /// Gives `flow` a slot in `attempts`, armed on `list` until
    /// `deadline`, holding the client's SYN `header`. False when the pool
    /// has no slot or the header does not fit.
    @discardableResult
    func beginAttempt(_ flow: Int, list: Int, deadline: Instant, header: UnsafeRawBufferPointer) -> Bool {
        guard entries[flow].attempt < 0,
            let slot = attempts.take(flow: flow, list: list, deadline: deadline, header: header)
        else { return false }
        entries[flow].attempt = slot
        attempts.markTried(slot, backend: Int(entries[flow].backendIndex))
        return true
    }

    /// Releases `flow`'s attempt slot, if it has one.
    func endAttempt(_ flow: Int) {
        let slot = entries[flow].attempt
        guard slot >= 0 else { return }
        attempts.release(slot)
        entries[flow].attempt = -1
    }

    /// Whether `segment` from the backend is its RST refusing the flow's
    /// SYN: the flow awaits the SYN-ACK and the RST acknowledges the SYN.
    func isRefusal(_ flow: Int, _ segment: TrackedSegment) -> Bool {
        let entry = entries[flow]
        return entry.state == .synSent && !entry.backendWindow.isInitialized && entry.clientWindow.isInitialized
            && segment.flags.contains(.rst) && segment.flags.contains(.ack)
            && segment.acknowledgmentNumber == entry.clientWindow.end
    }

    /// Points a flow awaiting its SYN-ACK at another backend: the
    /// backend-side index is re-keyed, the SNAT port and the client's side stay.
    func rebind(_ flow: Int, backend: IPv4Address, backendPort: UInt16, backendIndex backendNumber: Int, now: Instant) {
        let entry = entries[flow]
        removeIndex(clientSide: false, Int32(flow), hash: ConnectionTracker.hash(
            entry.backend.value, entry.backendPort, 0, entry.snatPort, entry.protocolNumber))
        entries[flow].backend = backend
        entries[flow].backendPort = backendPort
        entries[flow].backendIndex = Int16(truncatingIfNeeded: backendNumber)
        entries[flow].expires = now + timeouts(for: Int(entry.serviceIndex)).timeout(.synSent, udp: false)
        insertIndex(clientSide: false, Int32(flow), hash: ConnectionTracker.hash(
            backend.value, backendPort, 0, entry.snatPort, entry.protocolNumber))
        if entry.attempt >= 0 { attempts.markTried(entry.attempt, backend: backendNumber) }
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
            counters[.expired] += 1
            expired(entry)
        }
    }

    /// Zeroes the cumulative counters; the gauges and the flows stay.
    public func resetCounters() {
        counters = Counters()
    }

    // MARK: Half-open queue

    /// Drops the oldest half-open flow, freeing its entry and SNAT port.
    /// It holds no connection count, so nothing else needs telling.
    private func evictOldestHalfOpen() {
        guard oldestHalfOpen >= 0 else { return }
        remove(Int(oldestHalfOpen))
        counters[.halfOpenEvicted] += 1
    }

    private func enqueueHalfOpen(_ index: Int32) {
        entries[Int(index)].olderHalfOpen = newestHalfOpen
        entries[Int(index)].newerHalfOpen = -1
        if newestHalfOpen >= 0 { entries[Int(newestHalfOpen)].newerHalfOpen = index } else { oldestHalfOpen = index }
        newestHalfOpen = index
        halfOpenCount += 1
    }

    private func dequeueHalfOpen(_ index: Int32) {
        let older = entries[Int(index)].olderHalfOpen
        let newer = entries[Int(index)].newerHalfOpen
        if older >= 0 { entries[Int(older)].newerHalfOpen = newer } else { oldestHalfOpen = newer }
        if newer >= 0 { entries[Int(newer)].olderHalfOpen = older } else { newestHalfOpen = older }
        entries[Int(index)].olderHalfOpen = -1
        entries[Int(index)].newerHalfOpen = -1
        halfOpenCount -= 1
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
