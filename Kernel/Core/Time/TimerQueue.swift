/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    public let rawValue: UInt64
}

/// Timers ordered by deadline: a binary min-heap keyed on
/// (deadline, scheduling order), so timers due at the same instant fire in
/// the order they were scheduled.
public struct TimerQueue<Payload> {
    struct Entry {
        var deadline: Instant
        var sequence: UInt64
        var id: TimerID
        var payload: Payload

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0
    private var nextID: UInt64 = 1

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline, or nil when nothing is scheduled.
    public var nextDeadline: Instant? { entries.first?.deadline }

    /// Schedules `payload` for `deadline` and returns its identifier.
    @discardableResult
    public mutating func schedule(at deadline: Instant, _ payload: Payload) -> TimerID {
        let id = TimerID(rawValue: nextID)
        nextID += 1
        insert(Entry(deadline: deadline, sequence: takeSequence(), id: id, payload: payload))
        return id
    }

    /// Schedules again under an existing identifier; used for periodic timers.
    public mutating func reschedule(_ id: TimerID, at deadline: Instant, _ payload: Payload) {
        insert(Entry(deadline: deadline, sequence: takeSequence(), id: id, payload: payload))
    }

    /// Removes a pending timer. Returns false if it already fired or was cancelled.
    @discardableResult
    public mutating func cancel(_ id: TimerID) -> Bool {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
        remove(at: index)
        return true
    }

    /// The earliest timer whose deadline is at or before `now`, removed from the queue.
    public mutating func popExpired(now: Instant) -> (id: TimerID, deadline: Instant, payload: Payload)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        remove(at: 0)
        return (first.id, first.deadline, first.payload)
    }

    private mutating func takeSequence() -> UInt64 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }

    private mutating func insert(_ entry: Entry) {
        entries.append(entry)
        siftUp(entries.count - 1)
    }

    private mutating func remove(at index: Int) {
        let last = entries.count - 1
        if index != last {
            entries.swapAt(index, last)
        }
        entries.removeLast()
        if index < entries.count {
            siftDown(index)
            siftUp(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count && entries[right].precedes(entries[smallest]) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
