import Foundation
import Yams

/// Reads smoke scripts (YAML, docs/smoke.md) into suites, checking every
/// key, value, pattern and condition before anything boots. Every problem
/// is reported, each at its `file:line:col`.
public enum SmokeParser {
    public static func load(_ path: String) throws(SmokeError) -> SmokeSuite {
        let text: String
        do throws(SourceFile.Problem) {
            text = try SourceFile.read(path)
        } catch {
            throw .invalid([SmokeDiagnostic(file: path, line: 1, column: 1, message: "cannot read the file: \(error)")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(SmokeError) -> SmokeSuite {
        var reader = Reader(file: file, lines: text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map(String.init))
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw .invalid([reader.yamlDiagnostic(error)])
        } catch {
            throw .invalid([reader.diagnostic(line: 1, column: 1, "\(error)")])
        }
        guard let root, case .mapping(let mapping) = root else {
            throw .invalid([reader.diagnostic(line: root?.mark?.line ?? 1, column: root?.mark?.column ?? 1,
                                              "a smoke script is a mapping with suite, appliance and steps")])
        }
        let suite = reader.suite(mapping, root: root)
        if !reader.diagnostics.isEmpty { throw .invalid(reader.diagnostics) }
        return suite
    }

    static let suiteKeys = ["suite", "appliance", "image", "firmware", "nic-model", "memory", "accel", "append", "timeout", "backends", "fail-on", "forward", "steps"]
    static let actionKeys = ["expect-console", "send", "http", "served-by", "connect", "refused", "wait", "admin", "stop-backend", "start-backend",
                             "load", "finish-load", "sleep", "shutdown"]

    struct Reader {
        let file: String
        /// The script's lines, which diagnostics quote.
        let lines: [String]
        var diagnostics: [SmokeDiagnostic] = []
        /// Background loads not yet finished, by port: their seconds and where they are written.
        var backgroundLoads: [UInt16: (seconds: Double, node: Node)] = [:]
        /// The seconds of the load the last `finish-load` finished (its default timeout).
        var finishedLoadSeconds = 0.0

        func diagnostic(line: Int, column: Int, _ message: String) -> SmokeDiagnostic {
            SmokeDiagnostic(file: file, line: line, column: column, message: message,
                            sourceLine: line >= 1 && line <= lines.count ? lines[line - 1] : "")
        }

        /// Reports a problem; past `ConfigDiagnostic.errorLimit`, one saying there are too many stands for the rest.
        mutating func error(_ node: Node?, _ message: String) {
            guard diagnostics.count <= ConfigDiagnostic.errorLimit else { return }
            let (line, column) = (node?.mark?.line ?? 1, node?.mark?.column ?? 1)
            if diagnostics.count == ConfigDiagnostic.errorLimit {
                diagnostics.append(SmokeDiagnostic(file: file, line: line, column: column, message: ConfigDiagnostic.tooManyErrors))
                return
            }
            diagnostics.append(diagnostic(line: line, column: column, message))
        }

        func yamlDiagnostic(_ error: YamlError) -> SmokeDiagnostic {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                return diagnostic(line: mark.line, column: mark.column, "not YAML: \(problem)")
            default:
                return diagnostic(line: 1, column: 1, "not YAML: \(error)")
            }
        }

        mutating func string(_ node: Node, _ what: String) -> String? {
            guard case .scalar(let scalar) = node else {
                error(node, "\(what) is a single value")
                return nil
            }
            return scalar.string
        }

        mutating func number(_ node: Node, _ what: String, _ range: ClosedRange<Double>) -> Double? {
            guard let text = string(node, what) else { return nil }
            guard let value = Double(text), range.contains(value) else {
                error(node, "\(what) must be a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), not \(text)")
                return nil
            }
            return value
        }

        mutating func port(_ node: Node, _ what: String = "port") -> UInt16? {
            number(node, what, 1...65535).map { UInt16($0) }
        }

        mutating func pattern(_ node: Node, _ what: String) -> String? {
            guard let text = string(node, what) else { return nil }
            do {
                _ = try Regex(text)
            } catch {
                self.error(node, "\(what) is not a valid regular expression: \(error)")
                return nil
            }
            return text
        }

        /// ` (did you mean x?)` for a word near one of `words`, else "".
        static func hint(_ word: String, _ words: [String]) -> String {
            Vocabulary.closest(to: word, in: words).map { " (did you mean \($0)?)" } ?? ""
        }

        /// An appliance that skerry builds into a kernel (a directory, or a `.conf` file), not an image.
        static func isApplianceSource(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return path.hasSuffix(".conf") || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
        }

        static func format(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }

        /// Keys of `mapping` in order, checked against `allowed`.
        mutating func pairs(_ mapping: Node.Mapping, allowed: [String], in what: String) -> [(String, Node, Node)] {
            var seen = Set<String>()
            var result: [(String, Node, Node)] = []
            for (key, value) in mapping {
                guard let name = key.string else {
                    error(key, "\(what) keys are words")
                    continue
                }
                guard allowed.contains(name) else {
                    error(key, "unknown key \(name) in \(what)\(Self.hint(name, allowed)); expected \(allowed.joined(separator: ", "))")
                    continue
                }
                guard seen.insert(name).inserted else {
                    error(key, "\(name) appears twice in \(what)")
                    continue
                }
                result.append((name, key, value))
            }
            return result
        }

        mutating func suite(_ mapping: Node.Mapping, root: Node) -> SmokeSuite {
            var suite = SmokeSuite(file: file, name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, appliance: "")
            var stepsNode: Node?
            var sawAppliance = false
            var appendNode: Node?
            var firmwareNode: Node?
            for (name, _, value) in pairs(mapping, allowed: SmokeParser.suiteKeys, in: "the suite") {
                switch name {
                case "suite": suite.name = string(value, "suite") ?? suite.name
                case "appliance":
                    if let path = string(value, "appliance") {
                        sawAppliance = true
                        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
                        let resolved = path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardized.path
                        if !FileManager.default.fileExists(atPath: resolved) { error(value, "no appliance or image at \(resolved)") }
                        suite.appliance = resolved
                    }
                case "image":
                    if let path = string(value, "image") {
                        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
                        let resolved = path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardized.path
                        do {
                            _ = try BootMedium(path: resolved)
                            if !FileManager.default.fileExists(atPath: resolved) { error(value, "no image at \(resolved)") }
                        } catch {
                            self.error(value, "\(error)")
                        }
                        suite.image = resolved
                    }
                case "firmware":
                    firmwareNode = value
                    if let text = string(value, "firmware") {
                        if let firmware = Firmware(name: text) { suite.firmware = firmware } else { error(value, "firmware is bios or uefi, not \(text)" + Self.hint(text, Firmware.allCases.map(\.rawValue))) }
                    }
                case "nic-model":
                    if let text = string(value, "nic-model") {
                        if let model = NICModel(rawValue: text) { suite.nicModel = model } else { error(value, "nic-model is virtio or vmxnet3, not \(text)" + Self.hint(text, NICModel.allCases.map(\.rawValue))) }
                    }
                case "memory": suite.memoryMiB = number(value, "memory (MiB)", 16...3072).map { Int($0) } ?? suite.memoryMiB
                case "accel":
                    if let text = string(value, "accel") {
                        if let accel = Accelerator(rawValue: text) { suite.accelerator = accel } else { error(value, "accel is auto, tcg or kvm, not \(text)" + Self.hint(text, Accelerator.allCases.map(\.rawValue))) }
                    }
                case "append":
                    appendNode = value
                    suite.append = string(value, "append") ?? ""
                case "timeout": suite.timeout = number(value, "timeout (seconds)", 1...7200) ?? suite.timeout
                case "backends": suite.backends = backends(value)
                case "fail-on": suite.failOn = list(value, "fail-on").compactMap { pattern($0, "a fail-on pattern") }
                case "forward":
                    var parsed: [PortForward] = []
                    for node in list(value, "forward") {
                        guard let text = string(node, "a forward") else { continue }
                        do {
                            let forward = try PortForward(parsing: text)
                            if let earlier = parsed.first(where: { $0.sameGuestPort(as: forward) }) {
                                error(node, "\(BootSetupError.duplicateForward(earlier.quoted, forward.quoted))")
                            }
                            parsed.append(forward)
                        } catch {
                            self.error(node, "\(error)")
                        }
                        suite.forwards.append(text)
                    }
                default: stepsNode = value
                }
            }
            if !sawAppliance && suite.image == nil { error(root, "the suite needs an appliance: a sample directory, appliance file or image") }
            // What boots is the image when given, else the appliance (a kernel when it is a directory or .conf file).
            let booted = suite.image ?? suite.appliance
            if let medium = try? BootMedium(path: booted), suite.image != nil || !Self.isApplianceSource(booted) {
                do throws(BootMedium.Problem) {
                    try medium.check(firmware: suite.firmware, kernelArguments: "")
                } catch {
                    self.error(firmwareNode ?? root, "\(error)")
                }
                do throws(BootMedium.Problem) {
                    try medium.check(firmware: .bios, kernelArguments: suite.append)
                } catch {
                    self.error(appendNode ?? root, "\(error)")
                }
            } else if suite.firmware == .uefi {
                error(firmwareNode ?? root, "\(BootMedium.Problem.uefiNeedsImage)")
            }
            guard let stepsNode, case .sequence(let steps) = stepsNode, !steps.isEmpty else {
                error(stepsNode ?? root, "the suite needs steps: a list of at least one step")
                return suite
            }
            for node in steps {
                if let step = step(node, backends: suite.backends) { suite.steps.append(step) }
            }
            for (port, running) in backgroundLoads.sorted(by: { $0.key < $1.key }) {
                error(running.node, "the background load on port \(port) is never judged: add a finish-load: \(port) step after it")
            }
            return suite
        }

        mutating func list(_ node: Node, _ what: String) -> [Node] {
            switch node {
            case .sequence(let sequence): return Array(sequence)
            case .scalar: return [node]
            default:
                error(node, "\(what) is a list")
                return []
            }
        }

        mutating func backends(_ node: Node) -> [SmokeSuite.Backend] {
            var result: [SmokeSuite.Backend] = []
            for entry in list(node, "backends") {
                guard case .mapping(let mapping) = entry else {
                    error(entry, "a backend is {name: NAME, port: PORT}")
                    continue
                }
                var name: String?
                var port: UInt16?
                for (key, _, value) in pairs(mapping, allowed: ["name", "port"], in: "a backend") {
                    if key == "name" { name = string(value, "name") } else { port = self.port(value) }
                }
                guard let name, let port else {
                    error(entry, "a backend needs a name and a port")
                    continue
                }
                if result.contains(where: { $0.name == name || $0.port == port }) { error(entry, "backend \(name) or port \(port) is declared twice") }
                result.append(SmokeSuite.Backend(name: name, port: port))
            }
            return result
        }

        mutating func step(_ node: Node, backends: [SmokeSuite.Backend]) -> SmokeStep? {
            if node.string == "shutdown" {
                return SmokeStep(name: "shutdown clean-shutdown", action: .shutdown(outcome: .cleanShutdown), timeout: 60,
                                 line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
            }
            guard case .mapping(let mapping) = node else {
                error(node, "a step is a mapping, like {expect-console: \"skerry: ready\"}, or shutdown")
                return nil
            }
            var name: String?
            var timeout: Double?
            var action: SmokeStep.Action?
            var actionName = ""
            var actionCount = 0
            for (key, keyNode, value) in pairs(mapping, allowed: ["name", "timeout"] + SmokeParser.actionKeys, in: "a step") {
                switch key {
                case "name": name = string(value, "name")
                case "timeout": timeout = number(value, "timeout (seconds)", 0.1...3600)
                default:
                    actionCount += 1
                    if actionCount > 1 {
                        error(keyNode, "a step does one thing: \(actionName) and \(key) are two steps")
                        continue
                    }
                    actionName = key
                    action = self.action(key, value, backends: backends)
                }
            }
            if actionCount == 0 { error(node, "a step needs an action: \(SmokeParser.actionKeys.joined(separator: ", "))") }
            guard let action else { return nil }
            let defaultTimeout: Double
            switch action {
            case .sleep(let seconds): defaultTimeout = seconds + 5
            case .load(_, let seconds, _, _, let background): defaultTimeout = background ? 30 : seconds + 30
            case .finishLoad: defaultTimeout = finishedLoadSeconds + 30
            case .shutdown: defaultTimeout = 60
            default: defaultTimeout = 30
            }
            return SmokeStep(name: name ?? "\(actionName) \(describe(action))", action: action, timeout: timeout ?? defaultTimeout,
                             line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        }

        func describe(_ action: SmokeStep.Action) -> String {
            switch action {
            case .expectConsole(let pattern): return "/\(pattern)/"
            case .send(let line): return "\"\(line)\""
            case .http(let port, let path, let status, let body, let backend):
                var text = "\(port)\(path)"
                if let status { text += " status \(status)" }
                if let backend { text += " from \(backend)" }
                if let body { text += " body /\(body)/" }
                return text
            case .servedBy(let port, let backend): return "\(backend) on \(port)"
            case .connect(let port), .refused(let port): return "port \(port)"
            case .wait(let condition): return condition.description
            case .admin(let action, let service, let backend, _): return "\(action) \(service)/\(backend)"
            case .stopBackend(let name), .startBackend(let name): return name
            case .load(let port, let seconds, let rate, _, let background):
                return "\(Self.format(rate))/s for \(Self.format(seconds)) s on \(port)\(background ? " in the background" : "")"
            case .finishLoad(let port): return "on \(port)"
            case .sleep(let seconds): return "\(Self.format(seconds)) s"
            case .shutdown(let outcome): return outcome.rawValue
            }
        }

        mutating func action(_ key: String, _ value: Node, backends: [SmokeSuite.Backend]) -> SmokeStep.Action? {
            switch key {
            case "expect-console": return pattern(value, "expect-console").map { .expectConsole(pattern: $0) }
            case "send": return string(value, "send").map { .send(line: $0) }
            case "http":
                var port: UInt16 = 80, path = "/", status: Int?, body: String?, backend: String?
                if case .mapping(let mapping) = value {
                    for (field, _, node) in pairs(mapping, allowed: ["port", "path", "status", "body", "backend"], in: "http") {
                        switch field {
                        case "port": port = self.port(node) ?? port
                        case "path":
                            path = string(node, "path") ?? path
                            if !path.hasPrefix("/") { error(node, "a path starts with /") }
                        case "status": status = number(node, "status", 100...599).map { Int($0) }
                        case "body": body = pattern(node, "body")
                        default: backend = string(node, "backend")
                        }
                    }
                } else if let text = string(value, "http") {
                    path = text
                    if !path.hasPrefix("/") { error(value, "a path starts with /") }
                }
                return .http(port: port, path: path, status: status ?? (backend == nil && body == nil ? 200 : nil), body: body, backend: backend)
            case "served-by":
                var port: UInt16 = 80, backend: String?
                if case .mapping(let mapping) = value {
                    for (field, _, node) in pairs(mapping, allowed: ["port", "backend"], in: "served-by") {
                        if field == "port" { port = self.port(node) ?? port } else { backend = string(node, "backend") }
                    }
                } else {
                    backend = string(value, "served-by")
                }
                guard let backend, !backend.isEmpty else {
                    error(value, "served-by names a backend: served-by: NAME or {backend: NAME, port: P}")
                    return nil
                }
                return .servedBy(port: port, backend: backend)
            case "connect", "refused":
                var port: UInt16?
                if case .mapping(let mapping) = value {
                    for (_, _, node) in pairs(mapping, allowed: ["port"], in: key) { port = self.port(node) }
                } else {
                    port = self.port(value)
                }
                guard let port else { return nil }
                return key == "connect" ? .connect(port: port) : .refused(port: port)
            case "wait":
                guard let text = string(value, "wait") else { return nil }
                do {
                    return .wait(condition: try TelemetryCondition(parsing: text))
                } catch {
                    self.error(value, "wait: \(error)")
                    return nil
                }
            case "admin":
                guard let text = string(value, "admin") else { return nil }
                let words = text.split(separator: " ").map(String.init)
                guard let first = words.first, let action = Telemetry.AdminAction(name: first) else {
                    let names = Telemetry.AdminAction.allCases.map { "\($0.name)" }
                    error(value, "admin is drain, disable, enable or weight SERVICE/BACKEND [N], or reset-counters"
                        + Self.hint(words.first ?? "", names))
                    return nil
                }
                if action == .resetCounters {
                    guard words.count == 1 else { error(value, "reset-counters takes no target"); return nil }
                    return .admin(action: action, service: "", backend: "", weight: 0)
                }
                let target = words.count > 1 ? words[1].split(separator: "/").map(String.init) : []
                guard target.count == 2, words.count == (action == .weight ? 3 : 2) else {
                    error(value, action == .weight ? "weight needs SERVICE/BACKEND and a weight" : "\(first) needs SERVICE/BACKEND")
                    return nil
                }
                var weight: UInt64 = 0
                if action == .weight {
                    guard let parsed = UInt64(words[2]), parsed <= 1000 else { error(value, "a weight is 0 to 1000"); return nil }
                    weight = parsed
                }
                return .admin(action: action, service: target[0], backend: target[1], weight: weight)
            case "stop-backend", "start-backend":
                guard let name = string(value, key) else { return nil }
                guard backends.contains(where: { $0.name == name }) else {
                    error(value, "no backend \(name) in this suite's backends (\(backends.map(\.name).joined(separator: ", ")))")
                    return nil
                }
                return key == "stop-backend" ? .stopBackend(name: name) : .startBackend(name: name)
            case "load":
                guard case .mapping(let mapping) = value else {
                    error(value, "load is {seconds: S, rate: R[, port: P, failures: N, background: true]}")
                    return nil
                }
                var port: UInt16 = 80, seconds: Double?, rate: Double?, failures = 0, background = false
                for (field, _, node) in pairs(mapping, allowed: ["port", "seconds", "rate", "failures", "background"], in: "load") {
                    switch field {
                    case "port": port = self.port(node) ?? port
                    case "seconds": seconds = number(node, "seconds", 0.1...3600)
                    case "rate": rate = number(node, "rate (requests a second)", 0.1...1000)
                    case "background":
                        guard let flag = string(node, "background"), let parsed = Bool(flag) else {
                            error(node, "background is true or false")
                            continue
                        }
                        background = parsed
                    default: failures = number(node, "failures", 0...1_000_000).map { Int($0) } ?? 0
                    }
                }
                guard let seconds, let rate else {
                    error(value, "load needs seconds and rate")
                    return nil
                }
                if background {
                    if backgroundLoads[port] != nil {
                        error(value, "a background load on port \(port) is already running: finish-load: \(port) first")
                        return nil
                    }
                    backgroundLoads[port] = (seconds, value)
                }
                return .load(port: port, seconds: seconds, rate: rate, failures: failures, background: background)
            case "finish-load":
                guard let port = port(value) else { return nil }
                guard let running = backgroundLoads.removeValue(forKey: port) else {
                    error(value, "no background load on port \(port) to finish (load: {..., background: true} first)")
                    return nil
                }
                finishedLoadSeconds = running.seconds
                return .finishLoad(port: port)
            case "sleep": return number(value, "sleep (seconds)", 0...3600).map { .sleep(seconds: $0) }
            default:
                let text = string(value, "shutdown") ?? ""
                let outcome = text.isEmpty ? .cleanShutdown : BootOutcome(rawValue: text)
                guard let outcome else {
                    error(value, "shutdown expects an outcome: \(BootOutcome.allCases.map(\.rawValue).joined(separator: ", "))"
                        + Self.hint(text, BootOutcome.allCases.map(\.rawValue)))
                    return nil
                }
                return .shutdown(outcome: outcome)
            }
        }
    }
}
