/// One of the six default-policy slots: a direction through an interface
/// role. Its `index` orders the firewall's policies and policy counters and
/// is the generated classifier's first level of dispatch; its `name` is how
/// every front end prints it.
public enum PolicyKey: Int, Sendable, NamedCase {
    case inboundAdmin = 0
    case inboundPublic = 1
    case inboundPrivate = 2
    case outboundAdmin = 3
    case outboundPublic = 4
    case outboundPrivate = 5

    @inline(__always)
    public init(_ direction: TrafficDirection, _ role: InterfaceRole) {
        self.init(rawValue: PolicyKey.index(direction, role))!
    }

    /// The slot of `direction` through `role`: inbound slots first, then
    /// outbound, each in `InterfaceRole` order. Plain arithmetic, for the
    /// classifier's per-packet dispatch.
    @inline(__always)
    public static func index(_ direction: TrafficDirection, _ role: InterfaceRole) -> Int {
        Int(direction.rawValue) * rolesPerDirection + role.rawValue
    }

    private static let rolesPerDirection = 3

    /// The position of this slot, 0..<6.
    @inline(__always)
    public var index: Int { rawValue }

    public var direction: TrafficDirection { TrafficDirection(rawValue: UInt8(rawValue / PolicyKey.rolesPerDirection))! }
    public var role: InterfaceRole { InterfaceRole(rawValue: rawValue % PolicyKey.rolesPerDirection)! }

    public var name: StaticString {
        switch self {
        case .inboundAdmin: "in admin"
        case .inboundPublic: "in public"
        case .inboundPrivate: "in private"
        case .outboundAdmin: "out admin"
        case .outboundPublic: "out public"
        case .outboundPrivate: "out private"
        }
    }
}
