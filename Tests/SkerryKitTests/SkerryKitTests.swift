import Foundation
import KernelCore
import Testing
@testable import SkerryKit

@Suite struct SHA256Tests {
    @Test func matchesTheStandardVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Whole blocks are hashed in place and partial ones buffered: every way
    /// of cutting the input gives the one-shot digest, as does a non-contiguous sequence.
    @Test func anyCutOfTheInputGivesTheSameDigest() {
        let bytes = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = SHA256.hex(bytes)
        for cut in [1, 7, 55, 56, 63, 64, 65, 127, 128, 500] {
            var hasher = SHA256()
            var offset = 0
            while offset < bytes.count {
                hasher.update(bytes[offset..<min(offset + cut, bytes.count)])
                offset += cut
            }
            #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == whole, "pieces of \(cut)")
        }
        #expect(SHA256.hex(bytes.lazy.map { $0 }) == whole)
    }
}

@Suite struct BootOutcomeTests {
    @Test func everyOutcomeHasItsOwnExitCodeAndOnlyACleanShutdownIsZero() {
        let codes = BootOutcome.allCases.map(\.exitCode)
        #expect(Set(codes).count == codes.count)
        #expect(BootOutcome.allCases.filter { $0.exitCode == 0 } == [.cleanShutdown])
        #expect(!codes.contains(BootOutcome.toolErrorExitCode))
    }

    @Test func finishedEventsCarryOutcomeAndCodeInJSON() throws {
        let result = BootResult(
            outcome: .kernelPanic, detail: "CPU exception 14", qemuTermination: .exited(37), elapsed: 0.5,
            readyAfter: 0.1, lastConsoleLines: [])
        let data = Data(BootEvent.finished(result).jsonLine.utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["event"] as? String == "exit")
        #expect(object["outcome"] as? String == "kernel-panic")
        #expect(object["code"] as? Int == 5)
        #expect(object["qemuStatus"] as? Int == 37)
        #expect(object["ready"] as? Double == 0.1)
    }

    @Test func consoleStampsAreFixedWidth() {
        #expect(BootEvent.stamp(0.1234) == "[   0.123]")
        #expect(BootEvent.stamp(1234.5) == "[1234.500]")
    }
}

@Suite struct QemuCommandTests {
    @Test func headlessWithDebugExitConsoleAndQMP() {
        var command = QemuCommand(executable: "/usr/bin/qemu-system-x86_64", image: URL(fileURLWithPath: "/tmp/k.elf32"))
        command.memoryMiB = 64
        command.kernelArguments = "selftest shutdown-after=0"
        command.qmpSocket = "/tmp/x/qmp.sock"
        let arguments = command.arguments
        for required in ["-nodefaults", "-no-reboot", "-display"] { #expect(arguments.contains(required)) }
        #expect(arguments.contains("isa-debug-exit,iobase=0xf4,iosize=0x04"))
        #expect(arguments.contains("stdio,id=console,signal=off"))
        #expect(arguments.contains("unix:/tmp/x/qmp.sock,server=on,wait=off"))
        let append = try? #require(arguments.firstIndex(of: "-append"))
        #expect(append.map { arguments[$0 + 1] } == "selftest shutdown-after=0")
        let accel = arguments.firstIndex(of: "-accel").map { arguments[$0 + 1] }
        #expect(accel == "tcg")
        #expect(arguments[arguments.firstIndex(of: "-m")! + 1] == "64")
    }

    @Test func noAppendWhenThereAreNoKernelArguments() {
        let command = QemuCommand(executable: "qemu", image: URL(fileURLWithPath: "/k"))
        #expect(!command.arguments.contains("-append"))
    }

    @Test func aMissingQEMUSaysHowToInstallIt() {
        #expect(throws: BootSetupError.self) { try QemuCommand.locateExecutable("/nonexistent/qemu-system-x86_64") }
        let message = BootSetupError.qemuMissing("qemu-system-x86_64").description
        #expect(message.contains("apt-get install qemu-system-x86"))
    }
}

@Suite struct NetworkSetupTests {
    @Test func userNetworksFollowTheKernelsStandardAddresses() throws {
        var networks = UserNetworks(model: .vmxnet3, forwards: [
            PortForward(role: .admin, transport: .udp, guestPort: 7),
            PortForward(role: .public, transport: .tcp, guestPort: 80),
        ])
        try networks.resolvePorts()
        #expect(networks.forwards.allSatisfy { $0.hostPort != 0 })
        let arguments = networks.arguments
        let netdevs = arguments.enumerated().filter { $0.element == "-netdev" }.map { arguments[$0.offset + 1] }
        #expect(netdevs.count == 3)
        #expect(netdevs[0].hasPrefix("user,id=admin,ipv6=off,net=10.0.1.0/24,host=10.0.1.2,restrict=off,hostfwd=udp:127.0.0.1:"))
        #expect(netdevs[0].hasSuffix("-10.0.1.15:7"))
        #expect(netdevs[1].hasPrefix("user,id=public,ipv6=off,net=10.0.2.0/24,host=10.0.2.2,restrict=on,hostfwd=tcp:127.0.0.1:"))
        #expect(netdevs[2] == "user,id=private,ipv6=off,net=10.0.3.0/24,host=10.0.3.2,restrict=off")
        #expect(arguments.contains("vmxnet3,netdev=private,mac=52:54:00:12:34:58,romfile="))
    }

    @Test func forwardsParseAndRefuseNonsense() throws {
        let forward = try PortForward(parsing: "public:tcp:80:8080")
        #expect(forward.role == .public && forward.transport == .tcp && forward.guestPort == 80 && forward.hostPort == 8080)
        for bad in ["private:tcp:80", "admin:icmp:1", "admin:udp:0", "admin", "admin:udp:7:0", "admin:udp:7:8:9"] {
            #expect(throws: BootSetupError.self, "\(bad)") { try PortForward(parsing: bad) }
        }
        var twice = UserNetworks(model: .virtio, forwards: [
            PortForward(role: .admin, transport: .udp, guestPort: 7), PortForward(role: .admin, transport: .udp, guestPort: 7),
        ])
        #expect(throws: BootSetupError.self) { try twice.resolvePorts() }
    }

    @Test func tapModeWithoutPrivilegeRefusesClearly() {
        #expect { try TapNetwork(privileged: false) } throws: { error in
            "\(error)".contains("tap networking needs root")
        }
    }
}

@Suite struct SymbolizerTests {
    @Test func extractsTheAddressesOfTheLastBacktrace() {
        let lines = [
            "backtrace:", "  #0 0x0000000000000001", "PANIC: again", "backtrace:", "  #0 0x0000000000101234",
            "  #1 0x0000000000100183", "skerry: shutdown panic",
        ]
        #expect(Symbolizer.backtraceAddresses(in: lines) == ["0x0000000000101234", "0x0000000000100183"])
        #expect(Symbolizer.backtraceAddresses(in: ["no report"]).isEmpty)
    }
}

@Suite struct StatisticsTests {
    @Test func medians() {
        #expect(Statistics.median([]) == 0)
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
    }
}

@Suite struct BuildTests {
    /// A copy of Kernel/ in a temporary directory, so tests can edit it.
    static func copyOfKernelTree() throws -> URL {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernel")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-tree-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: copy)
        return copy
    }

    static let fakeToolchain = Toolchain(swiftc: "/bin/true", clang: "/bin/true", linker: "/bin/true", objcopy: "/bin/true")

    @Test func theCacheKeyFollowsSourceContents() throws {
        let tree = try Self.copyOfKernelTree()
        defer { try? FileManager.default.removeItem(at: tree) }
        let builder = KernelBuilder(kernelDirectory: tree, outputDirectory: tree.appendingPathComponent("out"), toolchain: Self.fakeToolchain)
        let first = try builder.cacheKey(builder.collectSources())
        #expect(try builder.cacheKey(builder.collectSources()) == first, "the key is stable for an unchanged tree")
        let file = tree.appendingPathComponent("Core/Boot/Version.swift")
        let original = try String(contentsOf: file, encoding: .utf8)
        try (original + "\n// edited\n").write(to: file, atomically: true, encoding: .utf8)
        let edited = try builder.cacheKey(builder.collectSources())
        #expect(edited != first)
        try original.write(to: file, atomically: true, encoding: .utf8)
        #expect(try builder.cacheKey(builder.collectSources()) == first)
    }

    @Test func aTreeWithoutKernelSourcesIsRejectedClearly() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let builder = KernelBuilder(kernelDirectory: empty, outputDirectory: empty, toolchain: Self.fakeToolchain)
        #expect { try builder.build() } throws: { error in
            "\(error)".contains("does not look like a Skerry kernel tree")
        }
    }

    @Test func aFailingStepReportsItsCommandAndOutput() throws {
        let tree = try Self.copyOfKernelTree()
        defer { try? FileManager.default.removeItem(at: tree) }
        let failing = Toolchain(swiftc: "/bin/false", clang: "/bin/true", linker: "/bin/true", objcopy: "/bin/true")
        let builder = KernelBuilder(kernelDirectory: tree, outputDirectory: tree.appendingPathComponent("out"), toolchain: failing)
        #expect { try builder.build() } throws: { error in
            let text = "\(error)"
            return text.contains("swiftc") && text.contains("failed") && text.contains("command: /bin/false")
        }
        let published = try FileManager.default.contentsOfDirectory(atPath: tree.appendingPathComponent("out").path)
        #expect(published.isEmpty, "a failed build leaves nothing that could pass for a cached image")
    }

    @Test func missingToolsAreNamed() {
        #expect { try Toolchain.locate(environment: ["PATH": "/nonexistent"]) } throws: { error in
            "\(error)".contains("swiftc not found")
        }
    }
}
