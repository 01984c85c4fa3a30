/// The keys of the kernel command line, each named once: `BootOptions`
/// reads them, and `LoaderCommandLine` tells them from an image path.
public enum BootOptionKey: CaseIterable, Sendable, Equatable {
    case panicTest
    case failTest
    case selfTest
    case shutdownAfter
    case heartbeat
    case defaultRoute
    /// `admin=`, `public=`, `private=`: a NIC role's configuration.
    case interface(InterfaceRole)

    public static var allCases: [BootOptionKey] {
        [.panicTest, .failTest, .selfTest, .shutdownAfter, .heartbeat, .defaultRoute]
            + InterfaceRole.allCases.map { .interface($0) }
    }

    /// The key as the command line spells it.
    public var name: StaticString {
        switch self {
        case .panicTest: return "panic-test"
        case .failTest: return "fail-test"
        case .selfTest: return "selftest"
        case .shutdownAfter: return "shutdown-after"
        case .heartbeat: return "heartbeat"
        case .defaultRoute: return "default-route"
        case .interface(let role): return role.name
        }
    }

    public init?(name: [UInt8]) {
        if let role = InterfaceRole(name: name) {
            self = .interface(role)
            return
        }
        guard let match = BootOptionKey.allCases.first(where: { name.matches($0.name) }) else { return nil }
        self = match
    }
}
