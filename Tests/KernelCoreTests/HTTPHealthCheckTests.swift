import Testing
@testable import KernelCore

/// An HTTP backend on the bench's far side: it reads each request to its
/// blank line, keeps it, and then does what the test says.
final class ScriptedHTTPBackend {
    private(set) var requests: [[UInt8]] = []
    private(set) var connections: [TCPConnection] = []
    var respond: (TCPConnection) -> Void

    init(respond: @escaping (TCPConnection) -> Void) { self.respond = respond }

    func serve(_ connection: TCPConnection) {
        connections.append(connection)
        var request: [UInt8] = []
        connection.onEvent = { [self] connection in
            var chunk = [UInt8](repeating: 0, count: 2048)
            let count = chunk.withUnsafeMutableBytes { connection.read(into: $0) }
            guard count > 0 else { return }
            request += chunk[..<count]
            if request.count >= 4 && Array(request.suffix(4)) == Array("\r\n\r\n".utf8) {
                requests.append(request)
                respond(connection)
            }
        }
    }

    /// The connection of the latest check.
    var latest: TCPConnection? { connections.last }

    /// Writes `text`; returns how much fit.
    @discardableResult
    static func send(_ text: String, on connection: TCPConnection) -> Int {
        Array(text.utf8).withUnsafeBytes { connection.write($0) }
    }

    /// Answers `text` and closes, as an HTTP/1.0 server does.
    static func answer(_ text: String) -> (TCPConnection) -> Void {
        { connection in
            send(text, on: connection)
            connection.close()
        }
    }

    /// After `head`, writes `filler` without end whenever there is room; never closes.
    static func endless(after head: String, filler: UInt8, written: @escaping (Int) -> Void = { _ in }) -> (TCPConnection) -> Void {
        { connection in
            var total = send(head, on: connection)
            let block = [UInt8](repeating: filler, count: 1024)
            let pump = { (connection: TCPConnection) in
                while connection.writableSpace > 0 {
                    let count = block.withUnsafeBytes { connection.write($0) }
                    guard count > 0 else { break }
                    total += count
                }
                written(total)
            }
            pump(connection)
            connection.onEvent = { pump($0) }
        }
    }
}

/// The HTTP check against well-behaved and hostile backends: the real
/// HealthChecker and TCP layers over the simulated wire of HealthCheckBench,
/// 1 ms each way.
@Suite struct HTTPHealthCheckTests {
    static let check = HTTPHealthCheck(method: "GET", path: "/healthz", expectedStatus: 200...299)
    static let health = HealthCheckConfiguration(kind: .http(check), interval: .seconds(1), timeout: .milliseconds(450),
                                                 rise: 2, fall: 3)
    static let ok = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"

    func bench(_ backend: ScriptedHTTPBackend, health: HealthCheckConfiguration = Self.health, listening: Bool = true)
        -> HealthCheckBench
    {
        HealthCheckBench(health: health, toBackend: .milliseconds(1), toAppliance: .milliseconds(1), listening: listening,
                         serve: backend.serve)
    }

    // MARK: Well-behaved backends

    /// SYN at 0, SYN-ACK back at 2 ms, the request there at 3 ms, the status line back at 4 ms.
    @Test func theRequestIsHTTP10AndTheCheckPassesAtTheStatusLine() throws {
        let backend = ScriptedHTTPBackend(respond: ScriptedHTTPBackend.answer(Self.ok))
        let bench = bench(backend)
        bench.run(until: bench.start + .microseconds(3_900))
        #expect(bench.health.lastOutcome == .pending)
        bench.run(until: bench.start + .microseconds(4_100))
        let request = String(decoding: try #require(backend.requests.first), as: UTF8.self)
        #expect(request == "GET /healthz HTTP/1.0\r\nHost: 10.0.1.2:8081\r\nUser-Agent: skerry-health\r\nConnection: close\r\n\r\n")
        #expect(bench.health.lastOutcome == .passed)
        #expect(bench.health.lastStatusCode == 200)
        #expect(bench.health.lastLatency == .milliseconds(4), "the latency covers the whole exchange")
        #expect(bench.health.consecutiveSuccesses == 1)

        bench.run(until: bench.start + .seconds(1) + .milliseconds(50))
        #expect(bench.health.status == .up)
        #expect(bench.health.lastChange == bench.start + .seconds(1) + .milliseconds(4))
        #expect(backend.requests.count == 2)
        #expect(bench.world.server.tcp.connectionCount == 0, "each check's connection is closed")
    }

    /// A 503 fails the check while the port still accepts every connection;
    /// the backend goes DOWN after `fall` and back UP after `rise` 200s.
    @Test func aBadStatusMarksTheBackendDownThoughItsPortAccepts() {
        var status = "200 OK"
        let backend = ScriptedHTTPBackend { connection in
            ScriptedHTTPBackend.send("HTTP/1.1 \(status)\r\nContent-Length: 0\r\n\r\n", on: connection)
            connection.close()
        }
        let bench = bench(backend)
        var failedEvents = 0
        var changes: [BackendHealth.Status] = []
        bench.balancer.onEvent = { event in
            switch event {
            case .checkFailed: failedEvents += 1
            case .backendStatusChanged(_, _, let change): changes.append(change)
            default: break
            }
        }
        bench.run(until: bench.start + .seconds(1) + .milliseconds(50))
        #expect(bench.health.status == .up)

        status = "503 Service Unavailable"
        bench.run(until: bench.start + .seconds(3) + .milliseconds(50))
        #expect(bench.health.status == .up, "two failures, fall is 3")
        #expect(bench.health.lastOutcome == .badStatus)
        #expect(bench.health.lastStatusCode == 503)
        bench.run(until: bench.start + .seconds(4) + .milliseconds(50))
        #expect(bench.health.status == .down)
        #expect(bench.health.lastChangeCause == .check)
        #expect(failedEvents == 3)
        #expect(backend.connections.count == 5, "the TCP port accepted every check")

        status = "204 No Content"
        bench.run(until: bench.start + .seconds(6) + .milliseconds(50))
        #expect(bench.health.status == .up)
        #expect(bench.health.lastOutcome == .passed)
        #expect(bench.health.lastStatusCode == 204)
        #expect(changes == [.up, .down, .up])
        #expect(bench.health.checkFailures == 3)
    }

    /// The expected range decides: 302 passes `expect 200-399` and fails `expect 200`.
    @Test func theExpectedRangeDecides() {
        for (range, outcome) in [(200...399, HealthCheckOutcome.passed), (200...200, .badStatus)] {
            var health = Self.health
            health.kind = .http(HTTPHealthCheck(path: "/", expectedStatus: range))
            let bench = bench(ScriptedHTTPBackend(respond: ScriptedHTTPBackend.answer("HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n")),
                              health: health)
            bench.run(for: .milliseconds(100))
            #expect(bench.health.lastOutcome == outcome, "\(range)")
            #expect(bench.health.lastStatusCode == 302)
        }
    }

    @Test func aRefusedConnectIsARefusal() {
        let bench = bench(ScriptedHTTPBackend(respond: { _ in }), listening: false)
        bench.run(for: .milliseconds(100))
        #expect(bench.health.lastOutcome == .refused)
        #expect(bench.health.lastStatusCode == 0)
        #expect(bench.health.checkFailures == 1)
    }

    // MARK: Hostile backends

    /// Accepts, reads the request, never answers: a timeout at the first tick
    /// past 450 ms, and the check's connection is reset.
    @Test func aBackendThatNeverAnswersTimesOut() throws {
        let backend = ScriptedHTTPBackend(respond: { _ in })
        let bench = bench(backend)
        bench.run(until: bench.start + .milliseconds(450))
        #expect(bench.health.lastOutcome == .pending)
        #expect(backend.requests.count == 1)
        bench.run(until: bench.start + .milliseconds(510))
        #expect(bench.health.lastOutcome == .timeout)
        #expect(bench.health.checkFailures == 1)
        #expect(bench.world.server.tcp.connectionCount == 0)
        #expect(try #require(backend.latest).error == .reset, "the backend sees the check reset")
    }

    /// One byte a second: the bytes do not extend the check's time, which
    /// covers the whole exchange.
    @Test func aTricklingBackendTimesOut() throws {
        var health = Self.health
        health.timeout = .seconds(3)
        health.interval = .seconds(10)
        let backend = ScriptedHTTPBackend(respond: { _ in })
        let bench = bench(backend, health: health)
        let line = Array(Self.ok.utf8)
        for second in 0..<3 {
            bench.run(until: bench.start + .seconds(UInt64(second)) + .milliseconds(10))
            let connection = try #require(backend.latest)
            _ = [line[second]].withUnsafeBytes { connection.write($0) }
        }
        bench.run(until: bench.start + .milliseconds(2_990))
        #expect(bench.health.lastOutcome == .pending, "three bytes in, still within the timeout")
        bench.run(until: bench.start + .milliseconds(3_110))
        #expect(bench.health.lastOutcome == .timeout)
        #expect(bench.world.server.tcp.connectionCount == 0)
    }

    /// Bytes that are not a status line fail the check when they arrive, not at the timeout.
    @Test func garbageIsMalformedWhenItArrives() {
        let bench = bench(ScriptedHTTPBackend(respond: { ScriptedHTTPBackend.send("SSH-2.0-OpenSSH_9.6\r\n", on: $0) }))
        bench.run(until: bench.start + .microseconds(4_100))
        #expect(bench.health.lastOutcome == .malformed)
        #expect(bench.health.lastLatency == nil)
        bench.run(for: .milliseconds(10))
        #expect(bench.world.server.tcp.connectionCount == 0, "the connection is reset at once")
    }

    /// A line that never ends: malformed once 256 bytes are in, however much
    /// more the backend would send.
    @Test func anEndlessLineIsMalformedAfter256Bytes() throws {
        var written = 0
        let backend = ScriptedHTTPBackend(respond: ScriptedHTTPBackend.endless(after: "HTTP/1.1 200 ", filler: 0x41) { written = $0 })
        let bench = bench(backend)
        bench.run(for: .milliseconds(100))
        #expect(bench.health.lastOutcome == .malformed)
        #expect(written > 256)
        #expect(bench.world.server.tcp.connectionCount == 0)
        #expect(try #require(backend.latest).error == .reset)
    }

    /// The limit is exact: a status line of 256 bytes with its CRLF passes, one of 257 does not.
    @Test func theStatusLineLimitIs256Bytes() {
        for (length, outcome) in [(256, HealthCheckOutcome.passed), (257, .malformed)] {
            let head = "HTTP/1.1 200 "
            let line = head + String(repeating: "k", count: length - head.utf8.count - 2) + "\r\n"
            #expect(line.utf8.count == length)
            let bench = bench(ScriptedHTTPBackend(respond: ScriptedHTTPBackend.answer(line + "\r\n")))
            bench.run(for: .milliseconds(100))
            #expect(bench.health.lastOutcome == outcome, "\(length) bytes")
        }
    }

    @Test func halfAStatusLineThenACloseIsMalformed() {
        let bench = bench(ScriptedHTTPBackend(respond: ScriptedHTTPBackend.answer("HTTP/1.1 20")))
        bench.run(for: .milliseconds(100))
        #expect(bench.health.lastOutcome == .malformed)
        #expect(bench.health.checkFailures == 1)
    }

    @Test func aResetMidResponseIsARefusal() throws {
        let backend = ScriptedHTTPBackend(respond: { ScriptedHTTPBackend.send("HTTP/1.1 200 O", on: $0) })
        let bench = bench(backend)
        bench.run(until: bench.start + .milliseconds(10))
        #expect(bench.health.lastOutcome == .pending, "half a line is not an answer yet")
        try #require(backend.latest).abort()
        bench.run(until: bench.start + .milliseconds(20))
        #expect(bench.health.lastOutcome == .refused)
        #expect(bench.world.server.tcp.connectionCount == 0)
    }

    /// A 200 after the timeout is a failure even before the tick that would
    /// time the check out; the same answer within the timeout passes.
    @Test func a200AfterTheTimeoutIsAFailure() throws {
        let backend = ScriptedHTTPBackend(respond: { _ in })
        let bench = bench(backend)
        bench.run(until: bench.start + .milliseconds(460))
        #expect(bench.health.lastOutcome == .pending, "the tick at 500 ms has not come")
        ScriptedHTTPBackend.answer(Self.ok)(try #require(backend.latest))
        bench.run(until: bench.start + .milliseconds(470))
        #expect(bench.health.lastOutcome == .timeout, "answered in 461 ms with a 450 ms timeout")
        #expect(bench.health.lastStatusCode == 0)

        bench.run(until: bench.start + .seconds(1) + .milliseconds(430))
        ScriptedHTTPBackend.answer(Self.ok)(try #require(backend.latest))
        bench.run(until: bench.start + .seconds(1) + .milliseconds(440))
        #expect(bench.health.lastOutcome == .passed)
        #expect(bench.health.lastLatency == .milliseconds(431))
    }

    /// A megabyte of headers after a good status line: the check passes at
    /// the status line and reads no further, so the backend can only fill
    /// the windows; its connection is reset when the close stalls.
    @Test func hugeHeadersAfterAGoodStatusLinePass() {
        var written = 0
        let backend = ScriptedHTTPBackend(respond: ScriptedHTTPBackend.endless(after: "HTTP/1.0 200 OK\r\nX-Pad: ", filler: 0x78) {
            written = $0
        })
        let bench = bench(backend)
        var most = 0
        for _ in 0..<50 {
            bench.run(for: .milliseconds(100))
            most = Swift.max(most, bench.world.server.tcp.connectionCount)
        }
        #expect(bench.health.status == .up)
        #expect(bench.health.lastOutcome == .passed)
        #expect(bench.health.checkFailures == 0)
        let configuration = bench.world.server.tcp.configuration
        #expect(written <= 256 + configuration.receiveBufferSize + configuration.sendBufferSize,
                "the backend wrote \(written) bytes of one response: only what the windows hold")
        #expect(most <= bench.checker.reservedConnections)
    }

    /// A backend that keeps trickling after its status line never finishes
    /// the close: the probe still holds one connection closing at most.
    @Test func aBackendThatTricklesAfterTheStatusLineHoldsOneClosingSlot() throws {
        let backend = ScriptedHTTPBackend(respond: { ScriptedHTTPBackend.send("HTTP/1.0 200 OK\r\n", on: $0) })
        let bench = bench(backend)
        var most = 0
        for step in 0..<300 {
            bench.run(for: .milliseconds(100))
            // One byte every 100 ms on each connection the backend still has: progress, so no idle timeout.
            for connection in backend.connections where connection.state == .established || connection.state == .closeWait {
                _ = [UInt8(0x20 + step % 64)].withUnsafeBytes { connection.write($0) }
            }
            most = Swift.max(most, bench.world.server.tcp.connectionCount)
        }
        #expect(backend.requests.count >= 29, "a check a second for 30 s")
        #expect(bench.health.checkFailures == 0)
        #expect(most <= bench.checker.reservedConnections, "at most \(bench.checker.reservedConnections) at once, saw \(most)")
    }

    /// No free slot for the check's connection: the check fails as `noConnection`.
    @Test func noSlotIsNoConnection() {
        let bench = bench(ScriptedHTTPBackend(respond: ScriptedHTTPBackend.answer(Self.ok)))
        bench.world.server.tcp.configuration.maximumConnections = 0
        bench.run(for: .milliseconds(50))
        #expect(bench.health.lastOutcome == .noConnection)
        #expect(bench.health.checkFailures == 1)
    }
}
