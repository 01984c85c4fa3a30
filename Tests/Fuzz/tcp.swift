// Random segments against a live TCP connection table: a listener, some
// established connections, and segments that are sometimes plausible
// (in-window sequence numbers, valid acknowledgments) and sometimes garbage.
// Besides not crashing: connections, TIME-WAIT entries and packet buffers
// stay within their limits.

nonisolated(unsafe) let tcpPool = PacketPool(count: 256)
nonisolated(unsafe) var tcpConfiguration: TCPConfiguration = {
    var configuration = TCPConfiguration()
    configuration.maximumConnections = 32
    configuration.maximumHalfOpen = 8
    configuration.maximumTimeWait = 16
    configuration.sendBufferSize = 4096
    configuration.receiveBufferSize = 4096
    return configuration
}()
nonisolated(unsafe) var tcpRandomState: UInt32 = 1
nonisolated(unsafe) let tcpLayer = TCPLayer(pool: tcpPool, configuration: tcpConfiguration, random: {
    tcpRandomState = tcpRandomState &* 1_103_515_245 &+ 12345
    return tcpRandomState
}) { buffer, _, _, _ in
    tcpPool.give(buffer)
}
nonisolated(unsafe) let tcpListener: TCPListener = {
    let listener = tcpLayer.listen(port: 7, addresses: [IPv4Address(10, 0, 1, 15)], backlog: 8)!
    _ = TCPTestService(kind: .echo, listener: listener)
    return listener
}()
nonisolated(unsafe) var tcpClock: UInt64 = 1_000_000_000
nonisolated(unsafe) var tcpConnections: [TCPConnection] = []

func fuzzTCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 8 else { return 0 }
    _ = tcpListener
    let local = IPv4Address(10, 0, 1, 15)
    let remote = IPv4Address(10, 0, 1, UInt8(2 + data[0] % 4))
    let mode = data[1] % 4
    tcpClock += UInt64(data[2]) * 10_000_000
    let now = Instant(nanoseconds: tcpClock)

    if mode == 0, tcpConnections.count < 8, let connection = tcpLayer.connect(from: local, to: remote, port: 80, now: now) {
        tcpConnections.append(connection)
    }
    let segmentLength = min(size - 8, 1200)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(segmentLength, 20), alignment: 16)
    defer { buffer.deallocate() }
    buffer.copyMemory(from: UnsafeRawBufferPointer(start: data + 8, count: segmentLength))
    var length = segmentLength
    if mode >= 2 && length >= 20 {
        // Plausible: a well-formed header aimed at a known connection or the listener.
        let target = tcpConnections.isEmpty ? nil : tcpConnections[Int(data[3]) % tcpConnections.count]
        let flags = TCPSegment.Flags(rawValue: data[4] & 0x1F)
        let sequence = target.map { ($0.receiveNext + Int(Int8(bitPattern: data[5])) * 100).raw } ?? UInt32(data[5]) << 24
        let acknowledgment = target.map { ($0.sendNext + -Int(data[6] % 8)).raw } ?? 0
        length = max(20, length)
        TCPSegment.emit(
            into: buffer, sourcePort: target?.endpoints.remotePort ?? UInt16(data[7]) + 1000,
            destinationPort: target?.endpoints.localPort ?? 7, sequenceNumber: sequence, acknowledgmentNumber: acknowledgment,
            flags: flags, window: UInt16(data[6]) << 6, payloadLength: length - 20,
            source: target?.endpoints.remoteAddress ?? remote, destination: local)
    }
    tcpLayer.receive(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), source: remote, destination: local, now: now)
    tcpLayer.tick(now: now)
    tcpConnections.removeAll { $0.isFinished }

    require(tcpLayer.connectionCount <= tcpConfiguration.maximumConnections, "connection table over its limit")
    require(tcpLayer.timeWaitCount <= tcpConfiguration.maximumTimeWait, "TIME-WAIT table over its limit")
    require(tcpPool.available == tcpPool.count, "a segment buffer leaked")
    return 0
}
