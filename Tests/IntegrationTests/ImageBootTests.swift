import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Images of the web sample made once per run by `skerry image`, as a user makes them.
enum ImageFixture {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-images-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// The web sample's kernel, built once.
    static let kernel: String = {
        let result = SkerryCLI.run(["build", BalancerIntegrationTests.sample, "--quiet"], timeout: 600)
        precondition(result.code == 0, "skerry build failed: \(result.stderr)")
        return SkerryCLI.kept(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    /// `skerry image Samples/web --format FORMAT -o DIR/NAME.FORMAT [--append APPEND]`, made once per name and format.
    static func image(_ name: String, format: String, append: String = "", options: [String] = []) throws -> String {
        let output = directory.appendingPathComponent("\(name).\(format)").path
        if FileManager.default.fileExists(atPath: output) { return output }
        let run = SkerryCLI.run(["image", BalancerIntegrationTests.sample, "--format", format, "-o", output]
                                    + (append.isEmpty ? [] : ["--append", append]) + options, timeout: 600)
        guard run.code == 0 else { throw SetupFailure(description: "skerry image --format \(format) failed: \(run.stderr)") }
        return output
    }

    struct SetupFailure: Error, CustomStringConvertible { var description: String }

    /// The file's bytes and modification time, which a boot must leave as they were.
    static func fingerprint(_ path: String) -> (Data?, Date?) {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        return (try? Data(contentsOf: URL(fileURLWithPath: path)), modified)
    }
}

/// ISOs and disk images boot through GRUB under SeaBIOS and OVMF as a user
/// boots them, with the forwards, exit codes and ready summary of `-kernel`.
@Suite(.serialized) struct ImageBootTests {
    /// Each known kind of argument, as `skerry image --append` would put it in grub.cfg.
    static let arguments = "heartbeat=400 shutdown-after=1500 default-route=public admin=10.0.1.15/24,gw=10.0.1.2"

    @Test(arguments: ["bios", "uefi"])
    func theISOReachesReadyWithEveryArgumentAndShutsDownCleanly(firmware: String) throws {
        let iso = try ImageFixture.image("arguments", format: "iso", append: Self.arguments)
        let run = SkerryCLI.run(["boot", iso, "--accel", "tcg", "--json", "--firmware", firmware, "--timeout", "120"], timeout: 150)
        let console = run.consoleLines
        #expect(run.code == BootOutcome.cleanShutdown.exitCode, "\(run.stderr.suffix(600)) \(console.suffix(20))")
        #expect(run.exitEvent?["outcome"] as? String == "clean-shutdown")
        #expect(console.contains("command line: \(Self.arguments)"), "the first argument survives GRUB: \(console.filter { $0.hasPrefix("command line") })")
        #expect(!console.contains { $0.hasPrefix("warning: ") }, "\(console.filter { $0.hasPrefix("warning: ") })")
        #expect(console.contains(KernelContract.readyLine.description))
        #expect(console.contains { $0.hasPrefix("uptime ") }, "the heartbeat runs: the timer interrupt works under \(firmware)")
        #expect(run.events.contains { $0["event"] as? String == "ready" }, "the ready summary, as with -kernel")
        let started = run.events.first { $0["event"] as? String == "started" }?["command"] as? [String] ?? []
        #expect(started.contains("-bios") == (firmware == "uefi"), "\(started)")
        #expect(!started.contains("-kernel"))
    }

    @Test func theWebSampleFromTheISOBalancesHTTPOverTheSampleBackends() throws {
        let iso = try ImageFixture.image("plain", format: "iso")
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let counts = Box<[String: Int]>([:])
        var up = 0
        var publicPort: UInt16?
        var started = false
        let run = SkerryCLI.run(["boot", iso, "--accel", "tcg", "--json", "--forward", "public:tcp:80", "--input", "--timeout", "150"],
                                keepInputOpen: true, timeout: 180) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "public", let port = event["hostPort"] as? Int {
                publicPort = UInt16(port)
            }
            if (event["line"] as? String)?.hasSuffix(" is UP") == true { up += 1 }
            guard !started, up >= 3, let port = publicPort else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                for _ in 0..<30 {
                    let name = fetchBackendName(port: port) ?? "failed"
                    counts.value[name, default: 0] += 1
                }
                _ = "shutdown\n".withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(started, "the backends never all came up: \(run.consoleLines.suffix(20))")
        #expect(counts.value == ["web1": 10, "web2": 10, "web3": 10], "round robin from the ISO: \(counts.value)")
        #expect(run.code == BootOutcome.cleanShutdown.exitCode, "\(run.stderr.suffix(600))")
    }

    /// The OVA sets its own memory (96 MiB) and NIC model (vmxnet3): it is booted with neither option.
    @Test(arguments: [("vmdk", "vmxnet3"), ("qcow2", "virtio"), ("ova", "vmxnet3")])
    func aDiskImageReachesReadyAndEchoesUDPAndTCP(format: String, model: String) throws {
        let isPackage = format == "ova"
        let disk = try ImageFixture.image("plain", format: format, options: isPackage ? ["--memory", "96"] : [])
        if format == "vmdk" {
            let header = try FileHandle(forReadingFrom: URL(fileURLWithPath: disk)).read(upToCount: 65_536) ?? Data()
            #expect(String(decoding: header, as: UTF8.self).contains("createType=\"streamOptimized\""), "the VMDK flavour OVAs carry")
        }
        let before = ImageFixture.fingerprint(disk)
        let udp = Box<UDPEchoClient.Result?>(nil)
        let tcp = Box<TCPTestClient.Transfer?>(nil)
        var ports: [String: UInt16] = [:]
        var started = false
        let run = SkerryCLI.run(["boot", disk, "--accel", "tcg", "--json", "--input", "--timeout", "150"] + (isPackage ? [] : ["--nic-model", model]),
                                keepInputOpen: true, timeout: 180) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "admin", event["guestPort"] as? Int == 7,
                let transport = event["transport"] as? String, let port = event["hostPort"] as? Int
            {
                ports[transport] = UInt16(port)
            }
            guard !started, (event["line"] as? String)?.hasPrefix("arp: admin gateway") == true,
                let udpPort = ports["udp"], let tcpPort = ports["tcp"] else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                udp.value = UDPEchoClient(port: udpPort, count: 1_000).run()
                tcp.value = TCPTestClient.echo(port: tcpPort, payload: (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                _ = "shutdown\n".withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(started, "the admin gateway never resolved: \(run.consoleLines.suffix(20))")
        let echoed = try #require(udp.value)
        #expect(echoed.matched == 1_000 && echoed.lost == 0 && echoed.mismatched == 0, "\(echoed)")
        #expect(tcp.value?.intact == true, "\(String(describing: tcp.value))")
        #expect(run.code == BootOutcome.cleanShutdown.exitCode, "\(run.stderr.suffix(600))")
        let driver = model == "virtio" ? "virtio-net" : "vmxnet3"
        for role in ["admin", "public", "private"] {
            #expect(run.consoleLines.contains { $0.hasPrefix("nic \(role): \(driver) ") }, "\(role) on \(driver)")
        }
        let after = ImageFixture.fingerprint(disk)
        #expect(after.0 == before.0 && after.1 == before.1, "the boot left the user's \(format) untouched (snapshot=on)")
        if isPackage {
            let command = run.events.first { $0["event"] as? String == "started" }?["command"] as? [String] ?? []
            #expect(command.indices.contains { command[$0] == "-m" && command.indices.contains($0 + 1) && command[$0 + 1] == "96" },
                    "the descriptor's memory: \(command)")
            #expect(command.contains { $0.hasPrefix("file=") && $0.contains("web-disk1.vmdk") && $0.contains("format=vmdk") },
                    "the OVA's own disk: \(command)")
        }
    }

    /// An appliance that pins its NICs' MACs boots with them, from its directory and from its OVA, whose
    /// descriptor carries them: the kernel finds each role's MAC (it stops if one matches no NIC).
    @Test func pinnedMACsTravelFromTheApplianceFileIntoTheOVAAndTheVM() throws {
        let work = try TemporaryDirectory(prefix: "skerry-macs")
        defer { work.remove() }
        let sample = URL(fileURLWithPath: BalancerIntegrationTests.sample)
        let macs = ["admin": "02:00:00:5c:00:0a", "public": "02:00:00:5c:00:0b", "private": "02:00:00:5c:00:0c"]
        var text = try String(contentsOf: sample.appendingPathComponent("appliance.conf"), encoding: .utf8)
        for (role, mac) in macs {
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("nic \(role) ") })
            text = text.replacingOccurrences(of: String(line), with: "\(line) mac \(mac)")
        }
        try text.write(toFile: "\(work.path)/appliance.conf", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: sample.appendingPathComponent("firewall.rules").path, toPath: "\(work.path)/firewall.rules")

        let ova = "\(work.path)/pinned.ova"
        let made = SkerryCLI.run(["image", work.path, "--format", "ova", "-o", ova], timeout: 600)
        #expect(made.code == 0, "\(made.stderr)")
        for target in [work.path, ova] {
            let run = SkerryCLI.run(["boot", target, "--accel", "tcg", "--json", "--until", "skerry: ready", "--timeout", "120"], timeout: 600)
            #expect(run.code == BootOutcome.untilMatched.exitCode, "\(target): \(run.stderr.suffix(400)) \(run.consoleLines.suffix(10))")
            for (role, mac) in macs {
                #expect(run.consoleLines.contains { $0.hasPrefix("nic \(role): ") && $0.contains(" \(mac) ") },
                        "\(target): \(role) carries \(mac): \(run.consoleLines.filter { $0.hasPrefix("nic ") })")
            }
        }
    }

    /// A damaged OVA is refused, naming what is wrong, before QEMU starts; nothing it extracted is left behind.
    @Test func aDamagedOVAIsRefusedBeforeQEMUStarts() throws {
        let ova = try ImageFixture.image("plain", format: "ova", options: ["--memory", "96"])
        let work = try TemporaryDirectory(prefix: "skerry-damaged")
        defer { work.remove() }
        let tar = try #require(findExecutable("tar"))
        let original = try Data(contentsOf: URL(fileURLWithPath: ova))
        let unpacked = "\(work.path)/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        #expect(try CapturedRun.run(tar, ["-xf", ova, "-C", unpacked]).succeeded)
        func pack(_ name: String, _ files: [String]) throws -> String {
            let path = "\(work.path)/\(name).ova"
            let result = try CapturedRun.run(tar, ["--format=ustar", "-cf", path, "-C", unpacked] + files)
            #expect(result.succeeded, "\(result.output)")
            return path
        }

        var changed = original
        changed[changed.count / 2] ^= 0x01
        let changedPath = "\(work.path)/changed.ova"
        try changed.write(to: URL(fileURLWithPath: changedPath))
        let truncatedPath = "\(work.path)/truncated.ova"
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: truncatedPath))
        let missing = try pack("missing", ["web.ovf", "web.mf"])
        // A descriptor that is not XML, with a manifest that vouches for it: the checksums pass, the parse does not.
        let descriptor = "\(unpacked)/web.ovf"
        try Data("<Envelope><VirtualSystem>".utf8).write(to: URL(fileURLWithPath: descriptor))
        let manifest = try String(contentsOfFile: "\(unpacked)/web.mf", encoding: .utf8).split(separator: "\n").map { line in
            line.hasPrefix("SHA256(web.ovf)=") ? "SHA256(web.ovf)= \(SHA256.hex(Array("<Envelope><VirtualSystem>".utf8)))" : String(line)
        }.joined(separator: "\n") + "\n"
        try manifest.write(toFile: "\(unpacked)/web.mf", atomically: true, encoding: .utf8)
        let malformed = try pack("malformed", ["web.ovf", "web.mf", "web-disk1.vmdk"])

        let cases: [(String, String)] = [
            (changedPath, "checksum mismatch: web-disk1.vmdk"),
            (truncatedPath, "truncated"),
            (missing, "the manifest lists web-disk1.vmdk but the package does not hold it"),
            (malformed, "web.ovf"),
        ]
        let leftBefore = Self.extractedDirectories()
        for (path, message) in cases {
            let run = SkerryCLI.run(["boot", path, "--accel", "tcg", "--json"], timeout: 60)
            #expect(run.code == BootOutcome.toolErrorExitCode, "\(path): \(run.code) \(run.stderr)")
            #expect(run.stderr.contains("cannot boot '\(path)'") && run.stderr.contains(message), "\(path): \(run.stderr)")
            #expect(run.qemuPID == nil, "\(path): no QEMU was started")
        }
        #expect(Self.extractedDirectories() == leftBefore, "nothing extracted is left in the temporary directory")
    }

    static func extractedDirectories() -> [String] {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("skerry-ova-") }.sorted()
    }

    @Test func aSmokeSuiteBootsItsImageUnderOVMFWithTheAppliancesServices() throws {
        let iso = try ImageFixture.image("plain", format: "iso")
        let suite = ImageFixture.directory.appendingPathComponent("image-suite.yaml").path
        try """
            suite: from the iso
            appliance: \(BalancerIntegrationTests.sample)
            image: plain.iso
            firmware: uefi
            accel: tcg
            timeout: 120
            backends: [{name: web1, port: 8081}, {name: web2, port: 8082}, {name: web3, port: 8083}]
            steps:
              - expect-console: "skerry: ready"
              - wait: backends["web/web3"].state == up
              - {name: through the balancer, http: {path: /}}
              - shutdown
            """.write(toFile: suite, atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: iso))
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let run = try CapturedRun.run(SkerryCLI.executable, ["smoke", "--log-dir", ImageFixture.directory.appendingPathComponent("logs").path, suite])
        #expect(run.succeeded, "\(run.output)")
        #expect(run.output.contains("ok 1 from the iso"), "\(run.output)")
    }

    @Test func untilAndFailStopAnImageBootWithTheirExitCodes() throws {
        let iso = try ImageFixture.image("plain", format: "iso")
        let until = SkerryCLI.run(["boot", iso, "--accel", "tcg", "--json", "--until", "skerry: ready", "--timeout", "60"], timeout: 90)
        #expect(until.code == BootOutcome.untilMatched.exitCode, "\(until.stderr.suffix(400))")
        #expect(until.exitEvent?["ready"] != nil, "boot-to-ready through GRUB is reported: \(String(describing: until.exitEvent))")
        let fail = SkerryCLI.run(["boot", iso, "--accel", "tcg", "--json", "--fail", "^command line: ", "--timeout", "60"], timeout: 90)
        #expect(fail.code == BootOutcome.failMatched.exitCode, "\(fail.stderr.suffix(400))")
        #expect(!fail.consoleLines.contains(KernelContract.readyLine.description), "stopped before ready")
    }

    @Test func mismatchedMediaAndOptionsAreUsageErrorsBeforeQEMUStarts() throws {
        let iso = try ImageFixture.image("plain", format: "iso")
        let vhd = ImageFixture.directory.appendingPathComponent("web.vhd").path
        FileManager.default.createFile(atPath: vhd, contents: Data("not a disk".utf8))
        let usage: Int32 = 64
        let cases: [([String], String)] = [
            (["boot", ImageFixture.kernel, "--firmware", "uefi"], "UEFI boots an ISO or a disk image; make one with `skerry image`"),
            (["boot", BalancerIntegrationTests.sample, "--firmware", "uefi"], "UEFI boots an ISO or a disk image"),
            (["boot", iso, "--append", "selftest"], "are in its grub.cfg: set them with `skerry image --append`"),
            (["boot", vhd], ".elf32, .iso, .img, .raw, .qcow2, .vmdk, .ova"),
            (["boot", ImageFixture.directory.appendingPathComponent("web.ova").path, "--append", "selftest"], "skerry image --append"),
            (["top", iso, "--append", "selftest"], "skerry image --append"),
            (["demo", "--image", vhd], ".elf32, .iso, .img, .raw, .qcow2, .vmdk"),
        ]
        for (arguments, message) in cases {
            let run = SkerryCLI.run(arguments + ["--accel", "tcg", "--json"], timeout: 30)
            #expect(run.code == usage, "\(arguments): \(run.code) \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            #expect(run.qemuPID == nil, "\(arguments): no QEMU was started")
        }
        let bad = SkerryCLI.run(["boot", iso, "--firmware", "coreboot"], timeout: 30)
        #expect(bad.code == usage && bad.stderr.contains("coreboot"), "\(bad.stderr)")
    }
}
