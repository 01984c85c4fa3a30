import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Shares a result between the echo thread and the test.
final class EchoOutcome: @unchecked Sendable {
    var result: UDPEchoClient.Result?
}

@Suite(.serialized) struct NetworkIntegrationTests {
    @Test(arguments: ["virtio", "vmxnet3"])
    func threeNICsAndTenThousandEchoedDatagrams(model: String) throws {
        let outcome = EchoOutcome()
        var port: UInt16?
        var started = false
        var askedForHeap = false
        let run = SkerryCLI.boot(["--nic-model", model, "--input", "--timeout", "180"], keepInputOpen: true, timeout: 200) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "admin",
                event["transport"] as? String == "udp", let hostPort = event["hostPort"] as? Int
            {
                port = UInt16(hostPort)
            }
            let console = event["line"] as? String ?? ""
            let input = child.standardInput
            // Once the admin gateway has answered, the path is up both ways:
            // take a heap reading, then run the traffic, then another.
            if !askedForHeap && console.hasPrefix("arp: admin gateway") {
                askedForHeap = true
                _ = "heap\n".withCString { write(input, $0, strlen($0)) }
            }
            guard askedForHeap, !started, let port, console.hasPrefix("heap: used") else { return }
            started = true
            Thread.detachNewThread {
                outcome.result = UDPEchoClient(port: port).run()
                let commands = "heap\nnics\nnetstat\nshutdown\n"
                _ = commands.withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(started, "the admin gateway never resolved: \(run.stdout.suffix(2000))")
        let result = try #require(outcome.result)
        #expect(result.matched == 10_000, "\(result)")
        #expect(result.mismatched == 0 && result.lost == 0, "\(result)")
        #expect(run.code == 0, "\(run.stderr)")

        let console = run.consoleLines
        let driver = model == "virtio" ? "virtio-net" : "vmxnet3"
        for (index, role) in ["admin", "public", "private"].enumerated() {
            let prefix = "nic \(role): \(driver) 52:54:00:12:34:5\(6 + index) 10.0.\(index + 1).15/24 gw 10.0.\(index + 1).2 link up"
            #expect(console.contains { $0.hasPrefix(prefix) }, "missing: \(prefix)")
            #expect(console.contains("arp: \(role) gateway 10.0.\(index + 1).2 is at 52:55:0a:00:0\(index + 1):02"))
        }
        let adminCounters = try #require(console.last { $0.hasPrefix("nic admin: rx ") })
        let rxPackets = Int(adminCounters.split(separator: " ")[3]) ?? 0
        #expect(rxPackets >= 10_000, "\(adminCounters)")
        #expect(adminCounters.contains("drops rx-no-buffer 0 rx-bad-frame 0 tx-ring-full 0, errors 0"))
        #expect(console.contains { $0.hasPrefix("stack: ") && $0.contains("udp-delivered=10000") })

        // The per-packet path does not allocate: 20,000 frames through the
        // driver and the stack leave the heap's allocation count where the
        // two shell commands around them put it.
        let allocations = console.filter { $0.hasPrefix("heap: used ") }.compactMap { line -> Int? in
            guard let range = line.range(of: "allocations ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(allocations.count >= 2)
        if allocations.count >= 2 {
            #expect(allocations[1] - allocations[0] < 50, "allocations before and after: \(allocations)")
        }
    }

    @Test func aMissingNICStopsTheBootWithAClearError() throws {
        var request = BootRequest(image: URL(fileURLWithPath: SkerryCLI.image))
        request.accelerator = .tcg
        request.timeout = 30
        request.attachNetworks = false
        var lines: [String] = []
        let result = try BootSession(request: request) { event in
            if case .console(_, let line) = event { lines.append(line) }
        }.run()
        #expect(result.outcome == .kernelFailure)
        #expect(result.detail.contains("missing NIC"))
        #expect(lines.contains("nics: found 0, need exactly 3 (admin, public, private)"))
    }

    @Test func anExtraNICStopsTheBootWithAClearError() throws {
        var request = BootRequest(image: URL(fileURLWithPath: SkerryCLI.image))
        request.accelerator = .tcg
        request.timeout = 30
        request.extraQemuArguments = ["-netdev", "user,id=extra,restrict=on", "-device", "virtio-net-pci,netdev=extra,romfile="]
        let result = try BootSession(request: request) { _ in }.run()
        #expect(result.outcome == .kernelFailure)
        #expect(result.detail.contains("extra NIC"))
    }

    @Test func configuredMACsChooseTheRoles() {
        let run = SkerryCLI.boot([
            "--append",
            "admin=10.0.3.15/24,gw=10.0.3.2,mac=52:54:00:12:34:58 private=10.0.1.15/24,gw=10.0.1.2,mac=52:54:00:12:34:56 shutdown-after=0",
        ])
        #expect(run.code == 0)
        let console = run.consoleLines
        #expect(console.contains { $0.hasPrefix("nic admin: virtio-net 52:54:00:12:34:58 10.0.3.15/24") })
        #expect(console.contains { $0.hasPrefix("nic public: virtio-net 52:54:00:12:34:57 10.0.2.15/24") })
        #expect(console.contains { $0.hasPrefix("nic private: virtio-net 52:54:00:12:34:56 10.0.1.15/24") })
    }

    @Test func aMACThatMatchesNoNICIsAFailure() {
        let run = SkerryCLI.boot(["--append", "public=10.0.2.15/24,mac=02:00:00:00:00:01"])
        #expect(run.code == BootOutcome.kernelFailure.exitCode)
        #expect(run.consoleLines.contains("nics: no NIC has MAC 02:00:00:00:00:01 (configured for public)"))
    }

    @Test func forwardsAreCheckedBeforeBooting() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let busy = UInt16(bigEndian: address.sin_port)

        let taken = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--forward", "admin:udp:7:\(busy)"])
        #expect(taken.code == BootOutcome.toolErrorExitCode)
        #expect(taken.stderr.contains("127.0.0.1:\(busy)/udp is already in use"))

        for bad in ["private:tcp:80", "admin:sctp:7", "admin:udp:0", "admin:udp", "admin:tcp:80:99999"] {
            let refused = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--forward", bad])
            #expect(refused.code == 64, "\(bad): a malformed --forward is a usage error")
            #expect(refused.stderr.contains("bad --forward '\(bad)'"), "\(bad): \(refused.stderr)")
        }
    }
}
