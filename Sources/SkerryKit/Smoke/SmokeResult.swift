import Foundation

/// What running a suite found.
public struct SmokeResult: Sendable {
    public struct Step: Sendable {
        public enum Status: Sendable, Equatable { case passed, failed, skipped }
        public var name: String
        public var status: Status
        /// For a failure: what was expected, what was seen.
        public var expected: String?
        public var seen: String?
        public var seconds: Double
    }

    public var suite: String
    public var file: String
    public var steps: [Step]
    /// A failure outside any step (the suite's timeout, a boot that never started, a signal).
    public var failure: String?
    public var lastConsoleLines: [String]
    public var consoleLog: String?
    public var seconds: Double

    public var passed: Bool { failure == nil && steps.allSatisfy { $0.status != .failed } }

    public init(suite: String, file: String, steps: [Step], failure: String?, lastConsoleLines: [String], consoleLog: String?,
                seconds: Double) {
        self.suite = suite
        self.file = file
        self.steps = steps
        self.failure = failure
        self.lastConsoleLines = lastConsoleLines
        self.consoleLog = consoleLog
        self.seconds = seconds
    }
}
