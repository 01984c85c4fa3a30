import ArgumentParser
import Foundation
import KernelCore
import SkerryKit

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check, compile, query and generate firewall rule files (docs/firewall.md).",
        subcommands: [RulesCheck.self, RulesCompile.self, RulesMatch.self, RulesGenerate.self])
}

struct RulesCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Report every error and warning in a rule file, and the size of its compiled decision structure.",
        discussion: ExitStatuses.help(ExitStatuses.plain))

    @Argument(help: "The rule file.")
    var file: String

    func run() throws {
        let ruleSet = try FirewallRuleFile.load(file)
        let shape = FirewallCodegen(ruleSet: ruleSet).generate().shape
        print("\(file): no errors; \(counted(ruleSet.rules.count, "rule")), \(counted(ruleSet.warnings.count, "warning"))")
        print("compiled: \(counted(shape.nodes, "decision node")), \(counted(shape.leaves, "leaf", plural: "leaves")), "
            + "at most \(counted(shape.largestLeaf, "rule")) tested per packet")
    }
}

struct RulesCompile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Print the Swift classifier `skerry build` compiles into the kernel for a rule file.",
        discussion: ExitStatuses.help(ExitStatuses.plain))

    @Argument(help: "The rule file.")
    var file: String

    @Option(name: .shortAndLong, help: "Write the source here instead of standard output.")
    var output: String?

    func run() throws {
        let source = try FirewallRuleFile.generate(file)
        if let output {
            do {
                try source.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write \(output): \(error.localizedDescription)")
            }
        } else {
            print(source, terminator: "")
        }
    }
}

struct RulesMatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Show which rule decides a packet, by the reference interpreter; the exit code is the verdict.",
        discussion: """
            Example: skerry rules match Samples/web/firewall.rules --on public --proto tcp --from 10.0.2.2:40000 --to 10.0.2.15:22

            """ + ExitStatuses.help(ExitStatuses.rulesMatch))

    @Argument(help: "The rule file.")
    var file: String

    @Flag(help: "The packet leaves the interface (default: it arrives).")
    var out = false

    @Option(help: "Interface: admin, public or private.")
    var on: String = "public"

    @Option(help: "Protocol: \(FirewallLiteralNames.protocols.joined(separator: ", ")) or a number 0-255.")
    var proto: String = "tcp"

    @Option(help: ArgumentHelp("Source address and optional port.", valueName: "ADDRESS[:PORT]"))
    var from: String = "0.0.0.0"

    @Option(help: ArgumentHelp("Destination address and optional port.", valueName: "ADDRESS[:PORT]"))
    var to: String = "0.0.0.0"

    @Option(help: ArgumentHelp("ICMP type, by the rule language's name (echo-request, …) or number.", valueName: "type"))
    var icmpType: String = "0"

    @Option(help: "Connection state: new, established, related or invalid.")
    var state: String = "new"

    func run() throws {
        let ruleSet = try FirewallRuleFile.load(file)
        guard let interface = InterfaceRole.allCases.first(where: { "\($0.name)" == on }) else {
            throw CLIError("--on must be admin, public or private", status: .usage)
        }
        let protocolNumber: UInt8
        switch FirewallLiteralNames.protocolNumber(proto) {
        case .success(let number): protocolNumber = number
        case .failure(let error): throw CLIError("--proto: \(error)", status: .usage)
        }
        let icmpTypeNumber: UInt8
        switch FirewallLiteralNames.icmpType(icmpType) {
        case .success(let number): icmpTypeNumber = number
        case .failure(let error): throw CLIError("--icmp-type: \(error)", status: .usage)
        }
        guard let connectionState = ConnectionState.allCases.first(where: { "\($0.name)" == state }) else {
            throw CLIError("--state must be new, established, related or invalid", status: .usage)
        }
        let (source, sourcePort) = try endpoint(from, option: "--from")
        let (destination, destinationPort) = try endpoint(to, option: "--to")
        let packet = FirewallPacket(
            direction: out ? .outbound : .inbound, interface: interface, protocolNumber: protocolNumber, source: source,
            destination: destination, sourcePort: sourcePort, destinationPort: destinationPort, icmpType: icmpTypeNumber,
            state: connectionState, length: 60)
        let index = FirewallInterpreter(ruleSet).classify(packet)
        let verdict: FirewallAction
        if index >= 0 {
            let rule = ruleSet.rules[Int(index)]
            verdict = rule.action
            print(TerminalText.escaped("rule '\(rule.name)' (\(rule.location)): \(rule.action.name)"))
        } else {
            verdict = ruleSet.policy(packet.direction, interface)
            print("no rule matches: the default policy \(out ? "out" : "in") on \(on) decides: \(verdict.name)")
        }
        if verdict != .accept { throw ExitStatus.verdict(verdict).exitCode }
    }

    private func endpoint(_ text: String, option: String) throws -> (UInt32, UInt16) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard let address = IPv4Address(text: Array(parts[0].utf8)) else {
            throw CLIError("\(option): '\(parts[0])' is not an IPv4 address", status: .usage)
        }
        guard parts.count == 2 else { return (address.value, 0) }
        guard let port = UInt16(parts[1]) else { throw CLIError("\(option): '\(parts[1])' is not a port", status: .usage) }
        return (address.value, port)
    }
}

struct RulesGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Print a large rule file in the shape of a big site's (how Samples/large is made).",
        discussion: ExitStatuses.help(ExitStatuses.plain))

    @Option(help: "Rules to generate.")
    var count: Int = 5000

    @Option(help: "Random seed; the same seed gives the same file.")
    var seed: UInt64 = 1

    func validate() throws {
        if count < 1 || count > 100_000 { throw ValidationError("--count must be between 1 and 100000") }
    }

    func run() {
        var generator = FirewallRuleGenerator(seed: seed)
        let ruleSet = generator.realisticRuleSet(ruleCount: count)
        print(FirewallRuleWriter.text(ruleSet, header: [
            "\(count) generated rules (skerry rules generate --count \(count) --seed \(seed)).",
            "Blocklists, per-network service allowances, port rejections, limited ICMP and backend rules.",
        ]), terminator: "")
    }
}
