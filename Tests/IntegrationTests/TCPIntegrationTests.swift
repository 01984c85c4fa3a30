import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Boots the appliance, waits until the admin path is up, runs `body` with
/// the forwarded ports (guest port to host port) on a separate thread, then
/// asks the kernel for its TCP figures and shuts it down.
func withAppliance(_ arguments: [String], timeout: Double = 240, _ body: @escaping @Sendable ([UInt16: UInt16], String?) -> Void) -> SkerryCLI.Run {
    var tcpPorts: [UInt16: UInt16] = [:]
    var namespace: String?
    var started = false
    return SkerryCLI.boot(arguments + ["--input", "--timeout", String(Int(timeout))], keepInputOpen: true, timeout: timeout + 30) { line, child in
        guard let event = SkerryCLI.event(line) else { return }
        if event["event"] as? String == "forward", event["transport"] as? String == "tcp",
            let guest = event["guestPort"] as? Int, let host = event["hostPort"] as? Int
        {
            tcpPorts[UInt16(guest)] = UInt16(host)
        }
        if event["event"] as? String == "namespace" { namespace = event["name"] as? String }
        guard !started, (event["line"] as? String)?.hasPrefix("arp: admin gateway") == true else { return }
        started = true
        let ports = tcpPorts
        let name = namespace
        let input = child.standardInput
        Thread.detachNewThread {
            body(ports, name)
            let commands = "tcp\nnetstat\nshutdown\n"
            _ = commands.withCString { write(input, $0, strlen($0)) }
        }
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count / 8).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
}

@Suite(.serialized) struct TCPIntegrationTests {
    @Test(arguments: ["virtio", "vmxnet3"])
    func oneMebibyteEachWayAndAHundredConnectionsFromOneSource(model: String) {
        let results = Box<[String: TCPTestClient.Transfer]>([:])
        let concurrent = Box((opened: 0, echoed: [Bool]()))
        let run = withAppliance(["--nic-model", model]) { ports, _ in
            guard let echo = ports[7], let discard = ports[9], let chargen = ports[19] else { return }
            results.value["echo"] = TCPTestClient.echo(port: echo, payload: randomBytes(1 << 20))
            results.value["discard"] = TCPTestClient.discard(port: discard, count: 1 << 20)
            results.value["chargen"] = TCPTestClient.chargen(port: chargen, count: 1 << 20)
            // 100 connections from one source (every host client is 10.0.1.2
            // in user mode). Each is confirmed with a first echo before the
            // next opens (QEMU's user-mode networking accepts a host
            // connection only once the guest has, one at a time). The echo
            // service keeps a source's most recent connections up to its
            // per-source limit: each new one replaces that source's
            // longest-idle one, so only the last ones still echo.
            func exchange(_ fd: Int32, _ text: String) -> Bool {
                let message = Array(text.utf8)
                _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                var buffer = [UInt8](repeating: 0, count: 128)
                var received: [UInt8] = []
                while received.count < message.count {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    received += buffer[0..<count]
                }
                return received == message
            }
            var sockets: [Int32] = []
            for index in 0..<100 {
                if let fd = try? TCPTestClient.connect(port: echo), exchange(fd, "hello from \(index)") { sockets.append(fd) }
            }
            concurrent.value.opened = sockets.count
            for (index, fd) in sockets.enumerated() {
                concurrent.value.echoed.append(exchange(fd, "connection \(index) of \(sockets.count) still here"))
            }
            for fd in sockets { close(fd) }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(500))")
        for name in ["echo", "discard", "chargen"] {
            let transfer = results.value[name]
            #expect(transfer?.intact == true, "\(name): \(transfer.map(String.init(describing:)) ?? "not run")")
        }
        let kept = TCPTestService.limits.maximumPerSource
        #expect(concurrent.value.opened == 100, "\(concurrent.value)")
        #expect(concurrent.value.echoed == Array(repeating: false, count: 100 - kept) + Array(repeating: true, count: kept),
                "the last \(kept) connections, and only they, still echo: \(concurrent.value.echoed)")
        let console = run.consoleLines
        let tcp = console.last { $0.hasPrefix("tcp:") } ?? ""
        #expect(tcp.contains("port 7 accepted 101"), "\(tcp)")
        let stack = console.last { $0.hasPrefix("stack:") } ?? ""
        #expect(stack.contains("tcp-passive-opens=103"), "\(stack)")
        #expect(stack.contains("tcp-source-limit-evictions=\(100 - kept)"), "\(stack)")
    }

    @Test(arguments: ["virtio", "vmxnet3"])
    func aConnectionBurstLeavesEstablishedConnectionsWorking(model: String) {
        let outcome = Box((burst: 0, intact: false))
        let run = withAppliance(["--nic-model", model]) { ports, _ in
            guard let echo = ports[7], let fd = try? TCPTestClient.connect(port: echo) else { return }
            defer { close(fd) }
            // 300 short connections as fast as the host can make them.
            for index in 0..<300 {
                guard let extra = try? TCPTestClient.connect(port: echo) else { continue }
                let message = Array("burst \(index)".utf8)
                _ = message.withUnsafeBytes { send(extra, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                var buffer = [UInt8](repeating: 0, count: 64)
                if recv(extra, &buffer, buffer.count, 0) > 0 { outcome.value.burst += 1 }
                close(extra)
            }
            let message = randomBytes(64 * 1024)
            let writer = Thread {
                _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            writer.start()
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while received.count < message.count {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                received += buffer[0..<count]
            }
            outcome.value.intact = received == message
        }
        #expect(run.code == 0)
        #expect(outcome.value.burst == 300)
        #expect(outcome.value.intact, "the connection opened before the burst still echoes")
        let stack = run.consoleLines.last { $0.hasPrefix("stack:") } ?? ""
        #expect(stack.contains("tcp-passive-opens=301"), "\(stack)")
    }
}
