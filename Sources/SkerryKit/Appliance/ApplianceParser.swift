import Foundation
import KernelCore

/// Reads the appliance language (docs/appliance.md) into an
/// `ApplianceDescription`, reporting every problem with its position.
public struct ApplianceParser {
    let lexer: ConfigLexer
    private var tokens: [ConfigToken] = []
    private var position = 0
    private var problems: [ConfigDiagnostic] = []
    private var description = ApplianceDescription()
    private var sawAdmin = false
    /// Each service's `port` value, where a port two services share is reported.
    private var portTokens: [String: ConfigToken] = [:]
    /// Backends' ADDRESS:PORT, checked against the private network once every NIC is read.
    private var backendTargets: [(address: IPv4Address, token: ConfigToken)] = []

    public init(file: String, text: String) {
        lexer = ConfigLexer(file: file, text: text)
    }

    /// Parses and validates; throws all problems found, in order, when one
    /// is an error (`ApplianceCheck` keeps the warnings of a valid file).
    public static func parse(file: String, text: String) throws(ConfigErrors) -> ApplianceDescription {
        let (description, problems) = check(file: file, text: text)
        if problems.contains(where: { $0.severity == .error }) { throw ConfigErrors(diagnostics: problems) }
        return description
    }

    /// Reads `path`, or throws one diagnostic saying why it cannot.
    public static func load(_ path: String) throws(ConfigErrors) -> ApplianceDescription {
        try parse(file: path, text: ConfigDiagnostic.readSource(path))
    }

    /// Everything that could be read, and every problem found, in file order.
    static func check(file: String, text: String) -> (ApplianceDescription, [ConfigDiagnostic]) {
        var parser = ApplianceParser(file: file, text: text)
        return parser.run()
    }

    mutating func run() -> (ApplianceDescription, [ConfigDiagnostic]) {
        description.source = lexer.file
        do {
            tokens = try lexer.tokens()
        } catch {
            return (description, error.diagnostics)
        }
        var sawName = false
        // Past the error limit the rest is not read: a file of garbage costs no more than a short one.
        while problems.count <= ConfigDiagnostic.errorLimit, let token = next() {
            switch token.kind {
            case .newline:
                continue
            case .word where token.text == "appliance":
                if sawName { report(token, "the appliance is named twice") }
                sawName = true
                if let name = expectName(after: token, what: "an appliance name") { description.name = name.text }
                endOfStatement()
            case .word where token.text == "nic":
                parseNIC(token)
            case .word where token.text == "service":
                parseService(token)
            case .word where token.text == "firewall":
                parseFirewall(token)
            case .word where token.text == "admin":
                parseAdmin(token)
            default:
                let hint = token.kind == .word ? Vocabulary.suggestion(for: token.text, in: Self.statements) : ""
                report(token, "expected 'appliance', 'nic', 'service', 'firewall' or 'admin', found \(show(token))\(hint)")
                skipLine()
            }
        }
        if !sawName { report(line: 1, column: 1, "missing 'appliance NAME'") }
        if description.services.isEmpty && problems.isEmpty { report(line: 1, column: 1, "no 'service' is defined") }
        var ports: [UInt16: String] = [:]
        for service in description.services where service.port != 0 {
            if let other = ports[service.port], let token = portTokens[service.name] {
                report(token, "services '\(other)' and '\(service.name)' both use port \(service.port)")
            }
            ports[service.port] = service.name
        }
        let privateNetwork = description.interfaces[InterfaceRole.private.rawValue].address
        for (address, token) in backendTargets where !privateNetwork.contains(address) {
            report(token, "backend \(token.text.split(separator: ":")[0]) is not on the private network")
        }
        return (description, ConfigDiagnostic.inFileOrder(problems))
    }

    static let statements = ["appliance", "nic", "service", "firewall", "admin"]
    static let nicSettings = ["address", "gateway", "mac"]
    static let adminSettings = ["telemetry-port", "token"]
    static let serviceSettings = [
        "port", "algorithm", "max-connections", "health-check", "timeout", "backend", "retries", "connect-timeout",
        "slow-start", "error-limit", "on-error",
    ]
    static let healthKinds = ["http", "tcp"]
    static let healthSettings = healthKinds + ["expect", "interval", "timeout", "rise", "fall"]
    static let backendSettings = ["weight", "max-connections", "backup"]
    /// The requests an HTTP check may send: neither has a body.
    static let httpMethods = ["GET", "HEAD"]
    static let httpStatuses = 100...599
    /// The longest HTTP check path, so the request fits one segment.
    static let longestHTTPPath = 200
    static let retryRange = 0...16
    static let connectTimeoutRange = Interval.milliseconds(10)...Interval.seconds(60)
    static let slowStartRange = Interval.zero...Interval.seconds(3600)
    static let errorLimitRange = 0...1000
    static var passiveActions: [String] { PassiveHealthAction.allCases.map { "\($0.name)" } }
    /// The `timeout STATE` names and the timeouts they set.
    static var flowStates: [(name: String, field: WritableKeyPath<ConnectionTracker.Timeouts, Interval>)] {
        [("syn", \.syn), ("established", \.established), ("fin", \.fin), ("closing", \.closing), ("closed", \.closed)]
    }
    static var roles: [String] { InterfaceRole.allCases.map { "\($0.name)" } }

    // MARK: Statements

    private mutating func parseNIC(_ keyword: ConfigToken) {
        guard let roleToken = expectWord(after: keyword, what: "a NIC role (admin, public or private)") else { return skipLine() }
        guard let role = InterfaceRole(name: Array(roleToken.text.utf8)) else {
            report(roleToken, Vocabulary.unknown("NIC role", roleToken.text, expected: Self.roles))
            return skipLine()
        }
        var configuration = InterfaceConfiguration.standard(role)
        var sawAddress = false
        var gatewayToken: ConfigToken?
        while let token = peek(), token.kind == .word {
            position += 1
            guard let value = expectWord(after: token, what: "a value for '\(token.text)'") else { return skipLine() }
            switch token.text {
            case "address":
                guard let address = IPv4Interface(text: Array(value.text.utf8)) else {
                    report(value, "'\(value.text)' is not an address with a prefix, like 10.0.2.15/24")
                    continue
                }
                configuration.address = address
                sawAddress = true
            case "gateway":
                guard let gateway = IPv4Address(text: Array(value.text.utf8)) else {
                    report(value, "'\(value.text)' is not an IPv4 address")
                    continue
                }
                configuration.gateway = gateway
                gatewayToken = value
            case "mac":
                guard let mac = MACAddress(text: Array(value.text.utf8)) else {
                    report(value, "'\(value.text)' is not a MAC address, like 52:54:00:12:34:56")
                    continue
                }
                configuration.hardware = mac
            default:
                report(token, Vocabulary.unknown("NIC setting", token.text, expected: Self.nicSettings))
            }
        }
        if !sawAddress { report(keyword, "nic \(roleToken.text) needs an 'address'") }
        if let gateway = configuration.gateway, !configuration.address.contains(gateway) {
            report(gatewayToken ?? keyword, "the \(roleToken.text) gateway is outside its network "
                + "\(RuleLiteral.dotted(configuration.address.network.value))/\(configuration.address.prefixLength)")
        }
        description.interfaces[role.rawValue] = configuration
        endOfStatement()
    }

    private mutating func parseAdmin(_ keyword: ConfigToken) {
        if sawAdmin { report(keyword, "the admin settings are given twice") }
        sawAdmin = true
        guard let open = next(), open.kind == .open else {
            report(keyword, "expected '{' after 'admin'")
            return skipBlock()
        }
        var closed = false
        while let token = next() {
            if token.kind == .newline { continue }
            if token.kind == .close {
                closed = true
                break
            }
            guard token.kind == .word else {
                report(token, "expected an admin setting, found \(show(token))")
                skipLine()
                continue
            }
            switch token.text {
            case "telemetry-port":
                if let port = expectPort(after: token) {
                    if let service = ApplianceDescription.adminServicePorts[port] {
                        report(line: token.line, column: token.column + token.text.count + 1,
                               "port \(port) is the admin NIC's \(service) service")
                    } else {
                        description.telemetryPort = port
                    }
                }
                endOfStatement()
            case "token":
                if let value = expectWord(after: token, what: "the admin token") {
                    let printable = value.text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
                    if value.text.count < 16 || !printable {
                        report(value, "the admin token needs at least 16 printable characters, without spaces")
                    } else {
                        description.adminToken = value.text
                    }
                }
                endOfStatement()
            default:
                report(token, Vocabulary.unknown("admin setting", token.text, expected: Self.adminSettings))
                skipLine()
            }
        }
        if !closed { report(open, "this '{' is never closed") }
    }

    private mutating func parseFirewall(_ keyword: ConfigToken) {
        guard let path = expectWord(after: keyword, what: "the path of a rule file") else { return skipLine() }
        if description.firewallRules != nil { report(keyword, "the firewall rule file is given twice") }
        // Beside the appliance file, written the way its path was, so diagnostics name both alike.
        let directory = (lexer.file as NSString).deletingLastPathComponent
        let resolved = path.text.hasPrefix("/") || directory.isEmpty
            ? path.text : ((directory as NSString).appendingPathComponent(path.text) as NSString).standardizingPath
        if let problem = SourceFile.problem(resolved) {
            report(path, "cannot read the rule file '\(path.text)': \(problem) (looked for \(resolved))")
        }
        description.firewallRules = resolved
        endOfStatement()
    }

    private mutating func parseService(_ keyword: ConfigToken) {
        guard let name = expectName(after: keyword, what: "a service name") else { return skipBlock() }
        if description.services.contains(where: { $0.name == name.text }) { report(name, "service '\(name.text)' is defined twice") }
        var service = ApplianceDescription.Service(name: name.text)
        guard let open = next(), open.kind == .open else {
            report(name, "expected '{' after the service name")
            return skipBlock()
        }
        var closed = false
        var sawPort = false
        var health = HealthTokens()
        var failover = FailoverWarnings.Tokens(name: name)
        while let token = next() {
            if token.kind == .newline { continue }
            if token.kind == .close {
                closed = true
                break
            }
            guard token.kind == .word else {
                report(token, "expected a service setting, found \(show(token))")
                skipLine()
                continue
            }
            switch token.text {
            case "port":
                sawPort = true
                let value = peek()
                if let port = expectPort(after: token), let value {
                    service.port = port
                    service.portLocation = ConfigLocation(file: lexer.file, line: value.line, column: value.column)
                    portTokens[service.name] = value
                }
                endOfStatement()
            case "algorithm":
                if let algorithm = expectCase(after: token, what: "an algorithm", kind: "algorithm", name: \BalancingAlgorithm.name) {
                    service.algorithm = algorithm
                }
                endOfStatement()
            case "max-connections":
                if let count = expectNumber(after: token, range: 1...1_000_000) { service.maximumConnections = count }
                endOfStatement()
            case "health-check":
                parseHealth(token, into: &service, tokens: &health)
            case "timeout":
                if let state = expectWord(after: token, what: "a flow state (syn, established, fin, closing or closed)"),
                    let duration = expectDuration(after: state)
                {
                    if let field = Self.flowStates.first(where: { $0.name == state.text })?.field {
                        service.timeouts[keyPath: field] = duration
                        if state.text == "syn" { failover.synTimeout = state }
                    } else {
                        report(state, Vocabulary.unknown("flow state", state.text, expected: Self.flowStates.map(\.name)))
                    }
                }
                endOfStatement()
            case "backend":
                parseBackend(token, into: &service, tooMany: &failover.tooManyBackends)
            case "retries":
                failover.retries = peek()
                if let count = expectNumber(after: token, range: Self.retryRange) { service.retries = count }
                endOfStatement()
            case "connect-timeout":
                failover.connectTimeout = peek()
                if let value = expectDuration(after: token, within: Self.connectTimeoutRange) { service.connectTimeout = value }
                endOfStatement()
            case "slow-start":
                if let value = expectDuration(after: token, within: Self.slowStartRange) { service.slowStart = value }
                endOfStatement()
            case "error-limit":
                if let count = expectNumber(after: token, range: Self.errorLimitRange) { service.errorLimit = count }
                endOfStatement()
            case "on-error":
                if let action = expectCase(after: token, what: "what a backend's connect failures do (\(Vocabulary.spoken(Self.passiveActions)))",
                                           kind: "on-error action", name: \PassiveHealthAction.name) {
                    service.onError = action
                }
                endOfStatement()
            default:
                report(token, Vocabulary.unknown("service setting", token.text, expected: Self.serviceSettings))
                skipLine()
            }
        }
        if !closed { report(open, "this '{' is never closed") }
        if !sawPort { report(name, "service '\(name.text)' needs a 'port'") }
        if service.backends.isEmpty { report(name, "service '\(name.text)' has no 'backend'") }
        if service.healthTimeout >= service.healthInterval {
            // The timeout is what a check waits, so it is the setting to change; a default one is not written, so
            // then the interval is.
            let culprit = health.timeout ?? health.interval
            let timeout = health.timeout == nil ? "\(Self.duration(service.healthTimeout)) (the default)" : Self.duration(service.healthTimeout)
            let interval = health.interval == nil ? "\(Self.duration(service.healthInterval)) (the default)" : Self.duration(service.healthInterval)
            report(culprit ?? name,
                   "service '\(name.text)': the health-check timeout \(timeout) must be shorter than its interval \(interval)")
        }
        for (token, message) in FailoverWarnings.warnings(service, failover) { warn(token, message) }
        description.services.append(service)
    }

    /// Where a service's health-check interval, timeout and kind are written.
    private struct HealthTokens {
        var interval: ConfigToken?
        var timeout: ConfigToken?
        var kind: ConfigToken?
    }

    private mutating func parseHealth(
        _ keyword: ConfigToken, into service: inout ApplianceDescription.Service, tokens health: inout HealthTokens
    ) {
        var any = false
        while let token = peek(), token.kind == .word {
            position += 1
            any = true
            switch token.text {
            case "http", "tcp":
                if let earlier = health.kind, earlier.text != token.text {
                    report(token, "service '\(service.name)' has both \(earlier.text) and \(token.text) health checks; choose one")
                }
                health.kind = token
                service.httpCheck = token.text == "http" ? parseHTTPCheck(after: token) : nil
            case "expect":
                guard let value = expectWord(after: token, what: "a status like 200 or a range like 200-399") else { continue }
                guard health.kind?.text == "http" else {
                    report(token, "'expect' is for an HTTP check: health-check http METHOD PATH expect STATUS")
                    continue
                }
                if let range = httpStatus(value) { service.httpCheck?.expectedStatus = range }
            case "interval":
                if let value = expectDuration(after: token) {
                    service.healthInterval = value
                    health.interval = token
                }
            case "timeout":
                if let value = expectDuration(after: token) {
                    service.healthTimeout = value
                    health.timeout = token
                }
            case "rise":
                if let value = expectNumber(after: token, range: 1...100) { service.rise = value }
            case "fall":
                if let value = expectNumber(after: token, range: 1...100) { service.fall = value }
            default:
                report(token, Vocabulary.unknown("health-check setting", token.text, expected: Self.healthSettings))
                _ = next()
            }
        }
        if !any { report(keyword, "health-check needs http, tcp or at least one of interval, timeout, rise, fall") }
        endOfStatement()
    }

    /// `METHOD PATH` after `health-check http`; nil when either is wrong
    /// (reported). The path goes into the request line as written.
    private mutating func parseHTTPCheck(after keyword: ConfigToken) -> ApplianceDescription.HTTPCheck? {
        guard let method = expectWord(after: keyword, what: "an HTTP method (\(Vocabulary.spoken(Self.httpMethods)))") else { return nil }
        var valid = true
        if !Self.httpMethods.contains(method.text) {
            report(method, Vocabulary.unknown("HTTP method", method.text, expected: Self.httpMethods))
            valid = false
        }
        guard let path = expectWord(after: method, what: "the path to request, like /health") else { return nil }
        if path.text.utf8.count > Self.longestHTTPPath {
            // Not quoted: a hostile path may be megabytes long.
            report(path, "the health-check path is longer than \(Self.longestHTTPPath) characters")
            valid = false
        } else if !Self.isHTTPPath(path.text) {
            report(path, "'\(path.text)' is not a path: it starts with '/' and has only printable ASCII, without spaces or quotes")
            valid = false
        }
        return valid ? ApplianceDescription.HTTPCheck(method: method.text, path: path.text) : nil
    }

    static func isHTTPPath(_ text: String) -> Bool {
        text.utf8.first == UInt8(ascii: "/")
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "'") }
    }

    /// `200` or `200-399`, each from 100 to 599, the low end first.
    private mutating func httpStatus(_ token: ConfigToken) -> ClosedRange<Int>? {
        let parts = token.text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let statuses = parts.compactMap { part in Int(part).flatMap { Self.httpStatuses.contains($0) ? $0 : nil } }
        guard statuses.count == parts.count else {
            report(token, "'\(token.text)' is not an HTTP status from \(Self.httpStatuses.lowerBound) to "
                + "\(Self.httpStatuses.upperBound) or a range of them like 200-399")
            return nil
        }
        guard let low = statuses.first, let high = statuses.last, low <= high else {
            report(token, "'\(token.text)' is not a status range: \(statuses[0]) is above \(statuses[1])")
            return nil
        }
        return low...high
    }

    private mutating func parseBackend(_ keyword: ConfigToken, into service: inout ApplianceDescription.Service, tooMany: inout Bool) {
        guard service.backends.count < ApplianceDescription.maximumBackends else {
            // Said once, at the first backend too many; the rest are not read, so a huge pool costs no more.
            if !tooMany {
                report(keyword, "service '\(service.name)' has more than \(ApplianceDescription.maximumBackends) backends: "
                    + "the balancer marks the backends a connection has tried in a \(ApplianceDescription.maximumBackends)-bit mask")
            }
            tooMany = true
            return skipLine()
        }
        guard let name = expectName(after: keyword, what: "a backend name") else { return skipLine() }
        guard let target = expectWord(after: name, what: "the backend's ADDRESS:PORT") else { return skipLine() }
        let parts = target.text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(text: Array(parts[0].utf8)), let port = UInt16(parts[1]), port > 0 else {
            report(target, "'\(target.text)' is not ADDRESS:PORT, like 10.0.3.2:8081")
            return skipLine()
        }
        backendTargets.append((address, target))
        if service.backends.contains(where: { $0.name == name.text }) {
            report(name, "backend '\(name.text)' is defined twice in service '\(service.name)'")
        }
        var backend = ApplianceDescription.Backend(name: name.text, address: address, port: port)
        while let token = peek(), token.kind == .word {
            position += 1
            switch token.text {
            case "weight":
                if let value = expectNumber(after: token, range: 1...1000) { backend.weight = value }
            case "max-connections":
                if let value = expectNumber(after: token, range: 1...1_000_000) { backend.maximumConnections = value }
            case "backup":
                backend.backup = true
            default:
                report(token, Vocabulary.unknown("backend setting", token.text, expected: Self.backendSettings))
                _ = next()
            }
        }
        service.backends.append(backend)
        endOfStatement()
    }

    // MARK: Values

    /// The case of a core enum the next word names, or nil: a missing word
    /// is reported as `what`, an unknown one as an unknown `kind` with every
    /// case's name.
    private mutating func expectCase<Case: CaseIterable>(after previous: ConfigToken, what: String, kind: String,
                                                         name: KeyPath<Case, StaticString>) -> Case? {
        guard let value = expectWord(after: previous, what: what) else { return nil }
        if let match = Case.allCases.first(where: { "\($0[keyPath: name])" == value.text }) { return match }
        report(value, Vocabulary.unknown(kind, value.text, expected: Case.allCases.map { "\($0[keyPath: name])" }))
        return nil
    }

    private mutating func expectWord(after previous: ConfigToken, what: String) -> ConfigToken? {
        guard let token = peek(), token.kind == .word || token.kind == .string else {
            report(line: previous.line, column: previous.column + previous.text.count + 1, "expected \(what)")
            return nil
        }
        position += 1
        return token
    }

    private mutating func expectName(after previous: ConfigToken, what: String) -> ConfigToken? {
        guard let token = expectWord(after: previous, what: what) else { return nil }
        let valid = !token.text.isEmpty && token.text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
            && token.text.count <= 32 && token.text.first?.isLetter == true
        if !valid { report(token, "'\(token.text)' is not a name (letters, digits, - and _, starting with a letter, at most 32)") }
        return token
    }

    private mutating func expectNumber(after previous: ConfigToken, range: ClosedRange<Int>) -> Int? {
        guard let token = expectWord(after: previous, what: "a number") else { return nil }
        guard let value = Int(token.text), range.contains(value) else {
            report(token, "'\(token.text)' is not a number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    private mutating func expectPort(after previous: ConfigToken) -> UInt16? {
        expectNumber(after: previous, range: 1...65535).map { UInt16($0) }
    }

    /// `500ms`, `2s`, `1m`, at most an hour.
    private mutating func expectDuration(after previous: ConfigToken) -> Interval? {
        guard let token = expectWord(after: previous, what: "a duration like 500ms or 2s") else { return nil }
        guard let value = Self.duration(token.text), value > .zero else {
            report(token, "'\(token.text)' is not a duration like 500ms, 2s or 1m (at most an hour)")
            return nil
        }
        return value
    }

    /// A duration within `range`; `0` alone is one where the range starts at zero.
    private mutating func expectDuration(after previous: ConfigToken, within range: ClosedRange<Interval>) -> Interval? {
        guard let token = expectWord(after: previous, what: "a duration like 500ms or 2s") else { return nil }
        guard let value = Self.duration(token.text), range.contains(value) else {
            let low = range.lowerBound == .zero ? "0" : Self.duration(range.lowerBound)
            report(token, "'\(token.text)' is not a duration from \(low) to \(Self.duration(range.upperBound)), like 500ms or 2s")
            return nil
        }
        return value
    }

    /// The interval `text` writes (`0`, `500ms`, `2s`, `1m`), up to an hour;
    /// nil for anything else. A huge number is no duration, not an overflow.
    static func duration(_ text: String) -> Interval? {
        if text == "0" { return .zero }
        let hour: UInt64 = 3_600_000_000_000
        let units: [(String, UInt64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = UInt64(text.dropLast(suffix.count)), number <= hour / scale {
                return Interval(nanoseconds: number * scale)
            }
        }
        return nil
    }

    /// `500ms`, `2s` or `1m`, as the file writes durations.
    static func duration(_ interval: Interval) -> String {
        let milliseconds = interval.milliseconds
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    // MARK: Tokens and recovery

    private func peek() -> ConfigToken? { position < tokens.count ? tokens[position] : nil }

    private mutating func next() -> ConfigToken? {
        guard position < tokens.count else { return nil }
        defer { position += 1 }
        return tokens[position]
    }

    /// Anything left on the line is a mistake; report it once and move on.
    private mutating func endOfStatement() {
        guard let token = peek() else { return }
        if token.kind == .newline || token.kind == .close { return }
        report(token, "unexpected \(show(token)) at the end of the statement")
        skipLine()
    }

    private mutating func skipLine() {
        while let token = peek(), token.kind != .newline, token.kind != .close { position += 1 }
    }

    private mutating func skipBlock() {
        var depth = 0
        while let token = next() {
            if token.kind == .open { depth += 1 }
            if token.kind == .close {
                depth -= 1
                if depth <= 0 { return }
            }
            if token.kind == .newline && depth == 0 { return }
        }
    }

    private func show(_ token: ConfigToken) -> String {
        switch token.kind {
        case .newline: return "the end of the line"
        case .open: return "'{'"
        case .close: return "'}'"
        case .string: return "\"\(token.text)\""
        case .word: return "'\(token.text)'"
        }
    }

    private mutating func report(_ token: ConfigToken, _ message: String) {
        report(line: token.line, column: token.column, message)
    }

    private mutating func report(line: Int, column: Int, _ message: String) {
        problems.append(lexer.diagnostic(line: line, column: column, message))
    }

    /// A setting that is valid but does not do what it seems: the build says so and goes on.
    private mutating func warn(_ token: ConfigToken, _ message: String) {
        var warning = lexer.diagnostic(line: token.line, column: token.column, message)
        warning.severity = .warning
        problems.append(warning)
    }
}
