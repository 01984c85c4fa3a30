import Foundation

/// A built kernel image.
public struct KernelImage: Sendable {
    /// The 64-bit ELF, with symbols, for symbolising addresses.
    public var elf64: URL
    /// The elf32-i386 copy that QEMU's Multiboot loader accepts.
    public var bootable: URL
    public var cacheKey: String
    /// False when the image came from the cache.
    public var wasBuilt: Bool
    public var buildSeconds: Double

    public var size: Int {
        ((try? FileManager.default.attributesOfItem(atPath: bootable.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// Compiles Kernel/ into a bootable image with the Embedded Swift flags.
///
/// Builds are content-addressed: the key hashes every source file, the
/// flags and the toolchain's identity, so an unchanged tree is a cache hit
/// that costs only the hashing.
public struct KernelBuilder {
    public var kernelDirectory: URL
    public var outputDirectory: URL
    public var toolchain: Toolchain
    /// Extra Swift sources compiled into the kernel: the appliance file's generated configuration.
    public var extraSources: [URL] = []

    public static let swiftFlags = [
        "-target", "x86_64-unknown-none-elf",
        "-enable-experimental-feature", "Embedded",
        "-enable-experimental-feature", "Extern",
        "-wmo", "-Osize", "-parse-as-library",
        "-Xcc", "-mno-red-zone", "-Xcc", "-fno-pic",
        "-Xfrontend", "-disable-stack-protector",
        // One section per function so the linker's --gc-sections drops what nothing calls.
        "-Xfrontend", "-function-sections",
        // Checks trap without messages (Kernel/Platform/Preconditions.swift keeps the kernel's own).
        "-Xfrontend", "-assert-config", "-Xfrontend", "Release",
        "-Xllvm", "-enable-machine-outliner",
        "-module-name", "SkerryKernel",
    ]
    public static let assemblerFlags = ["-target", "x86_64-unknown-none-elf", "-c"]
    public static let linkerFlags = ["-static", "-nostdlib", "--gc-sections", "--icf=all"]
    /// Cached builds kept besides the newest.
    static let keptBuilds = 4

    public init(kernelDirectory: URL, outputDirectory: URL, toolchain: Toolchain) {
        self.kernelDirectory = kernelDirectory
        self.outputDirectory = outputDirectory
        self.toolchain = toolchain
    }

    struct Sources {
        var swift: [URL]
        var assembly: [URL]
        var linkerScript: URL
    }

    func collectSources() throws(BuildError) -> Sources {
        let fileManager = FileManager.default
        func files(in subdirectory: String, ext: String) -> [URL] {
            let root = kernelDirectory.appendingPathComponent(subdirectory)
            guard let enumerator = fileManager.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
            return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == ext }
                .sorted { $0.path < $1.path }
        }
        let swift = files(in: "Core", ext: "swift") + files(in: "Platform", ext: "swift") + extraSources
        let assembly = files(in: "Boot", ext: "S")
        let linkerScript = kernelDirectory.appendingPathComponent("Boot/linker.ld")
        guard !swift.isEmpty, !assembly.isEmpty, fileManager.fileExists(atPath: linkerScript.path) else {
            throw .missingSources(
                "\(kernelDirectory.path) does not look like a Skerry kernel tree (expected Core/, Platform/ and Boot/linker.ld)")
        }
        return Sources(swift: swift, assembly: assembly, linkerScript: linkerScript)
    }

    /// The cache key for the current tree.
    func cacheKey(_ sources: Sources) throws(BuildError) -> String {
        var hasher = SHA256()
        hasher.update("skerry-kernel-v2 objcopy --strip-all\n")
        hasher.update(toolchain.fingerprint + "\n")
        hasher.update((KernelBuilder.swiftFlags + KernelBuilder.assemblerFlags + KernelBuilder.linkerFlags).joined(separator: " "))
        for file in sources.swift + sources.assembly + [sources.linkerScript] {
            guard let contents = FileManager.default.contents(atPath: file.path) else {
                throw .io("cannot read \(file.path)")
            }
            hasher.update("\n" + file.lastPathComponent + "\n")
            hasher.update(contents)
        }
        return hasher.finalize().prefix(12).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Builds the image, or returns the cached one for an unchanged tree.
    public func build(log: (String) -> Void = { _ in }) throws(BuildError) -> KernelImage {
        let started = Date()
        let sources = try collectSources()
        let key = try cacheKey(sources)
        let directory = outputDirectory.appendingPathComponent(key)
        let elf64 = directory.appendingPathComponent("skerry.elf")
        let bootable = directory.appendingPathComponent("skerry.elf32")
        if FileManager.default.fileExists(atPath: bootable.path) {
            touch(directory)
            return KernelImage(
                elf64: elf64, bootable: bootable, cacheKey: key, wasBuilt: false,
                buildSeconds: Date().timeIntervalSince(started))
        }

        let staging = outputDirectory.appendingPathComponent(".staging-\(key)-\(getpid())")
        do {
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(staging.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: staging) }

        var objects: [String] = []
        let kernelObject = staging.appendingPathComponent("kernel.o").path
        log("compiling \(sources.swift.count) Swift files (Embedded, -Osize)")
        try run(
            "swiftc", toolchain.swiftc,
            KernelBuilder.swiftFlags + sources.swift.map(\.path) + ["-c", "-o", kernelObject])
        objects.append(kernelObject)
        for file in sources.assembly {
            let object = staging.appendingPathComponent(file.deletingPathExtension().lastPathComponent + ".o").path
            try run("clang (\(file.lastPathComponent))", toolchain.clang, KernelBuilder.assemblerFlags + [file.path, "-o", object])
            objects.append(object)
        }
        let stagedElf = staging.appendingPathComponent("skerry.elf").path
        log("linking")
        try run(
            "ld.lld", toolchain.linker,
            KernelBuilder.linkerFlags + ["-T", sources.linkerScript.path] + objects + ["-o", stagedElf])
        let stagedBootable = staging.appendingPathComponent("skerry.elf32").path
        // The bootable copy carries no symbols; the ELF64 keeps them for backtraces.
        try run("objcopy", toolchain.objcopy, ["-O", "elf32-i386", "--strip-all", stagedElf, stagedBootable])

        // Publish atomically: a half-written directory must never look like a cache hit.
        do {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: stagedElf, toPath: elf64.path)
            try FileManager.default.moveItem(atPath: stagedBootable, toPath: bootable.path)
        } catch {
            throw .io("cannot write \(directory.path): \(error.localizedDescription)")
        }
        pruneOldBuilds(keeping: key)
        return KernelImage(
            elf64: elf64, bootable: bootable, cacheKey: key, wasBuilt: true,
            buildSeconds: Date().timeIntervalSince(started))
    }

    func run(_ step: String, _ executable: String, _ arguments: [String]) throws(BuildError) {
        let result: CapturedRun
        do {
            result = try CapturedRun.run(executable, arguments)
        } catch {
            throw .stepFailed(step: step, command: [executable] + arguments, output: "\(error)")
        }
        guard result.succeeded else {
            throw .stepFailed(
                step: "\(step) (\(result.termination))", command: [executable] + arguments, output: result.output)
        }
    }

    private func touch(_ directory: URL) {
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: directory.path)
    }

    /// Keeps the newest few builds so switching between trees stays cheap
    /// without the cache growing forever.
    private func pruneOldBuilds(keeping key: String) {
        let fileManager = FileManager.default
        guard
            let entries = try? fileManager.contentsOfDirectory(
                at: outputDirectory, includingPropertiesForKeys: [.contentModificationDateKey])
        else { return }
        let builds = entries.filter { !$0.lastPathComponent.hasPrefix(".") && $0.lastPathComponent != key }
            .sorted {
                let a = (try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
                let b = (try? $1.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
                return a > b
            }
        for stale in builds.dropFirst(KernelBuilder.keptBuilds) { try? fileManager.removeItem(at: stale) }
    }
}

extension KernelBuilder {
    /// Builds Kernel/Floor/floor.S, the do-nothing image the boot benchmark
    /// measures QEMU's own start-up cost with.
    public func buildFloorImage() throws(BuildError) -> URL {
        let source = kernelDirectory.appendingPathComponent("Floor/floor.S")
        let linkerScript = kernelDirectory.appendingPathComponent("Boot/linker.ld")
        let directory = outputDirectory.appendingPathComponent("floor")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(directory.path): \(error.localizedDescription)")
        }
        let object = directory.appendingPathComponent("floor.o").path
        let elf = directory.appendingPathComponent("floor.elf").path
        let bootable = directory.appendingPathComponent("floor.elf32")
        try run("clang (floor.S)", toolchain.clang, KernelBuilder.assemblerFlags + [source.path, "-o", object])
        try run("ld.lld (floor)", toolchain.linker, KernelBuilder.linkerFlags + ["-T", linkerScript.path, object, "-o", elf])
        try run("objcopy (floor)", toolchain.objcopy, ["-O", "elf32-i386", "--strip-all", elf, bootable.path])
        return bootable
    }
}
