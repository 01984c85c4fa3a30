import ArgumentParser
import Foundation
import SkerryKit

/// `HOST:PORT` of an appliance's telemetry port.
struct TelemetryAddress: ExpressibleByArgument {
    var host: String
    var port: UInt16

    init?(argument: String) {
        let parts = argument.split(separator: ":")
        guard parts.count == 2, !parts[0].isEmpty, let port = UInt16(parts[1]), port > 0 else { return nil }
        host = String(parts[0])
        self.port = port
    }

    var description: String { "\(host):\(port)" }
}

struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Drain, disable or enable a backend, set its weight, or reset counters, on a running appliance.",
        discussion: """
            Sends the action over the appliance's telemetry stream (docs/telemetry.md). It needs the admin \
            token from the appliance file: --token, or SKERRY_ADMIN_TOKEN. The appliance logs each action \
            on its console and tells every subscriber.
            Examples:
              skerry admin 127.0.0.1:9180 drain web/web2
              skerry admin 127.0.0.1:9180 weight web/web2 5
              skerry admin 127.0.0.1:9180 reset-counters

            """ + ExitStatuses.help(ExitStatuses.admin))

    @Argument(help: ArgumentHelp("The appliance's telemetry port.", valueName: "HOST:PORT"))
    var address: TelemetryAddress

    @Argument(help: ArgumentHelp(Telemetry.AdminAction.choices + "."))
    var action: String

    @Argument(help: ArgumentHelp("SERVICE/BACKEND, and for weight the new weight (0-1000).", valueName: "TARGET"))
    var target: [String] = []

    @Option(help: "The admin token (default: $SKERRY_ADMIN_TOKEN).")
    var token: String?

    func validate() throws {
        guard let action = Telemetry.AdminAction(name: action) else {
            throw ValidationError("unknown action '\(action)': expected \(Telemetry.AdminAction.choices)")
        }
        switch action {
        case .drain, .disable, .enable:
            guard target.count == 1, target[0].split(separator: "/").count == 2 else {
                throw ValidationError("\(action.name) needs SERVICE/BACKEND, like web/web2")
            }
        case .weight:
            guard target.count == 2, target[0].split(separator: "/").count == 2, let weight = Int(target[1]), (0...1000).contains(weight)
            else { throw ValidationError("weight needs SERVICE/BACKEND and a weight from 0 to 1000") }
        case .resetCounters:
            guard target.isEmpty else { throw ValidationError("reset-counters takes no target") }
        }
    }

    func run() throws {
        guard let token = token ?? ProcessInfo.processInfo.environment["SKERRY_ADMIN_TOKEN"], !token.isEmpty else {
            throw CLIError("admin actions need the appliance's token: --token or SKERRY_ADMIN_TOKEN", status: .refused)
        }
        let action = Telemetry.AdminAction(name: action)!  // validate() refused any other
        let parts = target.first?.split(separator: "/").map(String.init) ?? []
        let result: Telemetry.AdminResult
        do {
            let connection = try TelemetryConnection(host: address.host, port: address.port)
            if !connection.hello.adminEnabled {
                throw CLIError("\(address.description) (\(connection.hello.appliance)) takes no admin actions: its appliance file sets no admin token",
                               status: .refused)
            }
            result = try connection.admin(token: token, action: action, service: parts.first ?? "", backend: parts.last ?? "",
                                          weight: target.count == 2 ? UInt64(target[1]) ?? 0 : 0)
        } catch let error as TelemetryStreamError {
            throw CLIError(error.explained(at: address.description), status: ExitStatus(error))
        }
        guard result.code == .ok else {
            let kind = result.code == .notFound ? "not found" : "refused (\(result.code))"
            throw CLIError("\(kind): \(result.message)", status: ExitStatus(result.code))
        }
        print(result.message)
    }
}

extension Telemetry.AdminAction {
    /// "drain, disable, enable, weight or reset-counters": every action, by name.
    static var choices: String {
        let names = allCases.map { "\($0.name)" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
