/// The neighbour table for one interface: IPv4 to MAC, with expiry, plus a
/// bounded queue of packets waiting for an address to resolve.
///
/// Both are fixed-size. A full table evicts its oldest entry; a full
/// pending queue drops the new packet and counts it.
public struct ARPCache {
    public struct Entry: Sendable {
        public var address: IPv4Address
        public var hardware: MACAddress
        public var expires: Instant
    }

    struct Pending {
        var nextHop: IPv4Address
        var buffer: PacketBuffer
        var queuedAt: Instant
    }

    struct Resolution {
        var address: IPv4Address
        var lastRequest: Instant
        var requestsSent: Int
    }

    public let capacity: Int
    public let pendingCapacity: Int
    public var entryLifetime = Interval.seconds(60)
    public var retryInterval = Interval.seconds(1)
    public var maximumRequests = 3

    public private(set) var entries: [Entry] = []
    var pending: [Pending] = []
    var resolutions: [Resolution] = []

    public init(capacity: Int = 64, pendingCapacity: Int = 32) {
        self.capacity = capacity
        self.pendingCapacity = pendingCapacity
        entries.reserveCapacity(capacity)
        pending.reserveCapacity(pendingCapacity)
        resolutions.reserveCapacity(pendingCapacity)
    }

    public var pendingCount: Int { pending.count }

    /// The hardware address for `address`, if known and fresh.
    public func lookup(_ address: IPv4Address, now: Instant) -> MACAddress? {
        for entry in entries where entry.address == address {
            return entry.expires > now ? entry.hardware : nil
        }
        return nil
    }

    /// Records a mapping and returns the packets that were waiting for it.
    public mutating func learn(_ address: IPv4Address, is hardware: MACAddress, now: Instant) -> [PacketBuffer] {
        let expires = now + entryLifetime
        if let index = entries.firstIndex(where: { $0.address == address }) {
            entries[index].hardware = hardware
            entries[index].expires = expires
        } else {
            if entries.count == capacity {
                var oldest = 0
                for index in entries.indices where entries[index].expires < entries[oldest].expires { oldest = index }
                entries.remove(at: oldest)
            }
            entries.append(Entry(address: address, hardware: hardware, expires: expires))
        }
        resolutions.removeAll { $0.address == address }
        guard pending.contains(where: { $0.nextHop == address }) else { return [] }
        var released: [PacketBuffer] = []
        pending.removeAll { item in
            guard item.nextHop == address else { return false }
            released.append(item.buffer)
            return true
        }
        return released
    }

    /// Whether `address` is in the table (fresh or not); used to refresh
    /// entries from traffic without letting strangers fill the table.
    public func knows(_ address: IPv4Address) -> Bool { entries.contains { $0.address == address } }

    /// What the caller should do with a packet whose next hop is unresolved.
    public enum EnqueueResult: Equatable {
        /// Queued; send an ARP request now.
        case queuedSendRequest
        /// Queued; a request is already outstanding.
        case queued
        /// The queue is full; the caller gets the buffer back to release.
        case dropped
    }

    public mutating func enqueue(_ buffer: PacketBuffer, nextHop: IPv4Address, now: Instant) -> EnqueueResult {
        guard pending.count < pendingCapacity else { return .dropped }
        pending.append(Pending(nextHop: nextHop, buffer: buffer, queuedAt: now))
        if resolutions.contains(where: { $0.address == nextHop }) { return .queued }
        resolutions.append(Resolution(address: nextHop, lastRequest: now, requestsSent: 1))
        return .queuedSendRequest
    }

    /// Ages the table: calls `retry` for each address to request again, and
    /// `drop` with each packet whose next hop never answered.
    public mutating func expire(now: Instant, retry: (IPv4Address) -> Void, drop: (PacketBuffer) -> Void) {
        entries.removeAll { $0.expires <= now }
        var index = 0
        while index < resolutions.count {
            var resolution = resolutions[index]
            guard now.since(resolution.lastRequest) >= retryInterval else {
                index += 1
                continue
            }
            if resolution.requestsSent >= maximumRequests {
                let address = resolution.address
                resolutions.remove(at: index)
                pending.removeAll { item in
                    guard item.nextHop == address else { return false }
                    drop(item.buffer)
                    return true
                }
                continue
            }
            resolution.requestsSent += 1
            resolution.lastRequest = now
            resolutions[index] = resolution
            retry(resolution.address)
            index += 1
        }
    }
}
