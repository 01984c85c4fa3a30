import Foundation

/// The tools that turn Kernel/ into an image.
public struct Toolchain: Sendable {
    public var swiftc: String
    public var clang: String
    public var linker: String
    public var objcopy: String

    /// Tools this build needs, with where to get them when missing.
    public enum Tool: String, Sendable, CaseIterable {
        case swiftc, clang, linker = "ld.lld", objcopy = "llvm-objcopy"

        var hint: String {
            switch self {
            case .swiftc: return "install a Swift 6 toolchain with the Embedded stdlib and put it on PATH, or set SKERRY_SWIFTC"
            case .clang: return "the Swift toolchain ships clang next to swiftc; or install Debian's clang"
            case .linker: return "the Swift toolchain ships ld.lld next to swiftc; or install Debian's lld"
            case .objcopy: return "the Swift toolchain ships llvm-objcopy; or install binutils for objcopy"
            }
        }
    }

    /// Finds each tool next to `swiftc` first (one toolchain, consistent
    /// versions), then on PATH.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws(BuildError)
        -> Toolchain
    {
        let searchPath = environment["PATH"] ?? ""
        guard
            let swiftc = environment["SKERRY_SWIFTC"].flatMap({ findExecutable($0, searchPath: searchPath) })
                ?? findExecutable("swiftc", searchPath: searchPath)
        else {
            throw .missingTool(Tool.swiftc.rawValue, hint: Tool.swiftc.hint)
        }
        let resolved = URL(fileURLWithPath: swiftc).resolvingSymlinksInPath()
        let binDirectory = resolved.deletingLastPathComponent().path
        func tool(_ tool: Tool, alternatives: [String]) throws(BuildError) -> String {
            for name in alternatives {
                if let found = findExecutable(name, extraDirectories: [binDirectory], searchPath: searchPath) {
                    return found
                }
            }
            throw .missingTool(tool.rawValue, hint: tool.hint)
        }
        let toolchain = Toolchain(
            swiftc: swiftc,
            clang: try tool(.clang, alternatives: ["clang"]),
            linker: try tool(.linker, alternatives: ["ld.lld"]),
            objcopy: try tool(.objcopy, alternatives: ["llvm-objcopy", "objcopy"]))
        let embedded = resolved.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("lib/swift/embedded/x86_64-unknown-none-elf").path
        guard FileManager.default.fileExists(atPath: embedded) else {
            throw .missingTool(
                "Embedded Swift stdlib for x86_64-unknown-none-elf",
                hint: "\(swiftc) has no \(embedded); use a Swift 6 toolchain that ships it")
        }
        return toolchain
    }

    /// A cheap identity for the cache key: paths, sizes and modification
    /// times of the tools. Running `swiftc --version` would cost more than
    /// a cached build is allowed to take.
    var fingerprint: String {
        [swiftc, clang, linker, objcopy].map { path -> String in
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            let attributes = try? FileManager.default.attributesOfItem(atPath: real)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(real):\(size):\(modified)"
        }.joined(separator: "|")
    }
}

/// Why an image could not be built.
public enum BuildError: Error, CustomStringConvertible, Sendable {
    case missingTool(String, hint: String)
    case missingSources(String)
    case stepFailed(step: String, command: [String], output: String)
    case io(String)

    public var description: String {
        switch self {
        case .missingTool(let tool, let hint):
            return "\(tool) not found: \(hint)"
        case .missingSources(let detail):
            return detail
        case .stepFailed(let step, let command, let output):
            let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
            return "\(step) failed\n  command: \(command.joined(separator: " "))\n\(trimmed)"
        case .io(let detail):
            return detail
        }
    }
}
