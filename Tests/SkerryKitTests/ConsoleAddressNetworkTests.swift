import Testing
@testable import SkerryKit

/// `tcp:HOST:PORT` and `telnet:HOST:PORT`, IPv6 in brackets, and which hosts are loopback.
@Suite struct ConsoleAddressNetworkTests {
    @Test func networkFormsParseAndPrintBack() throws {
        let tcp = try ConsoleAddress(parsing: "tcp:127.0.0.1:4555")
        #expect(tcp == .tcp(host: "127.0.0.1", port: 4555))
        #expect(tcp.description == "tcp:127.0.0.1:4555")
        #expect(!tcp.isTelnet && tcp.path == nil)
        let telnet = try ConsoleAddress(parsing: "telnet:localhost:23")
        #expect(telnet == .telnet(host: "localhost", port: 23) && telnet.isTelnet)
        let v6 = try ConsoleAddress(parsing: "tcp:[::1]:4555")
        #expect(v6 == .tcp(host: "::1", port: 4555))
        #expect(v6.description == "tcp:[::1]:4555", "an IPv6 host prints in brackets, as it is typed")
        #expect(try ConsoleAddress(parsing: "telnet:[fe80::1]:2323").location == "[fe80::1]:2323")
    }

    @Test func malformedNetworkFormsAreRefusedSayingTheForm() {
        let expected = { (scheme: String) in "expected \(scheme)HOST:PORT (an IPv6 HOST in brackets: \(scheme)[::1]:PORT)" }
        for text in ["tcp:4555", "tcp::4555", "tcp:host:", "tcp:host:0", "tcp:host:65536", "tcp:host:port", "tcp:::1:4555",
                     "tcp:[::1]4555", "tcp:[::1]:", "tcp:[]:4555", "tcp:[1.2.3.4]:4555", "tcp:a b:4555", "tcp:host:+45"] {
            #expect { try ConsoleAddress(parsing: text) } throws: { "\($0)" == "--console '\(text)': \(expected("tcp:"))" }
        }
        #expect { try ConsoleAddress(parsing: "telnet:host") } throws: { "\($0)" == "--console 'telnet:host': \(expected("telnet:"))" }
    }

    @Test func onlyThisMachinesAddressesAreLoopback() throws {
        for text in ["tcp:127.0.0.1:1", "tcp:127.9.8.7:1", "telnet:localhost:1", "tcp:[::1]:1", "unix:/tmp/x"] {
            #expect(try ConsoleAddress(parsing: text).isLoopback, "\(text)")
        }
        for text in ["tcp:0.0.0.0:1", "tcp:10.0.0.1:1", "telnet:[::]:1", "tcp:example.com:1", "tcp:128.0.0.1:1", "tcp:localhost.evil:1"] {
            #expect(try !ConsoleAddress(parsing: text).isLoopback, "\(text)")
        }
    }
}
