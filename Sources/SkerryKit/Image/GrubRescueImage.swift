import Foundation

/// Makes the hybrid ISO with grub-mkrescue: one image that boots from a
/// CD-ROM or a disk, under BIOS (El Torito and MBR) and UEFI (an EFI system
/// partition), into GRUB, which loads the kernel by Multiboot.
public struct GrubRescueImage: Sendable {
    /// The modules GRUB carries: enough to read the ISO, talk on the serial
    /// port and load a Multiboot kernel. Everything else (fonts, locales,
    /// themes, the rest of the modules) is left out, which keeps the ISO
    /// under 5 MiB; xz compresses what remains.
    public static let installModules = ["multiboot", "normal", "serial", "terminal", "part_msdos", "part_gpt", "iso9660", "configfile", "echo"]
    /// The modules built into GRUB's core image, loaded before grub.cfg is read.
    public static let coreModules = ["multiboot", "normal", "serial", "terminal", "iso9660"]

    public static var options: [String] {
        ["--install-modules=\(installModules.joined(separator: " "))", "--modules=\(coreModules.joined(separator: " "))",
         "--fonts=", "--locales=", "--themes=", "--compress=xz"]
    }

    public var grubMkrescue: String
    public var xorriso: String
    /// The tools' versions and the options: a different GRUB makes different bytes.
    public var fingerprint: String

    /// Finds every tool grub-mkrescue needs, or names the package of the first one missing.
    /// `searchPath` replaces PATH.
    public static func locate(searchPath: String? = nil) throws(ImageError) -> GrubRescueImage {
        let tools: [DebianTool] = [.grubMkrescue, .grubBIOSModules, .grubEFIModules, .xorriso, .mformat]
        var paths: [String] = []
        for tool in tools {
            do {
                paths.append(try tool.locate(searchPath: searchPath))
            } catch {
                throw .missingTool(error)
            }
        }
        let versions = [paths[0], paths[3], paths[4]].map { ToolVersion.text(of: $0) }
        return GrubRescueImage(
            grubMkrescue: paths[0], xorriso: paths[3],
            fingerprint: (versions + options).joined(separator: "\n"))
    }

    /// Writes the ISO for `kernel` booted with `grub` to `output`, staging its tree in `staging`.
    public func make(kernel: URL, grub: GrubConfiguration, staging: URL, output: URL) throws(ImageError) {
        let root = staging.appendingPathComponent("iso-root")
        let configuration = root.appendingPathComponent(GrubConfiguration.path)
        let kernelCopy = root.appendingPathComponent(String(GrubConfiguration.kernelPath.dropFirst()))
        do {
            try FileManager.default.createDirectory(at: configuration.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(grub.text.utf8).write(to: configuration)
            try FileManager.default.copyItem(at: kernel, to: kernelCopy)
        } catch {
            throw .io("cannot stage the ISO's files in \(staging.path): \(error.localizedDescription)")
        }
        let arguments = ["--xorriso=\(xorriso)", "-o", output.path] + GrubRescueImage.options + [root.path]
        try ToolRun.run("grub-mkrescue", grubMkrescue, arguments)
        guard FileManager.default.fileExists(atPath: output.path) else {
            throw .toolFailed(step: "grub-mkrescue", command: [grubMkrescue] + arguments, output: "it wrote no ISO")
        }
    }
}

/// Runs the image tools.
enum ToolRun {
    static func run(_ step: String, _ executable: String, _ arguments: [String]) throws(ImageError) {
        let result: CapturedRun
        do {
            result = try CapturedRun.run(executable, arguments)
        } catch {
            throw .toolFailed(step: step, command: [executable] + arguments, output: "\(error)")
        }
        guard result.succeeded else {
            throw .toolFailed(step: "\(step) (\(result.termination))", command: [executable] + arguments, output: result.output)
        }
    }
}

/// What a tool says about its version, for cache keys.
enum ToolVersion {
    static func text(of executable: String) -> String {
        let flag = executable.hasSuffix("xorriso") ? "-version" : "--version"
        let output = (try? CapturedRun.run(executable, [flag]))?.output ?? ""
        // Sorted: stdout and stderr arrive interleaved in no fixed order (xorriso writes to both).
        let lines = output.split(separator: "\n").map(String.init).sorted()
        return "\((executable as NSString).lastPathComponent): " + lines.joined(separator: " | ")
    }
}
