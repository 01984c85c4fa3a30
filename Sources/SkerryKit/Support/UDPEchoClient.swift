import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Drives a UDP echo service on 127.0.0.1 (the appliance's, through a
/// forward): `count` datagrams of 8 to 1407 bytes with up to `window` in
/// flight, each checked byte for byte against what was sent.
public struct UDPEchoClient: Sendable {
    public struct Result: Sendable, CustomStringConvertible {
        public var matched = 0
        public var mismatched = 0
        public var lost = 0
        public var seconds = 0.0
        public init() {}
        public var description: String {
            "\(matched) matched, \(mismatched) mismatched, \(lost) lost in \(String(format: "%.2f", seconds)) s"
        }
    }

    public var port: UInt16
    public var count = 10_000
    public var window = 32

    public init(port: UInt16, count: Int = 10_000, window: Int = 32) {
        self.port = port
        self.count = count
        self.window = window
    }

    public func run() -> Result {
        var result = Result()
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return result }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return result }

        let started = Date()
        var outstanding: [UInt64: [UInt8]] = [:]
        var next: UInt64 = 0
        // Payloads are slices of one random block at offsets that vary with
        // the sequence number, so a reply mixed up with another is caught.
        var random = SystemRandomNumberGenerator()
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }
        func sendNext() {
            var message = withUnsafeBytes(of: next.bigEndian) { Array($0) }
            let offset = Int(next &* 7919 % 2048)
            message += noise[offset..<(offset + Int(next % 1400))]
            outstanding[next] = message
            _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            next += 1
        }
        while next < UInt64(min(window, count)) { sendNext() }
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !outstanding.isEmpty {
            let received = recv(fd, &buffer, buffer.count, 0)
            guard received >= 8 else { break }
            let sequence = buffer[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if let expected = outstanding.removeValue(forKey: sequence), expected == Array(buffer[0..<received]) {
                result.matched += 1
            } else {
                result.mismatched += 1
            }
            if next < UInt64(count) { sendNext() }
        }
        result.lost = outstanding.count
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}
