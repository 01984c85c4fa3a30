import Foundation
import KernelCore
#if canImport(Glibc)
import Glibc
#endif

/// The VM's three NICs on tap devices, each on a bridge of its own inside a
/// network namespace that skerry creates for this boot and always removes.
/// The bridges carry the gateway addresses (10.0.1.2, 10.0.2.2, 10.0.3.2),
/// so anything run with `ip netns exec NAMESPACE …` reaches the appliance at
/// full speed, ICMP included, with nothing leaving the namespace.
public final class TapNetwork {
    public let namespace: String
    private let ip: String
    private var created = false

    /// Creates the namespace, bridges and taps. Needs root and iproute2.
    public init(tag: String = "\(getpid())", privileged: Bool = geteuid() == 0) throws(BootSetupError) {
        guard privileged else {
            throw .tapUnavailable("tap networking needs root (CAP_NET_ADMIN to create a network namespace); use the default --network user")
        }
        guard let ip = findExecutable("ip") else {
            throw .tapUnavailable("tap networking needs iproute2's `ip`: apt-get install iproute2")
        }
        guard FileManager.default.fileExists(atPath: "/dev/net/tun") else {
            throw .tapUnavailable("tap networking needs /dev/net/tun")
        }
        self.ip = ip
        namespace = "skerry-\(tag)-\(UInt32.random(in: 0..<UInt32.max) % 100_000)"
        do {
            try run(["netns", "add", namespace])
            created = true
            try run(["-n", namespace, "link", "set", "lo", "up"])
            for role in InterfaceRole.allCases {
                let configuration = InterfaceConfiguration.standard(role)
                let bridge = TapNetwork.bridge(role)
                let tap = TapNetwork.tap(role)
                try run(["-n", namespace, "link", "add", bridge, "type", "bridge"])
                if let gateway = configuration.gateway {
                    try run(["-n", namespace, "addr", "add", "\(UserNetworks.text(gateway))/\(configuration.address.prefixLength)", "dev", bridge])
                }
                try run(["-n", namespace, "link", "set", bridge, "up"])
                try run(["-n", namespace, "tuntap", "add", "dev", tap, "mode", "tap"])
                try run(["-n", namespace, "link", "set", tap, "master", bridge])
                try run(["-n", namespace, "link", "set", tap, "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    public static func bridge(_ role: InterfaceRole) -> String { "br-\(role.name.description)" }
    public static func tap(_ role: InterfaceRole) -> String { "tap-\(role.name.description)" }

    /// The command that runs `executable` inside the namespace (it execs, so the PID is QEMU's).
    public func wrap(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        (ip, ["netns", "exec", namespace, executable] + arguments)
    }

    /// `-netdev tap` and `-device` arguments for the three NICs.
    public func qemuArguments(model: NICModel, macs: UserNetworks) -> [String] {
        InterfaceRole.allCases.flatMap { role -> [String] in
            let id = role.name.description
            return [
                "-netdev", "tap,id=\(id),ifname=\(TapNetwork.tap(role)),script=no,downscript=no",
                "-device", "\(model.qemuDevice),netdev=\(id),mac=\(UserNetworks.text(macs.mac(for: role))),romfile=",
            ]
        }
    }

    /// Deletes the namespace and everything in it. Idempotent.
    public func remove() {
        guard created else { return }
        created = false
        _ = try? CapturedRun.run(ip, ["netns", "del", namespace])
    }

    private func run(_ arguments: [String]) throws(BootSetupError) {
        let result: CapturedRun
        do {
            result = try CapturedRun.run(ip, arguments)
        } catch {
            throw .tapUnavailable("ip \(arguments.joined(separator: " ")): \(error)")
        }
        guard result.succeeded else {
            throw .tapUnavailable("ip \(arguments.joined(separator: " ")) failed: \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
