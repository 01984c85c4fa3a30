import ArgumentParser
import SkerryKit
import SkerryTerminal

/// The options of every command that shows the dashboard (`top`, `demo`).
struct DashboardOptions: ParsableArguments {
    // Unconditional, so a negative number reaches the range check instead of reading as an option.
    @Option(parsing: .unconditional, help: "Seconds between telemetry snapshots and screen refreshes (0.1 to 60).")
    var interval: Double = 1

    @Option(help: ArgumentHelp("Colours: mono, ansi16 or ansi256 (default: what the terminal offers).", valueName: "mode"))
    var colors: CursesTerminal.ColorMode?

    @Flag(help: "ASCII only: no UTF-8 sparklines or meters.")
    var ascii = false

    func validate() throws {
        if let problem = SecondsOption.interval().problem(interval) { throw ValidationError(problem) }
    }
}

extension CursesTerminal.ColorMode: ExpressibleByArgument {}
