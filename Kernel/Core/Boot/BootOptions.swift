/// A deliberate fault for testing the panic path end to end.
public enum PanicTest: CaseIterable, Sendable {
    case pageFault
    case divideError
    case generalProtection
    case breakpoint
    case overflow
    case fatalError
    case precondition
    case doubleFree
    case outOfMemory

    /// The name used on the command line: `panic-test=<name>`.
    public var name: StaticString {
        switch self {
        case .pageFault: return "page-fault"
        case .divideError: return "divide-error"
        case .generalProtection: return "general-protection"
        case .breakpoint: return "breakpoint"
        case .overflow: return "overflow"
        case .fatalError: return "fatal-error"
        case .precondition: return "precondition"
        case .doubleFree: return "double-free"
        case .outOfMemory: return "out-of-memory"
        }
    }

    public init?(name: [UInt8]) {
        guard let match = PanicTest.allCases.first(where: { name.matches($0.name) }) else { return nil }
        self = match
    }
}

/// What the kernel command line asks of this boot. Everything here can be
/// chosen per boot, so tests select behaviour without rebuilding the image.
public struct BootOptions {
    /// A problem with one argument; reported on the console, never fatal.
    public struct Problem {
        public enum Kind: Sendable { case unknownArgument, badValue, missingValue }
        public var kind: Kind
        public var argument: [UInt8]
    }

    /// `panic-test=<kind>`: fault on purpose once the kernel is up.
    public var panicTest: PanicTest?
    /// `fail-test`: report a kernel failure on purpose.
    public var failTest = false
    /// `shutdown-after=<ms>`: shut down cleanly this long after `ready` (0: at once).
    public var shutdownAfter: Interval?
    /// `heartbeat=<ms>`: print a status line this often (0: never).
    public var heartbeat: Interval?
    /// `selftest`: exercise the heap and timers on the real machine before `ready`.
    public var selfTest = false
    /// `admin=`, `public=`, `private=`: `ADDRESS/PREFIX[,gw=GATEWAY][,mac=MAC]` per NIC role.
    public var interfaces: [InterfaceConfiguration] = InterfaceRole.allCases.map { InterfaceConfiguration.standard($0) }
    /// `default-route=ROLE`: the interface whose gateway takes off-network traffic.
    public var defaultRoute: InterfaceRole = .public
    public private(set) var problems: [Problem] = []

    /// `defaults` are the NICs the image was built with (its appliance file).
    public init(_ arguments: KernelArguments, interfaces defaults: [InterfaceConfiguration]? = nil) {
        if let defaults, defaults.count == InterfaceRole.allCases.count { interfaces = defaults }
        for argument in arguments.arguments {
            guard let key = BootOptionKey(name: argument.key) else {
                reject(argument, .unknownArgument)
                continue
            }
            switch key {
            case .panicTest:
                guard let value = required(argument) else { continue }
                if let test = PanicTest(name: value) { panicTest = test } else { reject(argument, .badValue) }
            case .failTest:
                failTest = true
            case .selfTest:
                selfTest = true
            case .shutdownAfter:
                shutdownAfter = milliseconds(argument)
            case .heartbeat:
                heartbeat = milliseconds(argument)
            case .interface(let role):
                guard let value = required(argument) else { continue }
                if let configuration = InterfaceConfiguration(role: role, text: value) {
                    interfaces[role.rawValue] = configuration
                } else {
                    reject(argument, .badValue)
                }
            case .defaultRoute:
                guard let value = required(argument) else { continue }
                if let role = InterfaceRole(name: value) { defaultRoute = role } else { reject(argument, .badValue) }
            }
        }
    }

    private mutating func required(_ argument: KernelArguments.Argument) -> [UInt8]? {
        guard let value = argument.value, !value.isEmpty else {
            reject(argument, .missingValue)
            return nil
        }
        return value
    }

    private mutating func milliseconds(_ argument: KernelArguments.Argument) -> Interval? {
        guard let value = required(argument) else { return nil }
        guard let number = value.decimalValue, number <= 86_400_000 else {
            reject(argument, .badValue)
            return nil
        }
        return .milliseconds(number)
    }

    private mutating func reject(_ argument: KernelArguments.Argument, _ kind: Problem.Kind) {
        var text = argument.key
        if let value = argument.value {
            text.append(0x3D)
            text.append(contentsOf: value)
        }
        problems.append(Problem(kind: kind, argument: text))
    }
}
