import Foundation
import Testing
@testable import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// The host tools' options: seconds that a timer can use, forwards that say
/// what they clash with, report files checked before the work starts.
@Suite struct SecondsOptionTests {
    @Test(arguments: [
        (Double.infinity, "inf"), (-Double.infinity, "-inf"), (Double.nan, "nan"), (1e308, "1e+308"), (-1, "-1"), (0, "0"),
        (604_801, "604801"),
    ])
    func timeoutsAreRefusedByName(value: Double, shown: String) {
        #expect(SecondsOption.timeout().problem(value) == "--timeout must be a finite number of seconds > 0 and at most 604800, got '\(shown)'")
    }

    @Test func usableTimeoutsPass() {
        for value in [0.001, 1, 30, 604_800] { #expect(SecondsOption.timeout().problem(value) == nil, "\(value)") }
    }

    @Test func intervalsHaveTheirRange() {
        let interval = SecondsOption.interval()
        for value in [0.1, 0.5, 60] { #expect(interval.problem(value) == nil, "\(value)") }
        for value in [0.05, -1, 60.5, .nan, .infinity, -0.0] {
            #expect(interval.problem(value)?.hasPrefix("--interval must be a finite number of seconds from 0.1 to 60, got '") == true,
                    "\(value)")
        }
        #expect(interval.problem(-2.5) == "--interval must be a finite number of seconds from 0.1 to 60, got '-2.5'")
    }
}

@Suite struct ForwardArgumentTests {
    @Test func twoForwardsOfOneGuestPortAreAnError() {
        #expect {
            try PortForward.parse(arguments: ["admin:udp:7", "public:tcp:80:8080", "public:tcp:80:9090"])
        } throws: { error in
            "\(error)" == "--forward 'public:tcp:80:8080' and --forward 'public:tcp:80:9090' forward the same guest port; give one"
        }
        let distinct = try? PortForward.parse(arguments: ["public:tcp:80", "public:udp:80", "admin:tcp:80"])
        #expect(distinct?.count == 3, "another protocol or role is another port")
    }

    @Test func argumentsReplaceTheDefaultsOfTheirGuestPort() throws {
        let defaults = BootRequest(image: URL(fileURLWithPath: "/k")).forwards
        let merged = PortForward.merge(defaults, overriddenBy: try PortForward.parse(arguments: ["admin:tcp:7:17007"]))
        #expect(merged.count == defaults.count)
        #expect(merged.filter { $0.role == .admin && $0.transport == .tcp && $0.guestPort == 7 }.map(\.hostPort) == [17007])
        #expect(try PortForward(parsing: "admin:tcp:7:17007") == PortForward(role: .admin, transport: .tcp, guestPort: 7, hostPort: 17007),
                "the text typed is not part of a forward's identity")
    }

    @Test func aBusyHostPortIsReportedWithTheArgumentAsTyped() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        try #require(bound && listen(listener, 1) == 0)
        let port = UInt16(bigEndian: address.sin_port)
        var networks = UserNetworks(model: .virtio, forwards: try PortForward.parse(arguments: ["public:tcp:80:\(port)"]))
        #expect {
            try networks.resolvePorts()
        } throws: { error in
            "\(error)" == "--forward 'public:tcp:80:\(port)': 127.0.0.1:\(port)/tcp is already in use; pick another host port or leave it out to get a free one"
        }
    }

    @Test func twoForwardsOnOneHostPortNameEachOther() throws {
        var networks = UserNetworks(model: .virtio, forwards: try PortForward.parse(arguments: ["public:tcp:80:47001", "admin:tcp:9100:47001"]))
        #expect {
            try networks.resolvePorts()
        } throws: { error in
            "\(error)" == "bad --forward 'admin:tcp:9100:47001': 127.0.0.1:47001/tcp is also the host port of --forward 'public:tcp:80:47001'"
        }
    }

    @Test func aSmokeScriptCannotForwardOneGuestPortTwice() {
        let text = """
            suite: s
            appliance: Samples/web
            forward: ["public:tcp:22", "public:tcp:22:2222"]
            steps:
              - shutdown: clean
            """
        #expect {
            try SmokeParser.parse(text, file: "s.yaml")
        } throws: { error in
            "\(error)".contains("s.yaml:3:28: error: --forward 'public:tcp:22' and --forward 'public:tcp:22:2222' forward the same guest port")
        }
    }
}

@Suite struct OutputFileTests {
    @Test func aReportPathIsCheckedBeforeTheWork() throws {
        let directory = NSTemporaryDirectory() + "skerry-output-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(OutputFile.problem(directory + "/report.xml") == nil)
        #expect(OutputFile.problem(directory) == "\(directory) is a directory")
        #expect(OutputFile.problem(directory + "/missing/report.xml") == "the directory \(directory)/missing does not exist")
        try "x".write(toFile: directory + "/file", atomically: true, encoding: .utf8)
        #expect(OutputFile.problem(directory + "/file") == nil, "an existing file is replaced")
        #expect(OutputFile.problem(directory + "/file/report.xml") == "\(directory)/file is not a directory")
        #expect(OutputFile.problem("") == "the path is empty")
        if getuid() != 0 {
            chmod(directory, 0o500)
            defer { chmod(directory, 0o700) }
            #expect(OutputFile.problem(directory + "/report.xml") == "the directory \(directory) is not writable")
        }
    }
}
