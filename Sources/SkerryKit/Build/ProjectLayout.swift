import Foundation

/// Where the project's pieces live, found from the working directory, or
/// else from the `skerry` binary itself (`TREE/.build/debug/skerry`), so the
/// tree's commands work from any directory.
public struct ProjectLayout: Sendable {
    public var root: URL

    public var kernelDirectory: URL { root.appendingPathComponent("Kernel") }
    public var buildDirectory: URL { root.appendingPathComponent(".build/skerry") }
    public var kernelBuildDirectory: URL { buildDirectory.appendingPathComponent("kernel") }

    public init(root: URL) { self.root = root }

    /// The nearest directory at or above `start` that holds Kernel/Boot/linker.ld.
    public static func find() -> ProjectLayout? {
        find(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            ?? find(from: URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
    }

    public static func find(from start: URL) -> ProjectLayout? {
        var directory = start.standardizedFileURL
        while true {
            let marker = directory.appendingPathComponent("Kernel/Boot/linker.ld").path
            if FileManager.default.fileExists(atPath: marker) { return ProjectLayout(root: directory) }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { return nil }
            directory = parent
        }
    }
}
