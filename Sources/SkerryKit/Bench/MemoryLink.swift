import KernelCore

/// One end of an in-memory Ethernet cable between two of the core's
/// network stacks on the host: what one end transmits, the other receives
/// on its next poll. Frames are copied, so each stack keeps its own pool.
final class MemoryLinkDevice: NetworkDevice {
    let model: StaticString = "memory"
    let macAddress: MACAddress
    var linkUp = true
    var counters = DeviceCounters()
    private let pool: PacketPool
    private var inbox: [[UInt8]] = []
    /// The other end; set by `connect`.
    private weak var peer: MemoryLinkDevice?

    init(mac: MACAddress, pool: PacketPool) {
        macAddress = mac
        self.pool = pool
    }

    /// Joins two ends.
    static func connect(_ a: MemoryLinkDevice, _ b: MemoryLinkDevice) {
        a.peer = b
        b.peer = a
    }

    /// Whether frames are waiting to be received.
    var hasPendingFrames: Bool { !inbox.isEmpty }

    func service() {}

    func receive() -> PacketBuffer? {
        guard !inbox.isEmpty, let buffer = pool.take() else { return nil }
        let frame = inbox.removeFirst()
        buffer.length = frame.count
        frame.withUnsafeBytes { buffer.frame.copyMemory(from: $0) }
        counters[.rxPackets] += 1
        counters[.rxBytes] += UInt64(frame.count)
        return buffer
    }

    @discardableResult
    func transmit(_ buffer: PacketBuffer) -> Bool {
        let frame = Array(buffer.frame)
        pool.give(buffer)
        guard let peer else {
            counters[.errors] += 1
            return false
        }
        counters[.txPackets] += 1
        counters[.txBytes] += UInt64(frame.count)
        peer.inbox.append(frame)
        return true
    }
}

/// A stack with a single admin interface on one end of a memory link.
final class MemoryLinkHost {
    let address: IPv4Address
    let device: MemoryLinkDevice
    let stack: NetworkStack

    init(address: IPv4Address, mac: MACAddress, buffers: Int) {
        self.address = address
        let pool = PacketPool(count: buffers)
        device = MemoryLinkDevice(mac: mac, pool: pool)
        let interface = NetworkInterface(
            configuration: InterfaceConfiguration(role: .admin, address: IPv4Interface(address: address, prefixLength: 24), gateway: nil),
            device: device)
        stack = NetworkStack(pool: pool, interfaces: [interface])
        stack.defaultRoute = nil
    }
}
