import Foundation
import KernelCore
import SkerryKit
import Testing

/// Every counter set reaches every front end: each case, by its one name,
/// appears exactly once in the console report, in Prometheus text and in
/// the decoded telemetry stream, with its value.
@Suite struct CounterVocabularyTests {
    /// A NIC whose every counter holds a distinct value.
    final class CountingDevice: NetworkDevice {
        let model: StaticString = "counting"
        let macAddress: MACAddress
        let linkUp = true
        var counters = DeviceCounters()

        init(_ role: InterfaceRole) {
            macAddress = MACAddress(0x52, 0x54, 0, 0, 0, UInt8(role.rawValue))
            DeviceCounters().forEach { key, _ in counters[key] = UInt64(1000 * (role.rawValue + 1) + key.rawValue + 1) }
        }

        func service() {}
        func receive() -> PacketBuffer? { nil }
        func transmit(_ buffer: PacketBuffer) -> Bool { false }
    }

    /// A set whose counter `i` holds `base + i + 1`.
    static func distinct<Key: CounterKey>(_ base: UInt64) -> CounterSet<Key> {
        var set = CounterSet<Key>()
        set.forEach { key, _ in set[key] = base + UInt64(key.rawValue) + 1 }
        return set
    }

    static func names<Key: CounterKey>(_ set: CounterSet<Key>.Type) -> [String] {
        (0..<set.count).map { "\(set.name($0))" }
    }

    static func occurrences(of word: String, in text: String) -> Int {
        text.components(separatedBy: word).count - 1
    }

    /// The synthetic appliance's balancer, behind a stack of counting NICs.
    static func source(_ appliance: SyntheticAppliance, telemetry: TelemetryCounters) -> MetricsSource {
        let interfaces = InterfaceRole.allCases.map { NetworkInterface(configuration: .standard($0), device: CountingDevice($0)) }
        let stack = NetworkStack(pool: PacketPool(count: 8), interfaces: interfaces)
        var source = appliance.source()
        source.stack = stack
        source.telemetry = telemetry
        return source
    }

    static func exercisedAppliance() -> SyntheticAppliance {
        let appliance = SyntheticAppliance(services: 2, backends: 6, rules: 20, seed: 7)
        appliance.exercise(connections: 200, packets: 500)
        return appliance
    }

    @Test func everyNameIsUniqueAcrossTheSetsTheHostLooksUpByName() {
        let names = Self.names(StackCounters.self) + Self.names(TCPCounters.self) + Self.names(LoadBalancer.Counters.self)
            + Self.names(ConnectionTracker.Counters.self) + Self.names(TelemetryCounters.self)
        #expect(Set(names).count == names.count, "smoke's counters[...] resolves a name in one set only")
        #expect(Set(Self.names(DeviceCounters.self)).count == DeviceCounters.count)
    }

    @Test func theConsoleReportNamesEveryCounterOnce() {
        var text = ByteText()
        ConsoleReport.writeStackCounters(Self.distinct(0), Self.distinct(500), buffersFree: 3, buffers: 8, to: &text)
        var line = String(decoding: text.bytes, as: UTF8.self)
        for (index, name) in Self.names(StackCounters.self).enumerated() {
            #expect(Self.occurrences(of: " \(name)=\(index + 1) ", in: line + " ") == 1, "\(name) in \(line)")
        }
        for (index, name) in Self.names(TCPCounters.self).enumerated() {
            #expect(Self.occurrences(of: " \(name)=\(500 + index + 1)", in: line) == 1, "\(name) in \(line)")
        }
        #expect(line.hasSuffix("; buffers free 3/8\n"))

        let appliance = Self.exercisedAppliance()
        text = ByteText()
        ConsoleReport.writeConnectionSummary(appliance.balancer, to: &text)
        line = String(decoding: text.bytes, as: UTF8.self)
        appliance.balancer.tracker.counters.forEach { key, value in
            #expect(Self.occurrences(of: " \(key.name)=", in: line) == 1 && line.contains(" \(key.name)=\(value)"), "\(key.name) in \(line)")
        }
        appliance.balancer.counters.forEach { key, value in
            #expect(Self.occurrences(of: " \(key.name)=", in: line) == 1 && line.contains(" \(key.name)=\(value)"), "\(key.name) in \(line)")
        }
        #expect(line.contains("; half-open \(appliance.balancer.tracker.halfOpenCount) of \(appliance.balancer.tracker.halfOpenLimit)\n"))

        text = ByteText()
        let telemetry: TelemetryCounters = Self.distinct(70)
        ConsoleReport.writeTelemetryCounters(telemetry, to: &text)
        line = String(decoding: text.bytes, as: UTF8.self)
        for (index, name) in Self.names(TelemetryCounters.self).enumerated() {
            #expect(Self.occurrences(of: " \(name)=\(70 + index + 1)", in: line) == 1, "\(name) in \(line)")
        }

        let device = CountingDevice(.public)
        text = ByteText()
        ConsoleReport.writeNIC(NetworkInterface(configuration: .standard(.public), device: device), to: &text)
        line = String(decoding: text.bytes, as: UTF8.self)
        device.counters.forEach { key, value in
            #expect(Self.occurrences(of: " \(value)", in: line) == 1, "\(key.name) in \(line)")
            if key.kind == .drop { #expect(line.contains(" \(key.name) \(value)"), "\(key.name) in \(line)") }
        }
        #expect(line.hasPrefix("nic public: rx 2001 pkts 2002 bytes, tx 2003 pkts 2004 bytes, drops rx-no-buffer 2005 "))
    }

    @Test func prometheusNamesEveryCounterOnce() {
        let appliance = Self.exercisedAppliance()
        let source = Self.source(appliance, telemetry: Self.distinct(70))
        let text = String(decoding: ApplianceMetrics.write(source).bytes, as: UTF8.self)
        func expectEach<Key: CounterKey>(_ family: String, _ set: CounterSet<Key>) {
            set.forEach { key, value in
                #expect(Self.occurrences(of: "\(family){event=\"\(key.name)\"} ", in: text) == 1, "\(family) \(key.name)")
                #expect(text.contains("\(family){event=\"\(key.name)\"} \(value)\n"), "\(family) \(key.name)")
            }
        }
        expectEach("skerry_stack_events_total", source.stack.counters)
        expectEach("skerry_tcp_events_total", source.stack.tcp.counters)
        expectEach("skerry_balancer_events_total", appliance.balancer.counters)
        expectEach("skerry_conntrack_events_total", appliance.balancer.tracker.counters)
        expectEach("skerry_telemetry_events_total", source.telemetry!)
        for interface in source.stack.interfaces {
            let labels = "nic=\"\(interface.role.name)\",model=\"counting\""
            interface.device.counters.forEach { key, value in
                let sample = key.trafficFamily.map { "\($0.name){\(labels)} \(value)\n" }
                    ?? "skerry_nic_drops_total{\(labels),reason=\"\(key.name)\"} \(value)\n"
                #expect(Self.occurrences(of: sample, in: text) == 1, "\(sample)")
                #expect(Self.occurrences(of: " \(value)\n", in: text) == 1, "\(key.name) of \(interface.role.name) once")
            }
        }
    }

    @Test func theDecodedStreamCarriesEveryCounterOnce() throws {
        let appliance = Self.exercisedAppliance()
        let telemetry: TelemetryCounters = Self.distinct(70)
        let source = Self.source(appliance, telemetry: telemetry)
        let actions = AdminActions(token: [], balancer: appliance.balancer) {}
        let stream = TelemetryStream(applianceName: "counting", actions: actions) { source }
        let session = stream.open(peer: IPv4Address(10, 0, 1, 2), now: appliance.now)
        let request = TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 1000, events: false)
        request.withUnsafeBytes { stream.receive($0, from: session, now: appliance.now) }
        var bytes: [UInt8] = []
        session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
        var decoder = TelemetryDecoder()
        decoder.append(bytes)
        var model = TelemetryModel()
        while let message = try decoder.next() { model.apply(message) }
        let schema = try #require(model.schema)
        let snapshot = try #require(model.snapshot)

        #expect(schema.stackCounters.names == Self.names(StackCounters.self))
        #expect(schema.tcpCounters.names == Self.names(TCPCounters.self))
        #expect(schema.deviceCounters.names == Self.names(DeviceCounters.self))
        #expect(schema.balancerCounters.names == Self.names(LoadBalancer.Counters.self))
        #expect(schema.conntrackCounters.names == Self.names(ConnectionTracker.Counters.self))
        #expect(schema.telemetryCounters.names == Self.names(TelemetryCounters.self))
        #expect(schema.halfOpenLimit == appliance.balancer.tracker.halfOpenLimit)

        func expectSame<Key: CounterKey>(_ decoded: CounterSet<Key>?, _ original: CounterSet<Key>, _ what: String) {
            original.forEach { key, value in #expect(decoded?[key] == value, "\(what) \(key.name)") }
        }
        expectSame(snapshot.stackCounters, source.stack.counters, "stack")
        expectSame(snapshot.tcpCounters, source.stack.tcp.counters, "tcp")
        expectSame(snapshot.balancer, appliance.balancer.counters, "balancer")
        expectSame(snapshot.connectionTable?.counters, appliance.balancer.tracker.counters, "conntrack")
        expectSame(snapshot.telemetry, telemetry, "telemetry")
        #expect(snapshot.nics.count == source.stack.interfaces.count)
        for (decoded, interface) in zip(snapshot.nics, source.stack.interfaces) {
            expectSame(decoded.counters, interface.device.counters, "nic \(interface.role.name)")
        }
        #expect(snapshot.connectionTable?.entries == UInt64(appliance.balancer.tracker.count))
        #expect(snapshot.connectionTable?.halfOpen == UInt64(appliance.balancer.tracker.halfOpenCount))
        // Smoke's counters[...] finds every set's counters by name.
        #expect(model.counter("clients-refused") == telemetry[.clientsRefused])
        #expect(model.counter("created") == appliance.balancer.tracker.counters[.flowsCreated])
        #expect(model.counter("no-such-counter") == nil)
    }

    @Test func namesTheClientDoesNotKnowAreSkipped() throws {
        let names = CounterNames<DeviceCounter>(["rx-packets", "from-a-newer-appliance", "tx-bytes"])
        #expect(names.keys == [.rxPackets, nil, .txBytes])
        // A newer appliance's stack counter between two known ones: its value is skipped, the rest stay aligned.
        var out = TelemetryFrameWriter()
        out.begin(.hello)
        out.varint(UInt64(TelemetryProtocol.version))
        out.string(Array("newer".utf8))
        out.varint(0)
        out.varint(0)
        out.end()
        out.begin(.schema)
        out.varint(0)  // no balancer, firewall or telemetry
        out.varint(0)  // no NICs
        out.varint(3)
        for name in ["frames-received", "from-a-newer-appliance", "udp-delivered"] { out.string(Array(name.utf8)) }
        out.varint(0)  // no TCP counters
        out.varint(0)  // no NIC counters
        out.end()
        out.begin(.snapshot)
        for value: UInt64 in [1, 0, 2000, 1, 2, 3, 4, 5] { out.varint(value) }  // sequence .. loop idle
        for value: UInt64 in [11, 99, 13] { out.varint(value) }  // the stack's counters
        out.varint(7)  // TCP open
        out.varint(8)  // TCP time-wait
        out.end()
        var decoder = TelemetryDecoder()
        decoder.append(out.bytes)
        var model = TelemetryModel()
        while let message = try decoder.next() { model.apply(message) }
        let snapshot = try #require(model.snapshot)
        #expect(snapshot.stackCounters[.framesReceived] == 11 && snapshot.stackCounters[.udpDelivered] == 13)
        #expect(snapshot.stackCounters.total == 24, "the unknown counter's value lands nowhere")
        #expect(snapshot.tcpOpen == 7 && snapshot.tcpTimeWait == 8)
        #expect(model.counter("from-a-newer-appliance") == nil && model.counter("udp-delivered") == 13)
    }
}
