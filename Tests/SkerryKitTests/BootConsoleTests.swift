import Foundation
import Testing
@testable import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// `--console`: the address forms, and the socket skerry serves the serial console on.
@Suite struct ConsoleAddressTests {
    @Test func unixPathsParse() throws {
        #expect(try ConsoleAddress(parsing: "unix:/tmp/a.sock") == .unix(path: "/tmp/a.sock"))
        #expect(try ConsoleAddress(parsing: "/tmp/a.sock") == .unix(path: "/tmp/a.sock"), "a bare path is a Unix socket")
        #expect(try ConsoleAddress(parsing: "/tmp/a.sock").description == "unix:/tmp/a.sock")
        #expect { try ConsoleAddress(parsing: "unix:") } throws: { "\($0)" == "--console 'unix:': expected unix:PATH" }
        #expect { try ConsoleAddress(parsing: "") } throws: { "\($0)" == "--console needs unix:PATH, tcp:HOST:PORT or telnet:HOST:PORT" }
    }

    @Test func aPathLongerThanSunPathIsRefusedWithTheLimit() throws {
        let fits = "/tmp/" + String(repeating: "a", count: ConsoleAddress.maximumPathBytes - 1 - 5)
        #expect(try ConsoleAddress(parsing: "unix:" + fits).path == fits)
        let long = fits + "b"
        #expect(ConsoleAddress.maximumPathBytes == 108)
        #expect { try ConsoleAddress(parsing: "unix:" + long) } throws: {
            "\($0)" == "--console 'unix:\(long)': the path is 108 bytes; a Unix socket path has at most 107 (use a shorter one, e.g. under /tmp)"
        }
    }
}

@Suite struct ConsoleRelayTests {
    static func temporaryPath(_ name: String = "c") -> String {
        NSTemporaryDirectory() + "skerry-relay-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))-\(name).sock"
    }

    /// A plain client socket, as `socat` or `skerry top --console` opens one.
    final class Client {
        let fd: Int32
        init(_ path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let connected = UnixSocketAddress.connect(fd, to: path)
            try #require(connected == 0, "connect \(path): \(String(cString: strerror(errno)))")
        }
        deinit { close(fd) }
        func type(_ text: String) { _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        /// What arrived within `seconds`; empty when nothing did, nil once the relay hung up.
        func read(_ seconds: Double = 1) -> String? {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(seconds * 1000)) > 0 else { return "" }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
        }
    }

    /// Runs the relay's side of a poll loop once.
    static func pump(_ relay: ConsoleRelay, wait: Int32 = 200) -> [UInt8] {
        var fds = relay.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), wait)
        return relay.service(readable: Set(fds.filter { $0.revents != 0 }.map(\.fd)))
    }

    @Test func everyClientSeesTheConsoleAndWholeTypedLinesReachTheKernel() throws {
        let path = Self.temporaryPath()
        let relay = try ConsoleRelay(path: path)
        let first = try Client(path)
        let second = try Client(path)
        _ = Self.pump(relay)
        _ = Self.pump(relay, wait: 50)
        #expect(relay.clientCount == 2)
        relay.broadcast(Array("skerry: ready\nskerry> ".utf8)[...])
        #expect(first.read() == "skerry: ready\nskerry> ")
        #expect(second.read() == "skerry: ready\nskerry> ")
        // Half a line from one client waits while another's whole line goes through.
        first.type("sta")
        #expect(Self.pump(relay).isEmpty)
        second.type("help\n")
        first.type("tus\n")
        var typed: [UInt8] = []
        for _ in 0..<5 where String(decoding: typed, as: UTF8.self).split(separator: "\n").count < 2 { typed += Self.pump(relay) }
        #expect(Set(String(decoding: typed, as: UTF8.self).split(separator: "\n")) == ["help", "status"])
        relay.close()
        #expect(first.read() == nil, "clients are disconnected when the VM ends")
        #expect(access(path, F_OK) != 0, "the socket file is removed")
    }

    @Test func aStaleSocketIsReplacedButALiveOneOrAnotherFileIsNot() throws {
        let path = Self.temporaryPath()
        // A socket file whose server died: bound, then closed without unlinking.
        let dead = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = UnixSocketAddress.bind(dead, to: path)
        try #require(bound == 0)
        close(dead)
        #expect(access(path, F_OK) == 0)
        let relay = try ConsoleRelay(path: path)
        defer { relay.close() }
        #expect { try ConsoleRelay(path: path) } throws: {
            "\($0)" == "--console unix:\(path): another process serves a console there; choose another path"
        }
        let file = Self.temporaryPath("file")
        _ = FileManager.default.createFile(atPath: file, contents: Data("keep me".utf8))
        defer { unlink(file) }
        #expect { try ConsoleRelay(path: file) } throws: {
            "\($0)" == "--console unix:\(file): a file that is not a socket is in the way; remove it or choose another path"
        }
        #expect(FileManager.default.contents(atPath: file) == Data("keep me".utf8))
        let missing = NSTemporaryDirectory() + "skerry-no-such-directory-\(getpid())/console.sock"
        #expect { try ConsoleRelay(path: missing) } throws: {
            "\($0)" == "--console unix:\(missing): the directory \(NSTemporaryDirectory())skerry-no-such-directory-\(getpid()) does not exist"
        }
    }

    @Test func aClientThatNeverReadsIsDisconnectedAndTheOthersKeepTheConsole() throws {
        let path = Self.temporaryPath()
        let relay = try ConsoleRelay(path: path)
        defer { relay.close() }
        let stalled = try Client(path)
        let reader = try Client(path)
        _ = Self.pump(relay)
        _ = Self.pump(relay, wait: 50)
        let chunk = Array(repeating: UInt8(ascii: "x"), count: 4096)[...]
        var rounds = 0
        while relay.clientCount == 2 && rounds < 10_000 {
            relay.broadcast(chunk)
            while reader.read(0) ?? "" != "" {}
            rounds += 1
        }
        #expect(relay.clientCount == 1, "the stalled client was dropped after \(rounds) chunks")
        relay.broadcast(Array("still here\n".utf8)[...])
        var seen = ""
        for _ in 0..<20 where !seen.contains("still here") { seen += reader.read(0.2) ?? "" }
        #expect(seen.hasSuffix("still here\n"))
        _ = stalled
    }

    @Test func aNewClientBeyondTheLimitReplacesTheQuietestAndLongLinesAreCut() throws {
        let path = Self.temporaryPath()
        let relay = try ConsoleRelay(path: path)
        defer { relay.close() }
        var clients: [Client] = []
        for _ in 0..<ConsoleRelay.maximumClients {
            clients.append(try Client(path))
            _ = Self.pump(relay)
        }
        #expect(relay.clientCount == ConsoleRelay.maximumClients)
        // Every client but the first speaks, so the first is the quietest.
        for client in clients.dropFirst() { client.type("\n") }
        for _ in 0..<5 { _ = Self.pump(relay, wait: 50) }
        let newcomer = try Client(path)
        _ = Self.pump(relay)
        #expect(relay.clientCount == ConsoleRelay.maximumClients)
        #expect(clients[0].read() == "skerry: console: another client took this connection's place\n")
        #expect(clients[0].read() == nil)
        // A line without an end is passed on in pieces of the limit.
        newcomer.type(String(repeating: "y", count: ConsoleRelay.maximumLineBytes + 10))
        var typed: [UInt8] = []
        for _ in 0..<5 where typed.count < ConsoleRelay.maximumLineBytes { typed += Self.pump(relay) }
        #expect(typed.count == ConsoleRelay.maximumLineBytes)
    }

    @Test func theSocketIsPrivateWhateverTheUmask() throws {
        let path = Self.temporaryPath()
        let old = umask(0)
        let relay: ConsoleRelay
        do {
            defer { umask(old) }
            relay = try ConsoleRelay(path: path)
        }
        defer { relay.close() }
        var status = stat()
        try #require(lstat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600, "mode \(String(status.st_mode & 0o777, radix: 8))")
        // Another user cannot connect; the owner can.
        let setpriv = try #require(findExecutable("setpriv"), "setpriv (util-linux) runs the client as another user")
        let python = try #require(["/usr/bin/python3", "/bin/python3"].first { (path: String) in access(path, X_OK) == 0 }, "a system python3 another user can run")
        let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e: print(e.strerror)"
        let other = try CapturedRun.run(setpriv, ["--reuid", "65534", "--regid", "65534", "--clear-groups", python, "-c", script, path])
        #expect(other.output == "Permission denied\n", "uid 65534: \(other.output)")
        let owner = try CapturedRun.run(python, ["-c", script, path])
        #expect(owner.output == "connected\n")
    }

    @Test func aListenerWithAFullBacklogCountsAsInUseWithoutHanging() throws {
        let path = Self.temporaryPath()
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener); unlink(path) }
        let bound = UnixSocketAddress.bind(listener, to: path)
        try #require(bound == 0 && listen(listener, 0) == 0)
        // Clients nobody accepts fill the backlog.
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = UnixSocketAddress.connect(fd, to: path)
            fillers.append(fd)
        }
        let done = DispatchSemaphore(value: 0)
        let message = ManagedMessage()
        Thread.detachNewThread {
            do throws(ConsoleRelay.Failure) {
                _ = try ConsoleRelay(path: path)
                message.set("served")
            } catch {
                message.set("\(error)")
            }
            done.signal()
        }
        try #require(done.wait(timeout: .now() + 5) == .success, "ConsoleRelay(path:) still blocked after 5 s")
        #expect(message.value == "--console unix:\(path): another process serves a console there; choose another path")
    }

    @Test func aDirectoryThatExistsButRefusesTheSocketSaysWhy() throws {
        #expect { try ConsoleRelay(path: "/proc/skerry-console.sock") } throws: {
            "\($0)".hasPrefix("--console unix:/proc/skerry-console.sock: cannot create the socket: ")
        }
    }
}

/// A string one thread sets and another reads.
final class ManagedMessage: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = ""
    var value: String { lock.withLock { stored } }
    func set(_ value: String) { lock.withLock { stored = value } }
}
