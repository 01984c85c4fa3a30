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
            """)

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel source tree.", valueName: "dir"))
    var kernelDirectory: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("Where images are kept.", valueName: "dir"))
    var outputDirectory: String?

    @Flag(help: "Print only the image path.")
    var quiet = false

    func run() throws {
        let image = try KernelBuild.build(kernel: kernelDirectory, output: outputDirectory, verbose: !quiet)
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
    static func build(kernel: String?, output: String?, verbose: Bool) throws -> KernelImage {
        let layout = ProjectLayout.find()
        guard let kernelDirectory = kernel.map({ URL(fileURLWithPath: $0) }) ?? layout?.kernelDirectory else {
            throw CLIError("no Kernel/ found here or above; run inside the Skerry tree or pass --kernel DIR")
        }
        let outputDirectory =
            output.map { URL(fileURLWithPath: $0) }
            ?? layout?.kernelBuildDirectory
            ?? kernelDirectory.deletingLastPathComponent().appendingPathComponent(".build/skerry/kernel")
        do {
            let builder = KernelBuilder(
                kernelDirectory: kernelDirectory, outputDirectory: outputDirectory, toolchain: try Toolchain.locate())
            return try builder.build(log: { message in
                if verbose { FileHandle.standardError.write(Data("skerry: \(message)\n".utf8)) }
            })
        } catch {
            throw CLIError("build failed: \(error)")
        }
    }
}

/// An error the command line reports as `error: …` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum ByteCountText {
    static func kibibytes(_ bytes: Int) -> String { String(format: "%.1f KiB", Double(bytes) / 1024) }
}
