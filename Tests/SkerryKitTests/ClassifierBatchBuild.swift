import Foundation

@testable import SkerryKit

/// Compiles generated classifiers for the host in batches: the portable
/// core once, as a library, then one program per batch (its classifiers and
/// a driver) linked against it, as many batches at a time as there are
/// processors. Compiling the generated code is what the differential test
/// spends its time on, so each set is compiled once and both cores work.
struct ClassifierBatchBuild {
    /// One program: generated sources by file name, the driver among them as
    /// `main.swift`, and the trace file it reads.
    struct Program: Sendable {
        var sources: [(name: String, text: String)]
        var trace: String
    }

    let toolchain: Toolchain
    let directory: URL

    /// Compiles the portable core into `directory` as the library `KernelCore`.
    init(layout: ProjectLayout, toolchain: Toolchain, in directory: URL) throws {
        self.toolchain = toolchain
        self.directory = directory
        let core = layout.kernelDirectory.appendingPathComponent("Core")
        let coreSources = FileManager.default.enumerator(atPath: core.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }.sorted().map { core.appendingPathComponent($0).path } ?? []
        guard !coreSources.isEmpty else { throw BuildError.missingSources("no portable core at \(core.path)") }
        try compile(
            ["-parse-as-library", "-emit-library", "-static", "-emit-module", "-module-name", "KernelCore",
             "-emit-module-path", directory.appendingPathComponent("KernelCore.swiftmodule").path,
             "-o", directory.appendingPathComponent("libKernelCore.a").path] + coreSources,
            step: "compiling the portable core")
    }

    /// Builds and runs every program (with its trace file as the argument);
    /// the runs come back in the programs' order.
    func run(_ programs: [Program]) throws -> [CapturedRun] {
        let results = Results(count: programs.count)
        DispatchQueue.concurrentPerform(iterations: programs.count) { index in
            results.set(index, Result { try run(programs[index], in: directory.appendingPathComponent("batch\(index)")) })
        }
        return try results.values.map { try $0!.get() }
    }

    private func run(_ program: Program, in batchDirectory: URL) throws -> CapturedRun {
        try FileManager.default.createDirectory(at: batchDirectory, withIntermediateDirectories: true)
        var paths: [String] = []
        for source in program.sources {
            let url = batchDirectory.appendingPathComponent(source.name)
            // The core is a module of its own here; in the kernel the generated code shares it.
            try ("import KernelCore\n" + source.text).write(to: url, atomically: false, encoding: .utf8)
            paths.append(url.path)
        }
        let trace = batchDirectory.appendingPathComponent("trace.txt")
        try program.trace.write(to: trace, atomically: false, encoding: .utf8)
        let executable = batchDirectory.appendingPathComponent("classifiers").path
        try compile(["-module-name", "Classifiers", "-I", directory.path, "-L", directory.path, "-lKernelCore",
                     "-o", executable] + paths,
                    step: "compiling \(batchDirectory.lastPathComponent)")
        return try CapturedRun.run(executable, [trace.path])
    }

    /// Unoptimized, whole-module: one type-check of each file, no optimizer passes.
    private func compile(_ arguments: [String], step: String) throws {
        let arguments = ["-Onone", "-wmo"] + arguments
        let run = try CapturedRun.run(toolchain.swiftc, arguments)
        guard run.succeeded else {
            throw BuildError.stepFailed(step: step, command: [toolchain.swiftc] + arguments, output: String(run.output.suffix(4000)))
        }
    }
}

/// Per-batch results, filled from concurrent workers.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<CapturedRun, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<CapturedRun, any Error>) {
        lock.withLock { slots[index] = result }
    }

    var values: [Result<CapturedRun, any Error>?] { lock.withLock { slots } }
}
