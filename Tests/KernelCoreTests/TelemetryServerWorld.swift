#if canImport(Glibc)
import Glibc
#endif
@testable import KernelCore

/// The kernel's real `TelemetryServer` on a simulated admin network: one
/// server stack and any number of client stacks, each with its own address
/// (many connections may share one, as every host client does under QEMU
/// user-mode networking: one stack per address, many connections each), on a
/// simulated clock. Frames go to the device whose MAC
/// they are addressed to; ARP broadcasts go to all.
final class TelemetryServerWorld {
    final class Host {
        let address: IPv4Address
        let device: FakeDevice
        let stack: NetworkStack

        init(address: IPv4Address, mac: MACAddress, pool: PacketPool) {
            self.address = address
            device = FakeDevice(mac: mac, pool: pool)
            let interface = NetworkInterface(
                configuration: InterfaceConfiguration(role: .admin, address: IPv4Interface(address: address, prefixLength: 24), gateway: nil),
                device: device)
            stack = NetworkStack(pool: pool, interfaces: [interface], random: { 0x3000 })
            stack.defaultRoute = nil
        }
    }

    static let port: UInt16 = 9100
    static let token = Array("a-long-enough-admin-token".utf8)
    let serverAddress = IPv4Address(10, 0, 1, 15)
    var now = Instant(nanoseconds: 1_000_000_000)
    private(set) var server: Host!
    private(set) var telemetry: TelemetryServer!
    private(set) var hosts: [Host] = []
    private var inFlight: [[UInt8]] = []
    private var nextTick = Instant.zero
    /// Console-style reports of failed tokens, as the kernel would print them.
    private(set) var unauthorizedReports: [TokenFailureLimiter.Report] = []

    init(token: [UInt8] = TelemetryServerWorld.token) {
        let server = Host(address: serverAddress, mac: MACAddress(value: 0x5254_0012_3456), pool: PacketPool(count: 256))
        self.server = server
        server.device.onTransmit = { [unowned self] in inFlight.append($0) }
        let listener = server.stack.tcp.listen(port: Self.port, addresses: [serverAddress], backlog: 64)!
        let actions = AdminActions(token: token, balancer: nil)
        let stream = TelemetryStream(applianceName: "world", actions: actions) { [unowned self] in source() }
        actions.onUnauthorized = { [unowned self] in unauthorizedReports.append($0) }
        let http = MetricsHTTP { [unowned self] in ApplianceMetrics.write(source()).bytes }
        telemetry = TelemetryServer(listener: listener, stream: stream, http: http) { [unowned self] in now }
    }

    func source() -> MetricsSource {
        var source = MetricsSource(now: now, uptime: now.since(.zero), heapUsed: 0, heapFree: 0, heapPeak: 0, stack: server.stack,
                                   firewall: nil) { _ in UnsafeBufferPointer(start: nil, count: 0) }
        source.telemetry = telemetry?.counters
        return source
    }

    /// The client host at `address`, made on first use; its connections share the address as NATed clients do.
    func host(_ address: IPv4Address) -> Host {
        if let host = hosts.first(where: { $0.address == address }) { return host }
        let mac = MACAddress(value: 0x5255_0A00_0000 + UInt64(hosts.count + 1))
        let host = Host(address: address, mac: mac, pool: PacketPool(count: 64))
        host.device.onTransmit = { [unowned self] in inFlight.append($0) }
        hosts.append(host)
        return host
    }

    /// Opens a connection from `host` to the telemetry port.
    func connect(from host: Host) -> TCPConnection {
        host.stack.tcp.connect(from: host.address, to: serverAddress, port: Self.port, now: now)!
    }

    /// Runs the network and the server's 100 ms tick for `limit` of
    /// simulated time, or until `done`.
    @discardableResult
    func run(for limit: Interval, until done: () -> Bool = { false }) -> Bool {
        let end = now + limit
        while now < end {
            if done() { return true }
            _ = server.stack.poll(now: now)
            for host in hosts { _ = host.stack.poll(now: now) }
            if now >= nextTick {
                telemetry.tick(now: now)
                nextTick = now + .milliseconds(100)
            }
            if inFlight.isEmpty {
                var next = min(nextTick, end)
                for deadline in [server.stack.nextDeadline] + hosts.map(\.stack.nextDeadline) {
                    if let deadline, deadline < next { next = deadline }
                }
                now = max(now + .microseconds(100), next)
                server.stack.tick(now: now)
                for host in hosts { host.stack.tick(now: now) }
                continue
            }
            let frames = inFlight
            inFlight.removeAll()
            for frame in frames { deliver(frame) }
            now = now + .microseconds(200)
        }
        return done()
    }

    private func deliver(_ frame: [UInt8]) {
        let destination = frame[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let broadcast = destination == 0xFFFF_FFFF_FFFF
        for device in [server.device] + hosts.map(\.device) where broadcast || device.macAddress.value == destination {
            if broadcast && frame[6..<12].reduce(UInt64(0), { $0 << 8 | UInt64($1) }) == device.macAddress.value { continue }
            device.inject(frame)
        }
    }
}

/// A client's end of one connection: what it has received, and helpers to
/// send and decode.
final class TelemetryPeer {
    let connection: TCPConnection
    var received: [UInt8] = []
    /// Reads what arrives (a peer that never reads leaves this false).
    var reads = true

    init(_ connection: TCPConnection) {
        self.connection = connection
        connection.onEvent = { [unowned self] _ in pump() }
    }

    func pump() {
        guard reads else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { connection.read(into: $0) }
            if count == 0 { break }
            received += chunk[0..<count]
        }
    }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Int { bytes.withUnsafeBytes { connection.write($0) } }

    var wasReset: Bool { connection.isFinished && connection.error != nil }

    /// The frames received after the 4-byte-free start of the stream: (type, payload).
    var frames: [(UInt8, [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var offset = 0
        while received.count - offset >= 5 {
            let length = received[(offset + 1)...(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard received.count - offset - 5 >= length else { break }
            result.append((received[offset], Array(received[(offset + 5)..<(offset + 5 + length)])))
            offset += 5 + length
        }
        return result
    }

    /// The code of an `error` frame received, if any.
    var errorCode: UInt8? { frames.first { $0.0 == TelemetryProtocol.MessageType.error.rawValue }?.1.first }

    var gotHello: Bool { frames.first?.0 == TelemetryProtocol.MessageType.hello.rawValue }

    var text: String { String(decoding: received, as: UTF8.self) }
}

enum TelemetryBytes {
    static var hello: [UInt8] {
        let magic = TelemetryProtocol.magic
        return [magic.0, magic.1, magic.2, magic.3, TelemetryProtocol.version, TelemetryProtocol.version]
    }

    static func subscribe(milliseconds: UInt64 = 1000, events: Bool = true) -> [UInt8] {
        var out = TelemetryFrameWriter()
        out.begin(.subscribe)
        out.varint(milliseconds)
        out.varint(UInt64(events ? 1 : 0))
        out.end()
        return out.bytes
    }

    static func admin(id: UInt64, token: [UInt8], action: TelemetryProtocol.AdminAction = .resetCounters) -> [UInt8] {
        var out = TelemetryFrameWriter()
        out.begin(.admin)
        out.varint(id)
        out.string(token)
        out.varint(UInt64(action.rawValue))
        out.string([UInt8]())
        out.string([UInt8]())
        out.varint(UInt64(0))
        out.end()
        return out.bytes
    }

    static let metricsRequest = Array("GET /metrics HTTP/1.1\r\nHost: appliance\r\n\r\n".utf8)
}

