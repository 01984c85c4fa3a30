import Foundation

/// Compiles generated classifiers for the host, with the kernel's portable
/// core and a driver program: how the differential tests check generated
/// code against the interpreter, and how `skerry bench firewall` times it.
public struct HostClassifierBuild {
    public let layout: ProjectLayout
    public let toolchain: Toolchain

    public init(layout: ProjectLayout, toolchain: Toolchain) {
        self.layout = layout
        self.toolchain = toolchain
    }

    /// Builds an executable from `sources` (generated classifiers and a
    /// `main.swift` driver, by file name) and the portable core, in `directory`.
    public func compile(_ sources: [(name: String, text: String)], optimized: Bool, in directory: URL) throws -> String {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        var paths: [String] = []
        for source in sources {
            let url = directory.appendingPathComponent(source.name)
            try source.text.write(to: url, atomically: true, encoding: .utf8)
            paths.append(url.path)
        }
        let core = layout.kernelDirectory.appendingPathComponent("Core")
        guard let enumerator = fileManager.enumerator(atPath: core.path) else {
            throw BuildError.missingSources("no portable core at \(core.path)")
        }
        let coreSources = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted()
            .map { core.appendingPathComponent($0).path }
        let output = directory.appendingPathComponent("classifier").path
        let arguments = (optimized ? ["-Osize", "-wmo"] : ["-Onone", "-j", "\(max(1, ProcessInfo.processInfo.activeProcessorCount))"]) + ["-module-name", "HostClassifier", "-o", output]
            + coreSources + paths
        let run = try CapturedRun.run(toolchain.swiftc, arguments)
        guard run.termination == .exited(0) else {
            throw BuildError.stepFailed(step: "compiling the classifier for the host", command: [toolchain.swiftc] + arguments,
                                        output: String(run.output.suffix(4000)))
        }
        return output
    }
}
