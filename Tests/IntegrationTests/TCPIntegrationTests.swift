import Foundation
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
    func oneMebibyteEachWayAndAHundredConcurrentConnections(model: String) {
        let results = Box<[String: TCPTestClient.Transfer]>([:])
        let concurrent = Box((opened: 0, echoed: 0))
        let run = withAppliance(["--nic-model", model]) { ports, _ in
            guard let echo = ports[7], let discard = ports[9], let chargen = ports[19] else { return }
            results.value["echo"] = TCPTestClient.echo(port: echo, payload: randomBytes(1 << 20))
            results.value["discard"] = TCPTestClient.discard(port: discard, count: 1 << 20)
            results.value["chargen"] = TCPTestClient.chargen(port: chargen, count: 1 << 20)
            // 100 connections open at once, each echoing its own message.
            var sockets: [Int32] = []
            for _ in 0..<100 {
                if let fd = try? TCPTestClient.connect(port: echo) { sockets.append(fd) }
            }
            concurrent.value.opened = sockets.count
            for (index, fd) in sockets.enumerated() {
                let message = Array("connection \(index) says hello".utf8)
                _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            for (index, fd) in sockets.enumerated() {
                let expected = Array("connection \(index) says hello".utf8)
                var buffer = [UInt8](repeating: 0, count: 128)
                var received: [UInt8] = []
                while received.count < expected.count {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    received += buffer[0..<count]
                }
                if received == expected { concurrent.value.echoed += 1 }
                close(fd)
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(500))")
        for name in ["echo", "discard", "chargen"] {
            let transfer = results.value[name]
            #expect(transfer?.intact == true, "\(name): \(transfer.map(String.init(describing:)) ?? "not run")")
        }
        #expect(concurrent.value.opened == 100 && concurrent.value.echoed == 100, "\(concurrent.value)")
        let console = run.consoleLines
        let tcp = console.last { $0.hasPrefix("tcp:") } ?? ""
        #expect(tcp.contains("port 7 accepted 101"), "\(tcp)")
        let stack = console.last { $0.hasPrefix("stack:") } ?? ""
        #expect(stack.contains("tcp-passive-opens=103"), "\(stack)")
    }

    @Test func aConnectionBurstLeavesEstablishedConnectionsWorking() {
        let outcome = Box((burst: 0, before: TCPTestClient.Transfer(), after: TCPTestClient.Transfer()))
        let run = withAppliance([]) { ports, _ in
            guard let echo = ports[7], let fd = try? TCPTestClient.connect(port: echo) else { return }
            defer { close(fd) }
            // 300 connections opened and dropped as fast as the host can.
            for _ in 0..<300 {
                if let extra = try? TCPTestClient.connect(port: echo) {
                    outcome.value.burst += 1
                    close(extra)
                }
            }
            let message = randomBytes(64 * 1024)
            var offset = 0
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while offset < message.count || received.count < message.count {
                if offset < message.count {
                    let sent = message[offset...].withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 8192), Int32(MSG_NOSIGNAL)) }
                    if sent <= 0 { break }
                    offset += sent
                }
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count > 0 { received += buffer[0..<count] } else if count == 0 { break } else { usleep(1000) }
            }
            outcome.value.before.intact = received == message
        }
        #expect(run.code == 0)
        #expect(outcome.value.burst == 300)
        #expect(outcome.value.before.intact, "the connection opened before the burst still echoes")
    }
}
