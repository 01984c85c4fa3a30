import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Echo, discard and chargen on the host's loopback: the floor that the
/// appliance's TCP services are benchmarked against (same clients, no VM).
public final class HostTestServers: @unchecked Sendable {
    public private(set) var ports: [UInt16: UInt16] = [:]
    private var listeners: [Int32] = []

    public init() throws {
        for service in [7, 9, 19] as [UInt16] {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            guard bound == 0, listen(fd, 128) == 0 else { throw TCPTestClient.ClientError("cannot listen on loopback") }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            ports[service] = UInt16(bigEndian: address.sin_port)
            listeners.append(fd)
            Thread.detachNewThread { [fd] in HostTestServers.accept(fd, service: service) }
        }
    }

    /// Closing the listeners ends the accept loops.
    public func stop() {
        for fd in listeners { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
        listeners = []
    }

    private static func accept(_ listener: Int32, service: UInt16) {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            guard fd >= 0 else { return }
            Thread.detachNewThread { serve(fd, service: service) }
        }
    }

    private static func serve(_ fd: Int32, service: UInt16) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        switch service {
        case 19:
            let pattern: [UInt8] = Array(0x20...0x7E) + [0x0D, 0x0A]
            let block = (0..<(pattern.count * 600)).map { pattern[$0 % pattern.count] }
            while block.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) > 0 {}
        default:
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                if service == 7 {
                    var offset = 0
                    while offset < count {
                        let sent = buffer[offset..<count].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        if sent <= 0 { return }
                        offset += sent
                    }
                }
            }
        }
    }
}
