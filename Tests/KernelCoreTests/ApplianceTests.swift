import Testing
@testable import KernelCore

/// A whole appliance on three NIC doubles with the standard addresses: a
/// service `web` on port 80 with two backends on the private network, a
/// firewall that drops SSH, and the telemetry port on the admin address,
/// where a client stack at 10.0.1.2 can connect. Frames on the admin
/// network travel between the appliance and the client; the public and
/// private NICs collect what the appliance sends.
final class ApplianceWorld {
    static let token = Array("a-long-enough-admin-token".utf8)
    static let ruleNames: StaticString = "block-ssh"
    let pool = PacketPool(count: 256)
    private(set) var devices: [FakeDevice] = []
    let appliance: Appliance
    let client: TelemetryServerWorld.Host
    let clock: Clock
    let peerMAC = MACAddress(0x52, 0x55, 0x0A, 0, 1, 2)
    private var inFlight: [[UInt8]] = []
    private var nextTick = Instant.zero
    var balancerEvents: [LoadBalancer.Event] = []

    final class Clock {
        var now = Instant(nanoseconds: 1_000_000_000)
    }

    var now: Instant { clock.now }

    init() {
        let clock = Clock()
        self.clock = clock
        var interfaces: [NetworkInterface] = []
        for role in InterfaceRole.allCases {
            let device = FakeDevice(mac: MACAddress(0x52, 0x54, 0, 0x12, 0x34, 0x56 + UInt8(role.rawValue)), pool: pool)
            devices.append(device)
            interfaces.append(NetworkInterface(configuration: .standard(role), device: device))
        }
        let web = ServiceConfiguration(
            name: "web", port: 80, algorithm: .roundRobin,
            backends: [
                BackendConfiguration(name: "web1", address: IPv4Address(10, 0, 3, 2), port: 8080, maximumConnections: 0),
                BackendConfiguration(name: "web2", address: IPv4Address(10, 0, 3, 3), port: 8080, maximumConnections: 0),
            ],
            maximumConnections: 0)
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .drop)], policies: []) { packet in
            packet.direction == .inbound && packet.protocolNumber == 6 && packet.destinationPort == 22 ? 0 : -1
        }
        let settings = ApplianceSettings(
            name: "test", telemetryPort: 9100, adminToken: Self.token, services: [web], firewall: firewall,
            ruleName: { _ in UnsafeBufferPointer(start: Self.ruleNames.utf8Start, count: Self.ruleNames.utf8CodeUnitCount) })
        let environment = ApplianceEnvironment(clock: { clock.now }) { source in
            source.heapUsed = 1234
        }
        appliance = Appliance(settings: settings, pool: pool, interfaces: interfaces, environment: environment, random: { 0x1000 })
        client = TelemetryServerWorld.Host(address: IPv4Address(10, 0, 1, 2), mac: peerMAC, pool: PacketPool(count: 64))
        devices[InterfaceRole.admin.rawValue].onTransmit = { [unowned self] in inFlight.append($0) }
        client.device.onTransmit = { [unowned self] in inFlight.append($0) }
        appliance.onBalancerEvent = { [unowned self] in balancerEvents.append($0) }
    }

    func device(_ role: InterfaceRole) -> FakeDevice { devices[role.rawValue] }

    /// Marks every backend healthy, as two passed checks do.
    func backendsUp() {
        let balancer = appliance.balancer!
        for backend in balancer.services[0].backends {
            for _ in 0..<2 { balancer.recordCheck(service: balancer.services[0], backend: backend, outcome: .passed, latency: nil, now: now) }
        }
    }

    /// Tells the appliance where `address` is on `role`'s network.
    func teach(_ role: InterfaceRole, _ address: IPv4Address) {
        var frame = [UInt8](repeating: 0, count: 60)
        frame.withUnsafeMutableBytes { bytes in
            EthernetFrame.emit(into: bytes, destination: device(role).macAddress, source: peerMAC, etherType: EthernetFrame.EtherType.arp)
            ARPPacket.emit(into: bytes.slice(14, bytes.count), operation: .reply, senderHardware: peerMAC, senderProtocol: address,
                           targetHardware: device(role).macAddress, targetProtocol: InterfaceConfiguration.standard(role).address.address)
        }
        device(role).inject(frame)
        _ = appliance.poll(now: now)
    }

    /// A TCP segment from `source` to the public address, in an Ethernet frame for the public NIC.
    func segment(from source: IPv4Address, port: UInt16, to destinationPort: UInt16, flags: TCPSegment.Flags) -> [UInt8] {
        let destination = InterfaceConfiguration.standard(.public).address.address
        var frame = [UInt8](repeating: 0, count: 14 + 40)
        frame.withUnsafeMutableBytes { bytes in
            EthernetFrame.emit(into: bytes, destination: device(.public).macAddress, source: peerMAC, etherType: EthernetFrame.EtherType.ipv4)
            TCPSegment.emit(into: bytes.slice(34, bytes.count), sourcePort: port, destinationPort: destinationPort, sequenceNumber: 1000,
                            acknowledgmentNumber: 0, flags: flags, window: 1000, payloadLength: 0, source: source, destination: destination)
            IPv4Packet.emit(into: bytes.slice(14, bytes.count), source: source, destination: destination, protocolNumber: 6, payloadLength: 20)
        }
        return frame
    }

    /// Runs the appliance (poll and its 100 ms tick) and the admin client
    /// for up to `limit` of simulated time, or until `done`.
    @discardableResult
    func run(for limit: Interval, until done: () -> Bool = { false }) -> Bool {
        let end = now + limit
        while now < end {
            if done() { return true }
            _ = appliance.poll(now: now)
            _ = client.stack.poll(now: now)
            if now >= nextTick {
                appliance.tick(now: now)
                client.stack.tick(now: now)
                nextTick = now + Appliance.tickInterval
            }
            let frames = inFlight
            inFlight.removeAll()
            for frame in frames {
                let destination = frame[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let broadcast = destination == 0xFFFF_FFFF_FFFF
                for device in [device(.admin), client.device] where broadcast || device.macAddress.value == destination {
                    if broadcast && frame[6..<12].reduce(UInt64(0), { $0 << 8 | UInt64($1) }) == device.macAddress.value { continue }
                    device.inject(frame)
                }
            }
            clock.now = now + .microseconds(500)
        }
        return done()
    }
}

@Suite struct ApplianceTests {
    let client = IPv4Address(10, 0, 2, 50)

    @Test func theApplianceIsWiredFromItsSettings() {
        let world = ApplianceWorld()
        let appliance = world.appliance
        #expect(appliance.balancer?.services.map(\.configuration.port) == [80])
        #expect(appliance.healthChecker != nil && appliance.telemetry != nil && appliance.firewall != nil)
        #expect(appliance.testServices.map(\.listener.port) == [Appliance.echoPort, Appliance.discardPort, Appliance.chargenPort])
        #expect(appliance.telemetry?.listener.port == 9100)
        // The firewall first on both chains, then the balancer inbound.
        #expect(appliance.stack.inbound.hooks.count == 2 && appliance.stack.inbound.hooks[0] is FirewallHook
                && appliance.stack.inbound.hooks[1] is BalancerHook)
        #expect(appliance.stack.outbound.hooks.count == 1 && appliance.stack.outbound.hooks[0] is FirewallHook)
    }

    @Test func backendsAreNamedServiceSlashBackend() {
        let world = ApplianceWorld()
        let service = world.appliance.balancer!.services[0]
        var text = ShellCommandTests.Text()
        LoadBalancer.writeName(service, service.backends[1], to: &text)
        #expect(String(decoding: text.bytes, as: UTF8.self) == "web/web2")
    }

    @Test func withoutServicesOrRulesThereIsNoBalancerAndNoFirewall() {
        let pool = PacketPool(count: 16)
        let interfaces = InterfaceRole.allCases.map { role in
            NetworkInterface(configuration: .standard(role),
                             device: FakeDevice(mac: MACAddress(0x52, 0x54, 0, 0, 0, UInt8(role.rawValue)), pool: pool))
        }
        let appliance = Appliance(settings: ApplianceSettings(name: "bare"), pool: pool, interfaces: interfaces,
                                  environment: ApplianceEnvironment(clock: { .zero }))
        #expect(appliance.balancer == nil && appliance.healthChecker == nil && appliance.firewall == nil)
        #expect(appliance.stack.inbound.isEmpty && appliance.stack.outbound.isEmpty)
        #expect(appliance.telemetry != nil)
        #expect(!appliance.actions.enabled, "no admin token: admin actions are off")
    }

    @Test func aClientsConnectionIsBalancedToABackend() throws {
        let world = ApplianceWorld()
        world.backendsUp()
        #expect(world.balancerEvents.count == 2, "each backend coming up is relayed")
        world.teach(.private, IPv4Address(10, 0, 3, 2))
        world.teach(.private, IPv4Address(10, 0, 3, 3))
        world.device(.private).sent.removeAll()
        world.device(.public).inject(world.segment(from: client, port: 40000, to: 80, flags: [.syn]))
        // Poll only: a tick would start health checks, whose SYNs also go to the backends.
        _ = world.appliance.poll(now: world.now)
        #expect(world.appliance.stack.counters[.balancerForwarded] == 1)
        #expect(world.appliance.balancer?.tracker.count == 1)
        #expect(world.device(.private).sent.count == 1)
        try parse(world.device(.private).sent[0]) { frame in
            let packet = try IPv4Packet(parsing: frame.payload)
            let segment = try TCPSegment(parsing: packet.payload)
            #expect(packet.source == IPv4Address(10, 0, 3, 15), "source NAT to the private address")
            #expect([IPv4Address(10, 0, 3, 2), IPv4Address(10, 0, 3, 3)].contains(packet.destination))
            #expect(segment.destinationPort == 8080 && segment.flags.contains(.syn))
        }
    }

    @Test func theFirewallDropsBeforeTheBalancerSeesThePacket() {
        let world = ApplianceWorld()
        world.backendsUp()
        world.device(.public).inject(world.segment(from: client, port: 40001, to: 22, flags: [.syn]))
        _ = world.appliance.poll(now: world.now)
        let firewall = world.appliance.firewall!
        #expect(firewall.ruleCounters[0].packets == 1)
        #expect(world.appliance.stack.counters[.firewallDropped] == 1)
        #expect(world.appliance.stack.inbound.counts[0].dropped == 1 && world.appliance.stack.inbound.counts[1] == HookCounts())
        #expect(world.appliance.balancer?.tracker.count == 0)
        #expect(world.device(.private).sent.isEmpty)
    }

    /// The metrics the telemetry port serves are the appliance's own: the drop just counted, the balancer, the environment's figures.
    @Test func aTelemetryScrapeIsAnswered() throws {
        let world = ApplianceWorld()
        world.device(.public).inject(world.segment(from: client, port: 40001, to: 22, flags: [.syn]))
        world.run(for: .milliseconds(1))
        let connection = try #require(world.client.stack.tcp.connect(
            from: world.client.address, to: IPv4Address(10, 0, 1, 15), port: 9100, now: world.now))
        let peer = TelemetryPeer(connection)
        var sent = false
        let answered = world.run(for: .seconds(2)) {
            if !sent && connection.state == .established {
                sent = peer.send(TelemetryBytes.metricsRequest) == TelemetryBytes.metricsRequest.count
            }
            return peer.text.contains("skerry_telemetry_events_total")
        }
        #expect(answered)
        let text = peer.text
        #expect(text.hasPrefix("HTTP/1.1 200"))
        let lines = text.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("skerry_firewall_rule_packets_total{") && $0.contains("block-ssh") && $0.hasSuffix(" 1") })
        #expect(lines.contains { $0.hasPrefix("skerry_heap_bytes{kind=\"used\"} 1234") })
        #expect(lines.contains { $0.hasPrefix("skerry_backend_admin_state{") && $0.contains("web1") })
        #expect((world.appliance.telemetry?.counters[.clientsAccepted] ?? 0) >= 1)
    }
}

@Suite struct ShellCommandTests {
    struct Text: TextSink {
        var bytes: [UInt8] = []
        mutating func write(byte: UInt8) { bytes.append(byte) }
    }

    func help(_ command: ShellCommand) -> String {
        var text = Text()
        command.writeHelp(to: &text)
        return String(decoding: text.bytes, as: UTF8.self)
    }

    @Test func namesAreUniqueAndFindTheirCommand() {
        let names = ShellCommand.allCases.map(\.name.description)
        #expect(Set(names).count == names.count)
        for command in ShellCommand.allCases { #expect(ShellCommand(name: command.name.description) == command) }
        #expect(ShellCommand(name: "DRAIN") == nil && ShellCommand(name: "drai") == nil && ShellCommand(name: "") == nil)
    }

    @Test func theCommandsThatSteerABackendAreItsAdminActions() {
        for command in ShellCommand.allCases {
            if let action = command.adminAction {
                #expect(action.name.description == command.name.description)
                #expect(command.changesState)
            }
        }
        #expect(ShellCommand.drain.adminAction?.administrativeState == .draining)
        #expect(ShellCommand.enable.adminAction?.administrativeState == .enabled)
        #expect(ShellCommand.disable.adminAction?.administrativeState == .disabled)
        #expect(ShellCommand.weight.adminAction?.administrativeState == nil)
        #expect(ShellCommand.allCases.filter(\.changesState) == [.drain, .disable, .enable, .weight, .shutdown])
    }

    @Test func helpLinesAlignTheirSummaries() {
        #expect(help(.help) == "help          this list")
        #expect(help(.drain) == "drain S/B     send backend B of service S no new connections")
        #expect(help(.weight) == "weight S/B N  set its weight for new connections (0-1000)")
        for command in ShellCommand.allCases {
            let line = help(command)
            #expect(line.hasPrefix("\(command.name)") && line.hasSuffix("\(command.summary)"))
        }
    }
}
