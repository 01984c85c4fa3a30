/// What the balancer keeps about a flow whose SYN a backend has not yet
/// answered, so it can send the SYN to another backend: the client's TCP
/// header with its options, the backends tried, how often the flow was
/// redispatched, and the connect deadline.
///
/// A fixed pool sized at creation (one slot per half-open flow the tracker
/// allows), indexed from the flow's `ConnectionTracker.Entry.attempt`:
/// taking, re-arming and releasing a slot allocates nothing. Armed slots
/// sit on one deadline list per service, oldest deadline first: every slot
/// on a list got the same timeout when it was armed, so appending keeps the
/// list sorted and finding the due ones never scans the pool.
public final class ConnectAttempts {
    /// The longest TCP header (with options) a slot holds.
    public static let headerCapacity = 60

    public let capacity: Int
    /// Slots in use (a gauge).
    public private(set) var count = 0
    private var flows: [Int32]
    private var tried: [UInt64]
    private var redispatchCounts: [UInt8]
    private var deadlines: [Instant]
    private var lists: [Int16]
    private var earlier: [Int32]
    private var later: [Int32]
    private var headerLengths: [UInt8]
    private var headers: [UInt8]
    private var free: [Int32]
    private var firsts: [Int32]
    private var lasts: [Int32]

    /// - Parameters:
    ///   - capacity: slots at most.
    ///   - lists: deadline lists (one per service).
    public init(capacity: Int, lists: Int) {
        self.capacity = Swift.max(capacity, 0)
        flows = Array(repeating: -1, count: self.capacity)
        tried = Array(repeating: 0, count: self.capacity)
        redispatchCounts = Array(repeating: 0, count: self.capacity)
        deadlines = Array(repeating: .zero, count: self.capacity)
        self.lists = Array(repeating: -1, count: self.capacity)
        earlier = Array(repeating: -1, count: self.capacity)
        later = Array(repeating: -1, count: self.capacity)
        headerLengths = Array(repeating: 0, count: self.capacity)
        headers = Array(repeating: 0, count: self.capacity * ConnectAttempts.headerCapacity)
        free = (0..<Int32(self.capacity)).reversed().map { $0 }
        firsts = Array(repeating: -1, count: Swift.max(lists, 1))
        lasts = Array(repeating: -1, count: Swift.max(lists, 1))
    }

    // MARK: Slots

    /// A slot for `flow`, armed on `list` until `deadline`, holding the
    /// client's TCP `header` (at most `headerCapacity` bytes); nil when the
    /// pool is empty or the header too long.
    func take(flow: Int, list: Int, deadline: Instant, header: UnsafeRawBufferPointer) -> Int32? {
        guard header.count <= ConnectAttempts.headerCapacity, list >= 0, list < firsts.count, let slot = free.popLast()
        else { return nil }
        let index = Int(slot)
        flows[index] = Int32(flow)
        tried[index] = 0
        redispatchCounts[index] = 0
        headerLengths[index] = UInt8(header.count)
        let start = index * ConnectAttempts.headerCapacity
        for offset in 0..<header.count { headers[start + offset] = header[offset] }
        lists[index] = Int16(list)
        count += 1
        append(slot, deadline: deadline)
        return slot
    }

    /// Returns `slot` to the pool.
    func release(_ slot: Int32) {
        let index = Int(slot)
        guard index >= 0, index < capacity, flows[index] >= 0 else { return }
        unlink(slot)
        flows[index] = -1
        free.append(slot)
        count -= 1
    }

    /// The flow that owns `slot`.
    func flow(_ slot: Int32) -> Int { Int(flows[Int(slot)]) }

    /// Backends this flow's SYN went to, one bit per backend index.
    func tried(_ slot: Int32) -> UInt64 { tried[Int(slot)] }

    /// Times this flow was sent to another backend.
    func redispatches(_ slot: Int32) -> Int { Int(redispatchCounts[Int(slot)]) }

    /// When the backend tried last must have answered.
    func deadline(_ slot: Int32) -> Instant { deadlines[Int(slot)] }

    /// Records that the flow's SYN went to `backend` (an index below 64).
    func markTried(_ slot: Int32, backend: Int) {
        guard backend >= 0, backend < 64 else { return }
        tried[Int(slot)] |= 1 << UInt64(backend)
    }

    /// Counts one redispatch and re-arms the deadline.
    func redispatched(_ slot: Int32, deadline: Instant) {
        redispatchCounts[Int(slot)] &+= 1
        unlink(slot)
        append(slot, deadline: deadline)
    }

    /// Copies the client's TCP header into `bytes`; returns its length.
    func copyHeader(_ slot: Int32, into bytes: UnsafeMutableRawBufferPointer) -> Int {
        let start = Int(slot) * ConnectAttempts.headerCapacity
        let length = Int(headerLengths[Int(slot)])
        for offset in 0..<length { bytes[offset] = headers[start + offset] }
        return length
    }

    /// The client's initial sequence number, from the stored header.
    func initialSequence(_ slot: Int32) -> UInt32 {
        let start = Int(slot) * ConnectAttempts.headerCapacity + 4
        return UInt32(headers[start]) << 24 | UInt32(headers[start + 1]) << 16 | UInt32(headers[start + 2]) << 8
            | UInt32(headers[start + 3])
    }

    // MARK: Deadlines

    /// The armed slot of `list` with the earliest deadline, if it is due by `now`.
    func due(list: Int, now: Instant) -> Int32? {
        guard list >= 0, list < firsts.count else { return nil }
        let first = firsts[list]
        guard first >= 0, deadlines[Int(first)] <= now else { return nil }
        return first
    }

    /// Deadline lists (one per service).
    var listCount: Int { firsts.count }

    private func append(_ slot: Int32, deadline: Instant) {
        let index = Int(slot)
        let list = Int(lists[index])
        deadlines[index] = deadline
        earlier[index] = lasts[list]
        later[index] = -1
        if lasts[list] >= 0 { later[Int(lasts[list])] = slot } else { firsts[list] = slot }
        lasts[list] = slot
    }

    private func unlink(_ slot: Int32) {
        let index = Int(slot)
        let list = Int(lists[index])
        let before = earlier[index]
        let after = later[index]
        if before >= 0 { later[Int(before)] = after } else if firsts[list] == slot { firsts[list] = after }
        if after >= 0 { earlier[Int(after)] = before } else if lasts[list] == slot { lasts[list] = before }
        earlier[index] = -1
        later[index] = -1
    }
}
