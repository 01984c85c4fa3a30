import Foundation
import Testing
@testable import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// `ConsoleConnection` against test-owned TCP servers: QEMU's telnet
/// opening, hostile servers, refused ports; and the TCP console relay.
@Suite struct TelnetConnectionTests {
    /// A one-client TCP server on 127.0.0.1: `script` runs with the accepted socket on a thread of its own.
    final class Server: @unchecked Sendable {
        let port: UInt16
        private let listener: Int32
        private let done = DispatchSemaphore(value: 0)

        init(_ script: @escaping @Sendable (Int32) -> Void) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            listener = fd
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            try #require(bound && listen(fd, 4) == 0)
            port = UInt16(bigEndian: address.sin_port)
            let listener = self.listener
            let done = self.done
            Thread.detachNewThread {
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    script(fd)
                    // Closing with the client's bytes unread would reset the connection and lose what is in flight.
                    shutdown(fd, Int32(SHUT_WR))
                    _ = TelnetConnectionTests.receive(fd, atLeast: .max, seconds: 5)
                    close(fd)
                }
                done.signal()
            }
        }

        func wait() { _ = done.wait(timeout: .now() + 30) }
        deinit { close(listener) }
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    static func receive(_ fd: Int32, atLeast count: Int, seconds: Double = 5) -> [UInt8] {
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while got.count < count && Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) >= 0 else { break }
            guard pfd.revents != 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            got += buffer[0..<n]
        }
        return got
    }

    /// Everything the connection delivers until it ends or `seconds` pass.
    static func drain(_ connection: ConsoleConnection, seconds: Double = 10, into lines: inout ConsoleLines) -> (lines: [String], ended: Bool) {
        var all: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let data = connection.receive(timeout: 0.1) else { return (all, true) }
            all += lines.feed(data)
        }
        return (all, false)
    }

    @Test func qemusTelnetOpeningIsAnsweredAndOnlyTheConsoleBytesArrive() throws {
        let answered = Locked<[UInt8]>([])
        let typed = Locked<[UInt8]>([])
        let server = try Server { fd in
            Self.send(fd, [255, 251, 1, 255, 251, 3, 255, 251, 0, 255, 253, 0] + Array("skerry: ready\r\nskerry> ".utf8))
            let received = Self.receive(fd, atLeast: 21)
            answered.set(Array(received.prefix(12)))
            typed.set(Array(received.dropFirst(12)))
            Self.send(fd, Array("status\r\nuptime 1 s\r\n".utf8) + [0xFF, 0xFF] + Array("x\r\n".utf8))
        }
        let connection = try ConsoleConnection.connect(.telnet(host: "127.0.0.1", port: server.port))
        var lines = ConsoleLines()
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(5)
        while seen.isEmpty && Date() < deadline { seen += lines.feed(connection.receive(timeout: 0.1) ?? []) }
        #expect(seen == ["skerry: ready"])
        #expect(connection.send(Array("st".utf8) + [0xFF] + Array("atus\n".utf8)))
        let (rest, ended) = Self.drain(connection, into: &lines)
        connection.close()
        server.wait()
        #expect(ended && connection.endReason == "the console closed the connection")
        #expect(answered.value == [255, 253, 1, 255, 253, 3, 255, 254, 0, 255, 252, 0], "DO ECHO, DO SGA, DONT BINARY, WONT BINARY")
        #expect(typed.value == Array("st".utf8) + [0xFF, 0xFF] + Array("atus\n".utf8), "0xFF is sent doubled")
        #expect(rest.first == "skerry> status")
        #expect(rest.dropFirst().first == "uptime 1 s")
    }

    @Test func aRawTCPConsoleIsPassedThroughUnchanged() throws {
        let server = try Server { fd in Self.send(fd, [255, 251, 1] + Array("raw\n".utf8)) }
        let connection = try ConsoleConnection.connect(.tcp(host: "127.0.0.1", port: server.port))
        var data: [UInt8] = []
        while let more = connection.receive(timeout: 1) { data += more }
        connection.close()
        server.wait()
        #expect(data == [255, 251, 1] + Array("raw\n".utf8), "tcp: is not telnet: nothing is taken out")
    }

    @Test func anEndlessStreamOfCommandsNeverHangsTheClient() throws {
        let server = try Server { fd in
            // 8 MiB of IAC NOP and repeated option requests, then a line.
            let chunk = [UInt8]((0..<1024).flatMap { [255, 241, 255, 251, UInt8($0 % 256), 255, 253, UInt8($0 % 256)] })
            for _ in 0..<1024 { Self.send(fd, chunk) }
            Self.send(fd, Array("after the storm\n".utf8))
        }
        let connection = try ConsoleConnection.connect(.telnet(host: "127.0.0.1", port: server.port))
        var lines = ConsoleLines()
        let (seen, ended) = Self.drain(connection, seconds: 60, into: &lines)
        connection.close()
        server.wait()
        #expect(ended, "\(connection.endReason ?? "")")
        #expect(seen == ["after the storm"], "\(connection.endReason ?? "")")
    }

    @Test func aServerThatNeverReadsItsRepliesIsDisconnectedNotWaitedFor() throws {
        let server = try Server { fd in
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            // WILL ECHO, WONT ECHO, forever: each pair asks for two replies, which this server never reads.
            let toggles = [UInt8]((0..<4096).flatMap { _ in [255, 251, 1, 255, 252, 1] })
            for _ in 0..<2048 where Glibc.send(fd, toggles, toggles.count, Int32(MSG_NOSIGNAL)) > 0 {}
        }
        var connection: ConsoleConnection? = try ConsoleConnection.connect(.telnet(host: "127.0.0.1", port: server.port))
        let started = Date()
        var lines = ConsoleLines()
        let (seen, ended) = Self.drain(connection!, seconds: 60, into: &lines)
        let seconds = Date().timeIntervalSince(started)
        let reason = connection?.endReason
        // Freeing the connection closes its socket with the server's bytes unread: a reset ends the server's blocked send.
        connection = nil
        server.wait()
        #expect(ended && seen.isEmpty)
        #expect(reason == "the telnet server does not read its negotiation replies", "\(reason ?? "")")
        #expect(seconds < 20, "disconnected after \(seconds) s")
    }

    @Test func anUnterminatedSubnegotiationAndATenMegabyteLineCostBoundedMemory() throws {
        let server = try Server { fd in
            Self.send(fd, [255, 250, 24] + [UInt8](repeating: 0x41, count: 4 << 20))
            Self.send(fd, [255, 240])
            let chunk = [UInt8](repeating: 0x78, count: 1 << 20)
            for _ in 0..<10 { Self.send(fd, chunk) }
            Self.send(fd, Array("\nend\n".utf8))
        }
        let connection = try ConsoleConnection.connect(.telnet(host: "127.0.0.1", port: server.port))
        var lines = ConsoleLines()
        var pieces = 0
        var last: [String] = []
        while let data = connection.receive(timeout: 5) {
            #expect(data.count <= 65536, "one receive returns at most one read's data")
            for line in lines.feed(data) {
                if !line.isEmpty && line.allSatisfy({ $0 == "x" }) { pieces += 1 } else { last.append(line) }
                #expect(line.utf8.count <= ConsoleLines.maximumLineBytes)
            }
            #expect(lines.pendingBytes < ConsoleLines.maximumLineBytes)
        }
        connection.close()
        server.wait()
        #expect(last == ["", "end"], "nothing of the subnegotiation leaks into the data")
        #expect(pieces == (10 << 20) / ConsoleLines.maximumLineBytes)
    }

    @Test func aRefusedPortSaysSo() throws {
        // A port bound and closed again: nothing listens there.
        let closedPort = try Self.closedPort()
        #expect { try ConsoleConnection.connect(.telnet(host: "127.0.0.1", port: closedPort)) } throws: {
            "\($0)" == "console telnet:127.0.0.1:\(closedPort): connection refused (is the VM running with its serial port there?)"
        }
        #expect { try ConsoleConnection.connect(.unix(path: "/nonexistent-skerry/console.sock")) } throws: {
            "\($0)" == "console unix:/nonexistent-skerry/console.sock: nobody serves a console there (connection refused)"
        }
    }

    /// A loopback TCP port nothing listens on (bound, then let go).
    static func closedPort() throws -> UInt16 { try HostPorts.free(.tcp) }

    /// The client and the relay over a Unix socket and over IPv6 loopback, both ways.
    @Test(arguments: ["unix", "ipv6"])
    func theClientReachesARelayOverUnixAndIPv6(form: String) throws {
        let address: ConsoleAddress = form == "unix"
            ? .unix(path: NSTemporaryDirectory() + "skerry-client-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).sock")
            : .tcp(host: "::1", port: try Self.closedPort())
        let relay = try ConsoleRelay(address: address)
        defer { relay.close() }
        let client = try ConsoleConnection.connect(address)
        var typed: [UInt8] = []
        for _ in 0..<10 where typed.isEmpty {
            var fds = relay.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            typed += relay.service(readable: Set(fds.filter { $0.revents != 0 }.map(\.fd)))
            if relay.clientCount == 1 && typed.isEmpty { _ = client.send(line: "status") }
        }
        #expect(String(decoding: typed, as: UTF8.self).hasPrefix("status\n"))
        relay.broadcast(Array("uptime 1 s\n".utf8)[...])
        var lines = ConsoleLines()
        var seen: [String] = []
        for _ in 0..<20 where seen.isEmpty { seen += lines.feed(client.receive(timeout: 0.1) ?? []) }
        #expect(seen == ["uptime 1 s"])
    }

    @Test func aTelnetRelayOffersEchoAndTakesLinesEndedByCR() throws {
        let port = try Self.closedPort()
        let relay = try ConsoleRelay(address: .telnet(host: "127.0.0.1", port: port))
        defer { relay.close() }
        #expect { try ConsoleRelay(address: .telnet(host: "127.0.0.1", port: port)) } throws: {
            "\($0)" == "--console telnet:127.0.0.1:\(port): cannot listen: the port is in use; choose another"
        }
        let client = try ConsoleConnection.connect(.telnet(host: "127.0.0.1", port: port))
        var typed: [UInt8] = []
        func pump() {
            var fds = relay.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 200)
            typed += relay.service(readable: Set(fds.filter { $0.revents != 0 }.map(\.fd)))
        }
        pump()
        #expect(relay.clientCount == 1)
        // The offer reaches the client, which agrees: nothing of it is data.
        #expect(client.receive(timeout: 2) == [])
        // A telnet client in character mode ends a line with CR NUL or CR LF.
        #expect(client.send(Array("status\r\u{0}help\r\nx".utf8) + [0xFF] + Array("y\n".utf8)))
        for _ in 0..<5 where typed.count < 17 { pump() }
        #expect(typed == Array("status\nhelp\nx".utf8) + [0xFF] + Array("y\n".utf8))
        relay.broadcast(([0xFF] + Array("out\n".utf8))[...])
        var seen: [UInt8] = []
        for _ in 0..<10 where seen.count < 5 { seen += client.receive(timeout: 0.2) ?? [] }
        #expect(seen == [0xFF] + Array("out\n".utf8), "0xFF went doubled and came back single")
    }
}

/// A value shared with a server thread.
final class Locked<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
}
