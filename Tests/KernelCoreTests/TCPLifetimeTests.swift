#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KernelCore


/// How a client ends its connection to a service.
enum ClientEnding: String, CaseIterable, Sendable {
    /// Writes, closes its side, reads to the end.
    case orderly
    /// Writes, then aborts: a reset reaches the server.
    case aborts
    /// Forgets the connection without telling the server (its reset is
    /// lost); the server's next segment meets a reset from the client's stack.
    case resets
    /// Opens and then does nothing, until the server's idle timeout reaps it.
    case idles
}

/// One client connection against a service on the world's server stack.
func runClient(_ world: TCPWorld, port: UInt16, ending: ClientEnding, service: TCPTestService) {
    guard let connection = world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: port, now: world.now) else {
        Issue.record("connect failed")
        return
    }
    let payload: [UInt8] = Array(repeating: 0x61, count: 100)
    switch ending {
    case .orderly:
        let exchange = Exchange(connection, payload: payload)
        // The handler captures the exchange, which holds the connection: a cycle only `end()` breaks.
        connection.onEvent = { _ in exchange.pump() }
        world.run(for: .seconds(30)) {
            exchange.pump()
            return connection.isFinished && service.active.isEmpty
        }
    case .aborts:
        world.run(for: .seconds(5)) { connection.state == .established && !service.active.isEmpty }
        _ = payload.withUnsafeBytes { connection.write($0) }
        world.run(for: .milliseconds(5))
        connection.abort()
        world.run(for: .seconds(5)) { service.active.isEmpty }
    case .resets:
        world.run(for: .seconds(5)) { connection.state == .established && !service.active.isEmpty }
        let previous = world.copies
        world.copies = { frame, _ in TCPWorld.isTCP(frame) && frame.toServer ? 0 : 1 }
        connection.abort()
        world.run(for: .milliseconds(5))
        world.copies = previous
        // Chargen talks at once; echo and discard stay quiet until the idle timeout.
        world.run(for: .seconds(60)) { service.active.isEmpty }
    case .idles:
        connection.onEvent = { connection in _ = connection.state }
        world.run(for: .seconds(60)) { service.active.isEmpty && connection.isFinished }
    }
    #expect(service.active.isEmpty, "\(service.kind) \(ending): the server side ended")
    #expect(connection.isFinished, "\(service.kind) \(ending): the client side ended")
}

extension HeapBaseline {
@Suite struct TCPLifetimeTests {
    static let kinds: [(TCPTestService.Kind, UInt16)] = [(.echo, 7), (.discard, 9), (.chargen, 19)]

    /// Every admin service kind and every way a client ends: after many
    /// connections the heap is where it was.
    @Test(arguments: ClientEnding.allCases)
    func connectionsReturnTheirMemory(ending: ClientEnding) throws {
        let world = TCPWorld()
        var services: [TCPTestService] = []
        for (kind, port) in Self.kinds {
            let listener = try #require(world.server.tcp.listen(port: port, addresses: [world.serverAddress], backlog: 64,
                                                                limits: TCPTestService.limits))
            services.append(TCPTestService(kind: kind, listener: listener))
        }
        let cycles = ending == .orderly ? 2000 : 200
        let growth = heapGrowth(allowance: 64 * 1024) {
            for index in 0..<cycles {
                let service = services[index % services.count]
                runClient(world, port: service.listener.port, ending: ending, service: service)
            }
            // TIME-WAIT entries expire; both tables are back to empty.
            world.run(for: .seconds(40))
        }
        #expect(world.server.tcp.connectionCount == 0 && world.client.tcp.connectionCount == 0)
        #expect(world.server.tcp.timeWaitCount == 0 && world.client.tcp.timeWaitCount == 0)
        #expect(growth <= 64 * 1024, "\(ending): \(growth) bytes still live after \(cycles) connections")
        let accepted = services.reduce(0) { $0 + $1.accepted }
        #expect(accepted >= UInt64(2 * cycles))
        if ending == .idles {
            #expect(world.server.tcp.counters[.idleTimeouts] >= UInt64(2 * cycles))
        }
    }

    /// A handler that captures its own connection strongly forms a cycle;
    /// the layer breaks it when the connection ends.
    @Test func aHandlerCapturingItsConnectionDoesNotLeak() throws {
        let world = TCPWorld()
        let listener = try #require(world.server.tcp.listen(port: 7, addresses: [world.serverAddress]))
        let service = TCPTestService(kind: .echo, listener: listener)
        weak var lastClient: TCPConnection?
        func cycle() {
            guard let connection = world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now)
            else { return }
            var received = 0
            connection.onEvent = { _ in
                // Captures `connection` itself, not the parameter.
                var chunk = [UInt8](repeating: 0, count: 256)
                received += chunk.withUnsafeMutableBytes { connection.read(into: $0) }
                if connection.state == .established && connection.writableSpace > 0 && received == 0 {
                    _ = [UInt8](repeating: 1, count: 10).withUnsafeBytes { connection.write($0) }
                }
                if received >= 10 { connection.close() }
            }
            lastClient = connection
            world.run(for: .seconds(30)) { connection.isFinished && service.active.isEmpty }
        }
        let growth = heapGrowth(allowance: 64 * 1024) {
            for _ in 0..<2000 { cycle() }
            world.run(for: .seconds(40))
        }
        #expect(lastClient == nil, "the last connection was freed")
        #expect(growth <= 64 * 1024, "\(growth) bytes still live after 2,000 self-capturing connections")
        #expect(service.accepted >= 4000)
    }
}
}
