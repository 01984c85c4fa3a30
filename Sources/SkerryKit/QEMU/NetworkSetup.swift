import Foundation
import KernelCore
#if canImport(Glibc)
import Glibc
#endif

/// The NIC model QEMU emulates for all three interfaces.
public enum NICModel: String, CaseIterable, Sendable, Codable {
    case virtio
    case vmxnet3

    var qemuDevice: String {
        switch self {
        // Legacy-only virtio: the transport the kernel's driver speaks.
        case .virtio: return "virtio-net-pci,disable-modern=on"
        case .vmxnet3: return "vmxnet3"
        }
    }
}

/// A host port on 127.0.0.1 forwarded to a guest port on one NIC.
public struct PortForward: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Sendable, CaseIterable { case tcp, udp }

    public var role: InterfaceRole
    public var transport: Transport
    public var guestPort: UInt16
    /// 0 until resolved: then an unused port is chosen.
    public var hostPort: UInt16
    /// The `--forward` text this came from, quoted in errors about it; not part of its identity.
    public var argument: String?
    /// With `hostPort` 0: the port to take if it is free (else a free one);
    /// not part of its identity.
    public var preferredHostPort: UInt16?

    public init(role: InterfaceRole, transport: Transport, guestPort: UInt16, hostPort: UInt16 = 0,
                preferredHostPort: UInt16? = nil) {
        self.role = role
        self.transport = transport
        self.guestPort = guestPort
        self.hostPort = hostPort
        self.preferredHostPort = preferredHostPort
    }

    public static func == (lhs: PortForward, rhs: PortForward) -> Bool {
        lhs.role == rhs.role && lhs.transport == rhs.transport && lhs.guestPort == rhs.guestPort && lhs.hostPort == rhs.hostPort
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(role)
        hasher.combine(transport)
        hasher.combine(guestPort)
        hasher.combine(hostPort)
    }

    /// Forwards of the same guest port (role, protocol and port) reach the same service: one is enough.
    public func sameGuestPort(as other: PortForward) -> Bool {
        role == other.role && transport == other.transport && guestPort == other.guestPort
    }

    /// What the user wrote, or a description when skerry made it.
    public var quoted: String { argument.map { "--forward '\($0)'" } ?? description }

    /// Parses each `--forward` argument. Two for the same guest port are an
    /// error: skerry cannot tell which one was meant.
    public static func parse(arguments: [String]) throws(BootSetupError) -> [PortForward] {
        var parsed: [PortForward] = []
        for text in arguments {
            let forward = try PortForward(parsing: text)
            if let earlier = parsed.first(where: { $0.sameGuestPort(as: forward) }) {
                throw .duplicateForward(earlier.quoted, forward.quoted)
            }
            parsed.append(forward)
        }
        return parsed
    }

    /// `base` with each of `overrides` in place of a forward of the same guest port.
    public static func merge(_ base: [PortForward], overriddenBy overrides: [PortForward]) -> [PortForward] {
        var merged = base
        for forward in overrides {
            merged.removeAll { $0.sameGuestPort(as: forward) }
            merged.append(forward)
        }
        return merged
    }

    /// `ROLE:PROTO:GUEST[:HOST]`, e.g. `admin:udp:7` or `public:tcp:80:8080`.
    public init(parsing text: String) throws(BootSetupError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 || parts.count == 4 else {
            throw .badForward(text, "expected ROLE:PROTO:GUEST[:HOST]")
        }
        guard let role = InterfaceRole(name: Array(parts[0].utf8)), role != .private else {
            throw .badForward(text, "ROLE must be admin or public")
        }
        guard let transport = Transport(rawValue: parts[1]) else { throw .badForward(text, "PROTO must be tcp or udp") }
        guard let guest = UInt16(parts[2]), guest > 0 else { throw .badForward(text, "GUEST must be a port 1-65535") }
        var host: UInt16 = 0
        if parts.count == 4 {
            guard let parsed = UInt16(parts[3]), parsed > 0 else { throw .badForward(text, "HOST must be a port 1-65535") }
            host = parsed
        }
        self.init(role: role, transport: transport, guestPort: guest, hostPort: host)
        argument = text
    }

    public var description: String {
        "\(role.name.description) \(transport.rawValue)/\(guestPort) at 127.0.0.1:\(hostPort)"
    }
}

/// The three user-mode networks of one VM: addresses from the kernel's
/// standard interface configuration, so host and guest agree by construction.
public struct UserNetworks: Sendable {
    public var model: NICModel
    public var forwards: [PortForward]
    /// MACs an appliance or an OVA pins, by role; the rest get `mac(_:)`.
    public var macs: [InterfaceRole: MACAddress]

    public init(model: NICModel, forwards: [PortForward], macs: [InterfaceRole: MACAddress] = [:]) {
        self.model = model
        self.forwards = forwards
        self.macs = macs
    }

    /// The MAC of `role`'s NIC: the pinned one, so the kernel finds it, or QEMU's customary one.
    public func mac(for role: InterfaceRole) -> MACAddress { macs[role] ?? UserNetworks.mac(role) }

    /// The `-netdev`/`-device` arguments.
    ///
    /// Public and admin run with `restrict=on` so the guest cannot open
    /// connections to the host, except where a UDP forward is needed:
    /// libslirp's restrict mode drops every UDP datagram the guest sends,
    /// replies to a host forward included. TCP forwards work restricted.
    public var arguments: [String] {
        var arguments: [String] = []
        for role in InterfaceRole.allCases {
            let configuration = InterfaceConfiguration.standard(role)
            let id = role.name.description
            var netdev = "user,id=\(id),ipv6=off,net=\(UserNetworks.text(configuration.address.network))/\(configuration.address.prefixLength)"
            if let gateway = configuration.gateway { netdev += ",host=\(UserNetworks.text(gateway))" }
            let roleForwards = forwards.filter { $0.role == role }
            let restricted = role != .private && !roleForwards.contains { $0.transport == .udp }
            netdev += restricted ? ",restrict=on" : ",restrict=off"
            for forward in roleForwards {
                netdev += ",hostfwd=\(forward.transport.rawValue):127.0.0.1:\(forward.hostPort)-\(UserNetworks.text(configuration.address.address)):\(forward.guestPort)"
            }
            arguments += ["-netdev", netdev]
            arguments += ["-device", "\(model.qemuDevice),netdev=\(id),mac=\(UserNetworks.text(mac(for: role))),romfile="]
        }
        return arguments
    }

    /// QEMU's customary MACs, one per role in PCI order.
    public static func mac(_ role: InterfaceRole) -> MACAddress {
        MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + UInt8(role.rawValue))
    }

    static func text(_ address: IPv4Address) -> String {
        var sink = ByteText()
        address.write(to: &sink)
        return String(decoding: sink.bytes, as: UTF8.self)
    }

    static func text(_ address: MACAddress) -> String {
        var sink = ByteText()
        address.write(to: &sink)
        return String(decoding: sink.bytes, as: UTF8.self)
    }

    /// Gives every forward a host port. Ports given explicitly must be free
    /// (an error quoting the `--forward` otherwise); a preferred port is
    /// taken when free and not claimed by another skerry, else a free port
    /// replaces it and a note says so; the rest get free ports, a forward
    /// whose guest port is also forwarded over the other protocol trying
    /// that one's number first. Two forwards of one guest port are refused.
    /// Returns the notes.
    @discardableResult
    public mutating func resolvePorts() throws(BootSetupError) -> [String] {
        for index in forwards.indices {
            if let earlier = forwards[..<index].first(where: { $0.sameGuestPort(as: forwards[index]) }) {
                throw .duplicateForward(earlier.quoted, forwards[index].quoted)
            }
        }
        func taken(_ port: UInt16, _ transport: PortForward.Transport, except index: Int) -> Bool {
            forwards.indices.contains { $0 != index && forwards[$0].transport == transport && forwards[$0].hostPort == port }
        }
        for index in forwards.indices where forwards[index].hostPort != 0 {
            let forward = forwards[index]
            if let earlier = forwards[..<index].first(where: { $0.transport == forward.transport && $0.hostPort == forward.hostPort }) {
                throw .badForward(forward.argument ?? forward.description,
                                  "127.0.0.1:\(forward.hostPort)/\(forward.transport.rawValue) is also the host port of \(earlier.quoted)")
            }
            if !HostPorts.isFree(forward.hostPort, forward.transport) {
                throw .portInUse(forward.transport.rawValue, forward.hostPort, argument: forward.argument)
            }
        }
        var notes: [String] = []
        for index in forwards.indices where forwards[index].hostPort == 0 {
            let forward = forwards[index]
            guard let preferred = forward.preferredHostPort else { continue }
            if !taken(preferred, forward.transport, except: index), HostPorts.claim(preferred, forward.transport) {
                forwards[index].hostPort = preferred
            } else {
                forwards[index].hostPort = try freePort(for: index)
                notes.append("127.0.0.1:\(preferred)/\(forward.transport.rawValue) is taken; \(forwards[index])")
            }
        }
        for index in forwards.indices where forwards[index].hostPort == 0 {
            let forward = forwards[index]
            let twin = forwards.first {
                $0.role == forward.role && $0.guestPort == forward.guestPort && $0.transport != forward.transport && $0.hostPort != 0
            }
            if let twin, !taken(twin.hostPort, forward.transport, except: index), HostPorts.isFree(twin.hostPort, forward.transport) {
                forwards[index].hostPort = twin.hostPort
            } else {
                forwards[index].hostPort = try freePort(for: index)
            }
        }
        return notes
    }

    /// A free port of the forward's protocol that no other forward has.
    private func freePort(for index: Int) throws(BootSetupError) -> UInt16 {
        let transport = forwards[index].transport
        // The kernel may hand back a port it gave an earlier forward (each
        // probe releases its port): ask again until it differs.
        let chosen = Set(forwards.filter { $0.transport == transport && $0.hostPort != 0 }.map(\.hostPort))
        var port = try HostPorts.free(transport)
        for _ in 0..<50 where chosen.contains(port) { port = try HostPorts.free(transport) }
        return port
    }
}

/// Loopback port probing.
enum HostPorts {
    /// Binds 127.0.0.1:port; returns the bound port, or nil when refused.
    static func bind(_ port: UInt16, _ transport: PortForward.Transport) -> UInt16? {
        let fd = socket(AF_INET, Int32(transport == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if transport == .tcp {
            // As QEMU's forwards do: a port a previous VM used, still in TIME_WAIT, is free.
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    static func isFree(_ port: UInt16, _ transport: PortForward.Transport) -> Bool { bind(port, transport) != nil }

    /// Claims a preferred port for this process's life and checks it free.
    /// The claim is a lock file, so concurrent skerry processes never both
    /// hand one port to their QEMUs; a process that dies drops its claims.
    static func claim(_ port: UInt16, _ transport: PortForward.Transport) -> Bool {
        claimLock.lock()
        defer { claimLock.unlock() }
        let key = "\(transport.rawValue)-\(port)"
        if claims[key] == nil {
            let path = NSTemporaryDirectory() + "/skerry-port-\(key).lock"
            let fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return isFree(port, transport) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                return false
            }
            claims[key] = fd
        }
        return isFree(port, transport)
    }

    nonisolated(unsafe) private static var claims: [String: Int32] = [:]
    private static let claimLock = NSLock()

    static func free(_ transport: PortForward.Transport) throws(BootSetupError) -> UInt16 {
        guard let port = bind(0, transport) else { throw .portInUse(transport.rawValue, 0, argument: nil) }
        return port
    }
}
