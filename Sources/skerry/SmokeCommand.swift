import ArgumentParser
import Foundation
import SkerryKit

struct SmokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke",
        abstract: "Run scripted smoke tests against appliances (docs/smoke.md).",
        discussion: """
            Each FILE is a suite: the appliance to boot, the backends to start, and steps (console \
            expectations, shell lines, HTTP and TCP checks through the public NIC, telemetry conditions, \
            admin actions, backends stopped and started, load, shutdown). Every file is checked before \
            anything boots. Prints KTAP. \
            Each suite's console is kept in --log-dir. Suites that declare the same backend ports run one \
            after the other even with --jobs. A boot option given here overrides what every suite sets.

            """ + ExitStatuses.help(ExitStatuses.smoke))

    @Argument(help: ArgumentHelp("Smoke scripts.", valueName: "FILE"))
    var files: [String]

    @Option(help: ArgumentHelp("Also write JUnit XML here.", valueName: "FILE"))
    var junit: String?

    @Option(help: "Suites to run at once.")
    var jobs = 1

    @Option(name: .customLong("log-dir"), help: ArgumentHelp("Where each suite's console log goes.", valueName: "DIR"))
    var logDirectory = ".build/smoke"

    @OptionGroup(title: "Boot")
    var boot: BootOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one smoke script") }
        if jobs < 1 || jobs > 16 { throw ValidationError("--jobs must be 1-16") }
        if let junit, let problem = OutputFile.problem(junit) { throw ValidationError("cannot write --junit \(junit): \(problem)") }
    }

    func run() throws {
        var suites: [SmokeSuite] = []
        var invalid = false
        for file in files {
            do {
                suites.append(try SmokeParser.load(file))
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                invalid = true
            }
        }
        if invalid { throw ExitStatus.smokeInvalid.exitCode }
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        var targets: [SmokeRunner.Target] = []
        for suite in suites {
            // An image alone boots with the standalone plan; beside an appliance, the appliance describes its services.
            let prepared = try TopCommand.prepare(suite.appliance.isEmpty ? suite.image ?? "" : suite.appliance,
                                                  image: suite.appliance.isEmpty ? nil : suite.image, boot: boot, interval: 1) { request in
                request.accelerator = suite.accelerator
                request.firmware = suite.firmware
                request.memoryMiB = suite.memoryMiB
                request.nicModel = suite.nicModel
                request.kernelArguments = suite.append
            }
            var request = prepared.request
            request.timeout = suite.timeout + 30
            targets.append(SmokeRunner.Target(request: request, telemetryPort: prepared.telemetryPort, token: prepared.token))
        }
        _ = SignalTrap.install()
        let signals = SignalTrap.count
        let stop: @Sendable () -> Bool = { SignalTrap.count != signals }
        let results = SmokeSchedule(suites: suites, targets: targets, jobs: jobs, logDirectory: logDirectory, stop: stop).run()
        print(SmokeReport.ktap(results), terminator: "")
        if let junit {
            do {
                try SmokeReport.junit(results).write(toFile: junit, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write \(junit): \(error)")
            }
        }
        if stop() { throw ExitStatus.interrupted.exitCode }
        if !results.allSatisfy(\.passed) { throw ExitStatus.smokeFailed.exitCode }
    }
}

/// Runs suites `jobs` at a time; suites sharing a backend port wait for each other.
struct SmokeSchedule {
    var suites: [SmokeSuite]
    var targets: [SmokeRunner.Target]
    var jobs: Int
    var logDirectory: String
    var stop: @Sendable () -> Bool

    func run() -> [SmokeResult] {
        let state = ScheduleState(count: suites.count)
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        for index in suites.indices {
            let suite = suites[index], target = targets[index]
            let ports = Set(suite.backends.map(\.port))
            let log = logDirectory + "/" + Self.logName(suite, index)
            let stop = self.stop
            slots.wait()
            group.enter()
            Thread.detachNewThread {
                defer {
                    slots.signal()
                    group.leave()
                }
                state.acquire(ports)
                defer { state.release(ports) }
                let result = stop()
                    ? SmokeResult(suite: suite.name, file: suite.file, steps: [], failure: "interrupted", lastConsoleLines: [], consoleLog: nil, seconds: 0)
                    : SmokeRunner(suite: suite, target: target, logPath: log, shouldStop: stop).run()
                state.store(result, at: index)
            }
        }
        group.wait()
        return state.results
    }

    static func logName(_ suite: SmokeSuite, _ index: Int) -> String {
        let base = URL(fileURLWithPath: suite.file).deletingPathExtension().lastPathComponent
        return "\(index + 1)-\(base).console.log"
    }
}

/// Results, and the backend ports in use, shared by the suites' threads.
final class ScheduleState: @unchecked Sendable {
    private let condition = NSCondition()
    private var busy = Set<UInt16>()
    private var stored: [SmokeResult?]

    init(count: Int) { stored = Array(repeating: nil, count: count) }

    func acquire(_ ports: Set<UInt16>) {
        condition.lock()
        while !busy.isDisjoint(with: ports) { condition.wait() }
        busy.formUnion(ports)
        condition.unlock()
    }

    func release(_ ports: Set<UInt16>) {
        condition.lock()
        busy.subtract(ports)
        condition.broadcast()
        condition.unlock()
    }

    func store(_ result: SmokeResult, at index: Int) {
        condition.lock()
        stored[index] = result
        condition.unlock()
    }

    var results: [SmokeResult] {
        condition.lock()
        defer { condition.unlock() }
        return stored.compactMap { $0 }
    }
}
