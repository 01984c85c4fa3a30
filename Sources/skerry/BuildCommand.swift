import ArgumentParser
import Foundation
import SkerryKit

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Compile Kernel/ into a bootable image.",
        discussion: """
            Builds with the Embedded Swift flags and prints the image's path and size. \
            Builds are cached by content: an unchanged tree returns the previous image at once.

            """ + ExitStatuses.help(ExitStatuses.plain))

    @Argument(help: ArgumentHelp(
        "Appliance to build in: a directory holding appliance.conf (like Samples/web) or the file itself. Without one, the kernel has no balanced services.",
        valueName: "appliance"))
    var appliance: String?

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel source tree.", valueName: "dir"))
    var kernelDirectory: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("Where images are kept.", valueName: "dir"))
    var outputDirectory: String?

    @Flag(help: "Print only the image path.")
    var quiet = false

    func run() throws {
        let image = try KernelBuild.build(kernel: kernelDirectory, output: outputDirectory, appliance: appliance, verbose: !quiet)
        if quiet {
            print(image.bootable.path)
        } else {
            let state = image.wasBuilt ? String(format: "built in %.2f s", image.buildSeconds) : "up to date"
            print("\(image.bootable.path) (\(ByteCountText.kibibytes(image.size)), \(state))")
        }
    }
}

/// Shared by `build`, `boot` and `bench`: builds (or finds in the cache) the kernel image.
enum KernelBuild {
    static func build(kernel: String?, output: String?, appliance: String? = nil, verbose: Bool) throws -> KernelImage {
        let layout = ProjectLayout.find()
        guard let kernelDirectory = kernel.map({ URL(fileURLWithPath: $0) }) ?? layout?.kernelDirectory else {
            throw CLIError(kernel == nil
                ? "no Kernel/ found here, above, or beside this skerry binary; run inside the Skerry tree"
                : "no Kernel/ at \(kernel!)")
        }
        let outputDirectory =
            output.map { URL(fileURLWithPath: $0) }
            ?? layout?.kernelBuildDirectory
            ?? kernelDirectory.deletingLastPathComponent().appendingPathComponent(".build/skerry/kernel")
        let generated = try ApplianceFile.generate(appliance, into: outputDirectory.deletingLastPathComponent().appendingPathComponent("generated"))
        if verbose, let appliance {
            FileHandle.standardError.write(Data("skerry: appliance \(appliance)\n".utf8))
        }
        do {
            var builder = KernelBuilder(
                kernelDirectory: kernelDirectory, outputDirectory: outputDirectory, toolchain: try Toolchain.locate())
            builder.extraSources = generated
            return try builder.build(log: { message in
                if verbose { FileHandle.standardError.write(Data("skerry: \(message)\n".utf8)) }
            })
        } catch {
            throw CLIError("build failed: \(error)")
        }
    }
}

/// An error the command line reports as `Error: …`, exiting with `status`.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var status: ExitStatus

    init(_ description: String, status: ExitStatus = .failure) {
        self.description = description
        self.status = status
    }
}

enum ByteCountText {
    static func kibibytes(_ bytes: Int) -> String { String(format: "%.1f KiB", Double(bytes) / 1024) }
}

/// Finds, validates and generates an appliance's configuration and
/// firewall sources.
enum ApplianceFile {
    /// `path` may be a directory holding appliance.conf or the file itself;
    /// nil gives the standalone configuration. Returns the generated files.
    static func generate(_ path: String?, into directory: URL) throws -> [URL] {
        var configuration = ApplianceCodegen.standalone
        var firewall = FirewallCodegen.absent()
        var name = "standalone"
        if let path {
            let check = try self.check(path)
            for warning in check.warnings {
                FileHandle.standardError.write(Data("\(warning)\n".utf8))
            }
            configuration = ApplianceCodegen.source(for: check.appliance)
            name = check.appliance.name
            if let ruleSet = check.ruleSet {
                firewall = FirewallCodegen(ruleSet: ruleSet, sourceText: check.ruleText).generate().source
            }
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try [("ApplianceConfiguration-\(name).swift", configuration), ("ApplianceFirewall-\(name).swift", firewall)]
                .map { file, source in
                    let url = directory.appendingPathComponent(file)
                    // Unchanged content keeps its timestamp; the build cache keys on content anyway.
                    if FileManager.default.contents(atPath: url.path) != Data(source.utf8) {
                        try Data(source.utf8).write(to: url)
                    }
                    return url
                }
        } catch {
            throw CLIError("cannot write the generated configuration: \(error.localizedDescription)")
        }
    }

    /// The appliance described at `path` (a directory holding appliance.conf, or the file).
    static func load(_ path: String) throws -> ApplianceDescription {
        try check(path).appliance
    }

    /// The appliance at `path` and its firewall, checked together; every error of both stops it.
    static func check(_ path: String) throws -> ApplianceCheck {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("no appliance at \(path)")
        }
        // As the user wrote it, so diagnostics name the files the way they were given.
        let file = isDirectory.boolValue ? (path as NSString).appendingPathComponent("appliance.conf") : path
        do {
            return try ApplianceCheck.run(file)
        } catch {
            throw CLIError("invalid appliance, nothing was built:\n\(error)")
        }
    }
}

/// Reads, checks and compiles a firewall rule file, printing its warnings.
enum FirewallRuleFile {
    /// - Parameter building: whether an image was to be built from it, which the error then says was not.
    static func load(_ path: String, building: Bool = false) throws -> FirewallRuleSet {
        let ruleSet: FirewallRuleSet
        do {
            ruleSet = try FirewallParser.load(path)
        } catch {
            throw CLIError("invalid firewall rules\(building ? ", nothing was built" : ""):\n\(error)")
        }
        for warning in ruleSet.warnings {
            FileHandle.standardError.write(Data("\(warning)\n".utf8))
        }
        return ruleSet
    }

    static func generate(_ path: String) throws -> String {
        let ruleSet = try load(path, building: true)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return FirewallCodegen(ruleSet: ruleSet, sourceText: text).generate().source
    }
}
