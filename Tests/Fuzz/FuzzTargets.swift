// Every target is linked into one libFuzzer binary, so the core is compiled
// with AddressSanitizer once; SKERRY_FUZZ_TARGET chooses the target a run
// drives (`list` prints the names, one per line).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias FuzzTarget = (UnsafePointer<UInt8>, Int) -> CInt

/// Every target, by the name `scripts/fuzz` takes.
let fuzzTargets: [(name: String, run: FuzzTarget)] = [
    ("ethernet", fuzzEthernet),
    ("arp", fuzzARP),
    ("ipv4", fuzzIPv4),
    ("icmp", fuzzICMP),
    ("udp", fuzzUDP),
    ("stack", fuzzStackInput),
    ("tcp", fuzzTCP),
    ("telemetry", fuzzTelemetry),
]

nonisolated(unsafe) var selectedTarget: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    let name = getenv("SKERRY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name == "list" {
        for target in fuzzTargets { print(target.name) }
        exit(0)
    }
    guard let target = fuzzTargets.first(where: { $0.name == name }) else {
        let names = fuzzTargets.map(\.name).joined(separator: ", ")
        fputs("fuzz: no target '\(name)'; SKERRY_FUZZ_TARGET is one of \(names)\n", stderr)
        exit(2)
    }
    selectedTarget = target.run
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selectedTarget!(data, size)
}
