import Foundation
import SkerryKit

/// What `skerry --version` prints: the release, the commit of the source
/// tree this binary was compiled from, and the toolchains.
enum SkerryVersion {
    static let release = "0.1.0"

    /// The source tree this binary was compiled from, known at compile time.
    static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The Swift compiler that compiled this binary.
    static var compiler: String {
        #if compiler(>=6.4)
        return "Swift 6.4 or later"
        #elseif compiler(>=6.3)
        return "Swift 6.3"
        #elseif compiler(>=6.2)
        return "Swift 6.2"
        #elseif compiler(>=6.1)
        return "Swift 6.1"
        #else
        return "Swift 6.0"
        #endif
    }

    static var text: String {
        let kernelToolchain: String
        if let toolchain = try? Toolchain.locate(), let run = try? CapturedRun.run(toolchain.swiftc, ["--version"]), run.succeeded,
            let first = run.output.split(separator: "\n").first
        {
            kernelToolchain = "\(first) (\(toolchain.swiftc))"
        } else {
            kernelToolchain = "none found (skerry build needs swiftc on PATH or SKERRY_SWIFTC)"
        }
        return """
            skerry \(release)
            commit: \(commit(in: sourceRoot) ?? "unknown (no git checkout at \(sourceRoot.path))")
            compiled with: \(compiler)
            kernel toolchain: \(kernelToolchain)
            """
    }

    /// The checked-out commit of `root`, marked `(modified)` when tracked files differ from it:
    /// from git, or from the repository's files when git is not installed.
    static func commit(in root: URL) -> String? {
        if let git = findExecutable("git"),
            let head = try? CapturedRun.run(git, ["-C", root.path, "rev-parse", "--verify", "HEAD"]), head.succeeded
        {
            let hash = head.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let status = try? CapturedRun.run(git, ["-C", root.path, "status", "--porcelain", "--untracked-files=no"])
            let modified = status.map { $0.succeeded && !$0.output.isEmpty } ?? false
            return hash + (modified ? " (modified)" : "")
        }
        return GitFiles(root: root)?.head()
    }
}

/// Just enough of a repository's layout to name HEAD's commit without git:
/// `.git` as a directory or a `gitdir:` file (worktrees), loose and packed refs.
struct GitFiles {
    var gitDirectory: URL
    var commonDirectory: URL

    init?(root: URL) {
        let dotGit = root.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        let directory: URL
        if isDirectory.boolValue {
            directory = dotGit
        } else {
            guard let line = Self.read(dotGit), line.hasPrefix("gitdir: ") else { return nil }
            directory = URL(fileURLWithPath: String(line.dropFirst("gitdir: ".count)), relativeTo: root).standardizedFileURL
        }
        gitDirectory = directory
        commonDirectory = Self.read(directory.appendingPathComponent("commondir"))
            .map { URL(fileURLWithPath: $0, relativeTo: directory).standardizedFileURL } ?? directory
    }

    func head() -> String? {
        guard let head = Self.read(gitDirectory.appendingPathComponent("HEAD")) else { return nil }
        guard head.hasPrefix("ref: ") else { return head }
        let reference = String(head.dropFirst("ref: ".count))
        for directory in [gitDirectory, commonDirectory] {
            if let hash = Self.read(directory.appendingPathComponent(reference)) { return hash }
        }
        let packed = Self.read(commonDirectory.appendingPathComponent("packed-refs")) ?? ""
        return packed.split(separator: "\n").first { $0.hasSuffix(" " + reference) }.map { String($0.prefix { $0 != " " }) }
    }

    private static func read(_ url: URL) -> String? {
        (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
