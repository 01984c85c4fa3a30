// The whole receive path: frames from the fuzzer enter a three-interface
// stack on fake NICs with the UDP echo bound. Besides not crashing, every
// buffer must come back to the pool: a leak would exhaust it in production.

final class FuzzDevice: NetworkDevice {
    let model: StaticString = "fuzz"
    let macAddress: MACAddress
    var linkUp = true
    var counters = DeviceCounters()
    var inbox: PacketBuffer?
    let pool: PacketPool

    init(mac: MACAddress, pool: PacketPool) {
        macAddress = mac
        self.pool = pool
    }

    func service() {}
    func receive() -> PacketBuffer? {
        defer { inbox = nil }
        return inbox
    }
    func transmit(_ buffer: PacketBuffer) -> Bool {
        require(buffer.length >= EthernetFrame.headerLength && buffer.length <= PacketBuffer.maximumFrameLength, "bad frame sent")
        pool.give(buffer)
        return true
    }
}

nonisolated(unsafe) let fuzzPool = PacketPool(count: 64)
nonisolated(unsafe) let fuzzDevices = InterfaceRole.allCases.map {
    FuzzDevice(mac: MACAddress(0x52, 0x54, 0, 0x12, 0x34, 0x56 + UInt8($0.rawValue)), pool: fuzzPool)
}
nonisolated(unsafe) let fuzzStack: NetworkStack = {
    let interfaces = InterfaceRole.allCases.map {
        NetworkInterface(configuration: .standard($0), device: fuzzDevices[$0.rawValue])
    }
    let stack = NetworkStack(pool: fuzzPool, interfaces: interfaces)
    stack.bindUDP(port: 7, on: [.admin]) { datagram in
        stack.sendUDP(from: 7, to: datagram.source, port: datagram.sourcePort,
                      payload: UnsafeRawBufferPointer(datagram.payload), now: Instant(nanoseconds: 1))
    }
    return stack
}()
nonisolated(unsafe) var fuzzClock: UInt64 = 1_000_000_000

func fuzzStackInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let role = InterfaceRole(rawValue: Int(data[0] % 3))!
    let frameLength = min(size - 1, PacketBuffer.maximumFrameLength)
    guard let buffer = fuzzPool.take() else {
        require(false, "pool exhausted: a buffer leaked")
        return 0
    }
    buffer.length = frameLength
    if frameLength > 0 { buffer.frame.copyMemory(from: UnsafeRawBufferPointer(start: data + 1, count: frameLength)) }
    fuzzDevices[role.rawValue].inbox = buffer
    fuzzClock += 50_000_000
    let now = Instant(nanoseconds: fuzzClock)
    _ = fuzzStack.poll(now: now)
    fuzzStack.tick(now: now)
    // Packets may wait for ARP, but only within the bounded pending queues.
    let pending = fuzzStack.interfaces.reduce(0) { $0 + $1.arp.pendingCount }
    require(fuzzPool.available + pending == fuzzPool.count, "a buffer leaked")
    return 0
}
