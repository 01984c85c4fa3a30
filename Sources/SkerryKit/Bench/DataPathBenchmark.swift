import Foundation
import KernelCore

/// The balancer's per-packet work on the host, one core: find the flow in
/// the connection table and rewrite the packet (addresses, ports, TTL,
/// incremental checksums), in both directions.
public struct DataPathBenchmark: Sendable {
    public var flows: Int
    public var rounds: Int
    public var payloadBytes: Int

    public init(flows: Int = 10_000, rounds: Int = 200, payloadBytes: Int = 64) {
        self.flows = flows
        self.rounds = rounds
        self.payloadBytes = payloadBytes
    }

    public struct Result: Sendable {
        public var packets: Int
        public var seconds: Double
        /// Every packet ended where it started (client to service) with valid checksums.
        public var verified: Bool
        public var packetsPerSecond: Double { Double(packets) / seconds }
    }

    public func run() -> Result {
        let service = IPv4Address(10, 0, 2, 15)
        let appliance = IPv4Address(10, 0, 3, 15)
        // The flows are inserted, not handshaked: every one stays half-open,
        // so the half-open bound is the table's size.
        let capacity = Swift.max(65_536, flows * 2)
        let tracker = ConnectionTracker(capacity: capacity, snatPorts: 1024...65535, halfOpenLimit: capacity)
        let packetLength = 20 + 20 + payloadBytes
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: flows * packetLength, alignment: 64)
        defer { memory.deallocate() }
        for flow in 0..<flows {
            let client = IPv4Address(value: 0xC000_0200 &+ UInt32(flow / 50_000))
            let clientPort = UInt16(10_000 + flow % 50_000)
            let backend = IPv4Address(10, 0, 3, UInt8(2 + flow % 3))
            _ = tracker.insert(client: client, clientPort: clientPort, service: service, servicePort: 80, protocolNumber: 6,
                               backend: backend, backendPort: 8081, backendIndex: flow % 3, serviceIndex: 0, now: .zero)
            let packet = slot(memory, flow, packetLength)
            TCPSegment.emit(into: slice(packet, 20, packetLength), sourcePort: clientPort, destinationPort: 80, sequenceNumber: 1,
                            acknowledgmentNumber: 1, flags: [.ack], window: 1000, payloadLength: payloadBytes,
                            source: client, destination: service)
            IPv4Packet.emit(into: packet, source: client, destination: service, protocolNumber: 6, payloadLength: 20 + payloadBytes,
                            timeToLive: 255)
        }
        var processed = 0
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<rounds {
            for flow in 0..<flows {
                let packet = slot(memory, flow, packetLength)
                // Client to service: find the flow, send it to its backend from our own address.
                guard let index = tracker.lookupClient(
                    IPv4Address(value: word(packet, 12)), half(packet, 20), IPv4Address(value: word(packet, 16)), half(packet, 22),
                    protocolNumber: 6)
                else { continue }
                let entry = tracker.entries[index]
                try? NATRewrite.rewrite(packet, source: appliance, sourcePort: entry.snatPort, destination: entry.backend,
                                        destinationPort: entry.backendPort)
                reflect(packet)
                // The backend's reply: found by our source port, returned to the client from the service address.
                guard let reply = tracker.lookupBackend(
                    IPv4Address(value: word(packet, 12)), half(packet, 20), snatPort: half(packet, 22), protocolNumber: 6)
                else { continue }
                let back = tracker.entries[reply]
                try? NATRewrite.rewrite(packet, source: back.service, sourcePort: back.servicePort, destination: back.client,
                                        destinationPort: back.clientPort)
                reflect(packet)
                // Each pass costs two hops of TTL; restore it as a new sender would.
                if packet[8] < 8 {
                    packet[8] = 255
                    try? IPv4Packet(parsing: packet).fillChecksum()
                }
                processed += 2
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var verified = processed == 2 * flows * rounds
        for flow in 0..<flows where verified {
            let packet = slot(memory, flow, packetLength)
            guard let ip = try? IPv4Packet(parsing: packet), ip.checksumValid, ip.destination == service,
                let segment = try? TCPSegment(parsing: ip.payload), segment.destinationPort == 80,
                segment.sourcePort == UInt16(10_000 + flow % 50_000),
                segment.checksumValid(source: ip.source, destination: ip.destination)
            else {
                verified = false
                break
            }
        }
        return Result(packets: processed, seconds: seconds, verified: verified)
    }

    @inline(__always)
    private func slot(_ memory: UnsafeMutableRawBufferPointer, _ index: Int, _ length: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: memory[(index * length)..<((index + 1) * length)])
    }

    @inline(__always)
    private func slice(_ packet: UnsafeMutableRawBufferPointer, _ start: Int, _ end: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: packet[start..<end])
    }

    @inline(__always)
    private func word(_ packet: UnsafeMutableRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(packet[offset]) << 24 | UInt32(packet[offset + 1]) << 16 | UInt32(packet[offset + 2]) << 8 | UInt32(packet[offset + 3])
    }

    @inline(__always)
    private func half(_ packet: UnsafeMutableRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
    }

    /// Swaps source and destination (addresses and ports), as a peer's
    /// answer would; checksums stay valid because their sums do not change.
    @inline(__always)
    private func reflect(_ packet: UnsafeMutableRawBufferPointer) {
        for offset in 0..<4 { packet.swapAt(12 + offset, 16 + offset) }
        packet.swapAt(20, 22)
        packet.swapAt(21, 23)
    }
}
