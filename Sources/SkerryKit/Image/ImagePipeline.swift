import Foundation
import KernelCore

/// Turns a built kernel into the file of an image format: the ISO from
/// grub-mkrescue, then a disk converted from it, then (for ova) the package.
/// Each step's output is cached under a key made of its input's key, the
/// options that change its bytes and the versions of the tools that make it,
/// so an unchanged tree costs only the tools' version checks.
public struct ImagePipeline {
    public var cache: ImageCache
    /// Replaces PATH when looking for the tools (tests hide one with it).
    public var searchPath: String?
    /// Checked between steps: true stops the pipeline (a trapped signal).
    public var interrupted: () -> Bool = { false }
    public var log: (String) -> Void = { _ in }

    public init(cache: ImageCache, searchPath: String? = nil) {
        self.cache = cache
        self.searchPath = searchPath
    }

    /// The result: the file and whether it came from the cache without building anything.
    public struct Result: Sendable {
        public var artefact: ImageArtefact
        public var fromCache: Bool
    }

    /// The file the format is made of: the ISO for iso and raw, the disk for
    /// qcow2, vmdk and libvirt, the package for ova.
    public func build(kernel: KernelImage, options: ImageOptions, appliance: ApplianceDescription) throws(ImageError) -> Result {
        let grub = try GrubRescueImage.locate(searchPath: searchPath)
        let isoKey = ImageCache.key([kernel.cacheKey, options.grub.text, grub.fingerprint])
        var fromCache = true
        func iso() throws(ImageError) -> ImageArtefact {
            if let cached = cache.lookup(isoKey, fileName: "skerry.iso") { return cached }
            try checkInterrupted()
            fromCache = false
            log("making the ISO with grub-mkrescue")
            return try cache.store(isoKey, fileName: "skerry.iso") { output, scratch throws(ImageError) in
                try grub.make(kernel: kernel.bootable, grub: options.grub, staging: scratch, output: output)
            }
        }
        guard let target = DiskImageConversion.target(options.format) else {
            return Result(artefact: try iso(), fromCache: fromCache)
        }
        let conversion = try DiskImageConversion.locate(searchPath: searchPath)
        let diskKey = ImageCache.key([isoKey] + target + [conversion.fingerprint])
        let diskName = "skerry." + (options.format == .ova ? ImageFormat.vmdk : options.format == .libvirt ? ImageFormat.qcow2 : options.format).fileExtension
        let disk: ImageArtefact
        if let cached = cache.lookup(diskKey, fileName: diskName) {
            disk = cached
        } else {
            let source = try iso()
            try checkInterrupted()
            fromCache = false
            log("converting to \(diskName) with qemu-img")
            disk = try cache.store(diskKey, fileName: diskName) { output, _ throws(ImageError) in
                try conversion.convert(iso: source.file.path, to: output.path, format: options.format)
            }
        }
        guard options.format == .ova else { return Result(artefact: disk, fromCache: fromCache) }

        let packageKey = ImageCache.key([diskKey, appliance.name, "\(options.memoryMiB ?? -1)", options.firmware?.rawValue ?? "",
                                         options.nicModel?.rawValue ?? "", options.serial?.description ?? "",
                                         ImageOVAPackaging.version])
        if let cached = cache.lookup(packageKey, fileName: "skerry.ova") { return Result(artefact: cached, fromCache: fromCache) }
        try checkInterrupted()
        log("packing the OVA")
        let package = try cache.store(packageKey, fileName: "skerry.ova") { output, _ throws(ImageError) in
            try ImageOVAPackaging.package(appliance: appliance, disk: disk, options: options, to: output)
        }
        return Result(artefact: package, fromCache: false)
    }

    private func checkInterrupted() throws(ImageError) {
        if interrupted() { throw .interrupted }
    }
}
