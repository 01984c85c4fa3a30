import Foundation
import KernelCore

/// A synthetic appliance on the host: a network stack on three NIC doubles,
/// a balancer with up to 64 backends and a firewall with any number of
/// rules, driven with real packets and health checks so its counters hold
/// realistic values. The telemetry benchmark and the protocol's round-trip
/// tests encode it.
public final class SyntheticAppliance {
    /// A NIC that drops what it sends and receives nothing; counters are the stack's.
    final class Device: NetworkDevice {
        let model: StaticString = "synthetic"
        let macAddress: MACAddress
        var linkUp = true
        var counters = DeviceCounters()
        let pool: PacketPool

        init(mac: MACAddress, pool: PacketPool) {
            macAddress = mac
            self.pool = pool
        }

        func service() {}
        func receive() -> PacketBuffer? { nil }
        func transmit(_ buffer: PacketBuffer) -> Bool {
            counters[.txPackets] &+= 1
            counters[.txBytes] &+= UInt64(buffer.length)
            pool.give(buffer)
            return true
        }
    }

    static let serviceNames: [StaticString] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]
    static let backendNames: [StaticString] = ["b00", "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b09", "b10", "b11", "b12", "b13", "b14", "b15", "b16", "b17", "b18", "b19", "b20", "b21", "b22", "b23", "b24", "b25", "b26", "b27", "b28", "b29", "b30", "b31", "b32", "b33", "b34", "b35", "b36", "b37", "b38", "b39", "b40", "b41", "b42", "b43", "b44", "b45", "b46", "b47", "b48", "b49", "b50", "b51", "b52", "b53", "b54", "b55", "b56", "b57", "b58", "b59", "b60", "b61", "b62", "b63"]
    public static let maximumBackends = backendNames.count

    public let stack: NetworkStack
    public let balancer: LoadBalancer
    public let firewall: Firewall?
    let devices: [Device]
    let ruleNames: [[UInt8]]
    public private(set) var now = Instant(nanoseconds: 1_000_000_000)
    var random: SeededRandom
    private let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 16)

    /// - Parameters:
    ///   - services: 1 to 8 services; `backends` (up to 64) are spread over them.
    ///   - rules: firewall rules; 0 builds no firewall.
    public init(services: Int, backends: Int, rules: Int, seed: UInt64) {
        random = SeededRandom(seed: seed)
        let pool = PacketPool(count: 64)
        var devices: [Device] = []
        var interfaces: [NetworkInterface] = []
        for role in InterfaceRole.allCases {
            let device = Device(mac: MACAddress(0x52, 0x54, 0, 0x12, 0x34, 0x56 + UInt8(role.rawValue)), pool: pool)
            devices.append(device)
            interfaces.append(NetworkInterface(configuration: .standard(role), device: device))
        }
        self.devices = devices
        stack = NetworkStack(pool: pool, interfaces: interfaces)
        let serviceCount = Swift.max(1, Swift.min(services, Self.serviceNames.count))
        let backendCount = Swift.max(serviceCount, Swift.min(backends, Self.maximumBackends))
        var configurations: [ServiceConfiguration] = []
        for index in 0..<serviceCount {
            let members = stride(from: index, to: backendCount, by: serviceCount).map { member in
                BackendConfiguration(name: Self.backendNames[member], address: IPv4Address(10, 0, 3, UInt8(2 + member)), port: 8080,
                                     weight: 1 + member % 5, maximumConnections: member % 3 == 0 ? 100 : 0)
            }
            configurations.append(ServiceConfiguration(
                name: Self.serviceNames[index], port: UInt16(80 + index), algorithm: BalancingAlgorithm.allCases[index % 5],
                backends: members, maximumConnections: 0))
        }
        balancer = LoadBalancer(services: configurations, publicAddress: IPv4Address(10, 0, 2, 15),
                                privateAddress: IPv4Address(10, 0, 3, 15), connectionCapacity: 65_536)
        stack.inbound.append(BalancerHook(balancer))
        // Healthy from the start: the default rise is two passed checks.
        for service in balancer.services {
            for backend in service.backends {
                for _ in 0..<2 { balancer.recordCheck(service: service, backend: backend, outcome: .passed, latency: .microseconds(300), now: now) }
            }
        }
        ruleNames = (0..<rules).map { Array("rule-\($0)".utf8) }
        if rules > 0 {
            let descriptors = (0..<rules).map {
                FirewallRuleDescriptor(action: FirewallAction(rawValue: UInt8($0 % 3))!, log: false,
                                       limit: $0 % 7 == 0 ? FirewallRateLimit(packets: 10, per: .seconds(1), burst: 5) : nil)
            }
            // The rule a packet matches is its destination port, or the default policy past the last rule.
            firewall = Firewall(rules: descriptors, policies: [FirewallPolicy(.inbound, .public, .drop)]) {
                Int32($0.destinationPort) < Int32(rules) ? Int32($0.destinationPort) : -1
            }
        } else {
            firewall = nil
        }
    }

    deinit { packet.deallocate() }

    /// The state telemetry encodes, as the kernel gathers it.
    public func source() -> MetricsSource {
        var source = MetricsSource(
            now: now, uptime: now.since(.zero), heapUsed: 1 << 20, heapFree: 30 << 20, heapPeak: 2 << 20, stack: stack,
            firewall: firewall) { [ruleNames] index in
            ruleNames[index].withUnsafeBufferPointer { $0 }
        }
        source.balancer = balancer
        source.loopBusy = .milliseconds(now.nanoseconds / 50_000_000)
        source.loopIdle = .milliseconds(now.nanoseconds / 1_100_000)
        return source
    }

    /// Moves time on by `milliseconds` and drives `connections` new
    /// connections, `packets` firewall decisions and a round of health checks.
    public func exercise(milliseconds: UInt64 = 1000, connections: Int = 100, packets: Int = 1000) {
        now = now + .milliseconds(milliseconds)
        for _ in 0..<connections {
            let service = balancer.services[Int(random.next() % UInt64(balancer.services.count))]
            let client = IPv4Address(value: 0xC000_0200 &+ UInt32(random.next() % 4096))
            let port = UInt16(1024 + random.next() % 60_000)
            let length = 40 + Int(random.next() % 1000)
            // A whole handshake: a flow counts as a connection once the client acknowledges the backend's
            // SYN-ACK. The SYN carries no data (the balancer drops SYNs that do); the ACK carries the bytes.
            send(from: client, port: port, to: service.configuration.port, length: 40, flags: [.syn], seq: 1, ack: 0)
            answer(client: client, port: port, servicePort: service.configuration.port, seq: 1000, ack: 2)
            send(from: client, port: port, to: service.configuration.port, length: length, flags: [.ack], seq: 2, ack: 1001)
        }
        if let firewall {
            for _ in 0..<packets {
                let rules = firewall.rules.count
                // Mostly the first few rules, as real traffic does, some anywhere, some past the end.
                let port = random.next() % 4 == 0 ? random.next() % UInt64(rules + 5) : random.next() % UInt64(Swift.min(rules, 20))
                let decision = FirewallPacket(direction: .inbound, interface: .public, protocolNumber: 6,
                                              source: 0xC000_0200 &+ UInt32(random.next() % 64), destination: 0x0A00_020F,
                                              sourcePort: 40000, destinationPort: UInt16(port), state: .new,
                                              length: 60 + Int(random.next() % 1400))
                _ = firewall.evaluate(decision, now: now)
            }
        }
        for service in balancer.services {
            for backend in service.backends {
                let fails = random.next() % 10 == 0
                balancer.recordCheck(service: service, backend: backend, outcome: fails ? .timeout : .passed,
                                     latency: fails ? nil : .microseconds(100 + random.next() % 5000), now: now)
            }
        }
        balancer.sweep(now: now)
        for device in devices {
            device.counters[.rxPackets] &+= random.next() % 10_000
            device.counters[.rxBytes] &+= random.next() % 10_000_000
        }
    }

    /// Sets some backends to draining or disabled and changes some weights.
    public func administer() {
        for service in balancer.services {
            for backend in service.backends {
                switch random.next() % 6 {
                case 0: balancer.setAdministrative(.draining, service: service, backend: backend)
                case 1: balancer.setAdministrative(.disabled, service: service, backend: backend)
                case 2: balancer.setWeight(Int(random.next() % 1001), service: service, backend: backend)
                default: balancer.setAdministrative(.enabled, service: service, backend: backend)
                }
            }
        }
    }

    private func send(from client: IPv4Address, port: UInt16, to servicePort: UInt16, length: Int, flags: TCPSegment.Flags,
                      seq: UInt32, ack: UInt32) {
        let destination = balancer.publicAddress
        let ip = UnsafeMutableRawBufferPointer(rebasing: packet[0..<length])
        TCPSegment.emit(into: UnsafeMutableRawBufferPointer(rebasing: ip[20..<length]), sourcePort: port, destinationPort: servicePort,
                        sequenceNumber: seq, acknowledgmentNumber: ack, flags: flags, window: 1000,
                        payloadLength: length - 40, source: client, destination: destination)
        IPv4Packet.emit(into: ip, source: client, destination: destination, protocolNumber: 6, payloadLength: length - 20,
                        timeToLive: 64)
        _ = balancer.fromClient(ip, now: now)
    }

    /// The backend's SYN-ACK for the client's flow, if the balancer placed it.
    private func answer(client: IPv4Address, port: UInt16, servicePort: UInt16, seq: UInt32, ack: UInt32) {
        guard let flow = balancer.tracker.lookupClient(client, port, balancer.publicAddress, servicePort, protocolNumber: 6) else { return }
        let entry = balancer.tracker.entries[flow]
        let ip = UnsafeMutableRawBufferPointer(rebasing: packet[0..<40])
        TCPSegment.emit(into: UnsafeMutableRawBufferPointer(rebasing: ip[20..<40]), sourcePort: entry.backendPort,
                        destinationPort: entry.snatPort, sequenceNumber: seq, acknowledgmentNumber: ack, flags: [.syn, .ack],
                        window: 1000, payloadLength: 0, source: entry.backend, destination: balancer.privateAddress)
        IPv4Packet.emit(into: ip, source: entry.backend, destination: balancer.privateAddress, protocolNumber: 6, payloadLength: 20,
                        timeToLive: 64)
        _ = balancer.fromBackend(ip, now: now)
    }
}
