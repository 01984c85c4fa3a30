import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Boots an OVA the way vSphere imports one: every file is checked against
/// the manifest before anything runs, then the descriptor's memory, NIC
/// model and firmware set up the VM, and its disk is booted. The disk is
/// extracted into a directory of its own, removed with the session. A
/// package comes from elsewhere: its disk must be a self-contained
/// streamOptimized VMDK and its memory within what skerry boots.
struct OVABoot {
    let directory: TemporaryDirectory
    let opened: OpenedOVA

    init(_ package: URL) throws(BootSetupError) {
        // A FIFO would block the open for good; a device would be read without end.
        var status = stat()
        guard stat(package.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw .unbootablePackage(package.path, "not a regular file")
        }
        directory = try TemporaryDirectory(prefix: "skerry-ova")
        do {
            opened = try OVAPackage.open(package, into: URL(fileURLWithPath: directory.path))
        } catch {
            directory.remove()
            throw .package(package.path, error)
        }
        let memory = opened.descriptor.memoryMiB
        let range = BootRequest.memoryRange
        if !range.contains(memory) {
            directory.remove()
            throw .unbootablePackage(package.path, "its descriptor's memory is \(memory) MiB; skerry boots \(range.lowerBound)-\(range.upperBound) MiB")
        }
        if let problem = StreamOptimizedVMDK.problem(opened.disk) {
            directory.remove()
            throw .unbootablePackage(package.path, "its disk \(opened.disk.lastPathComponent) \(problem)")
        }
    }

    /// What was checked and what boots, for the boot's notes.
    func summary(of request: BootRequest) -> String {
        "\(opened.descriptor.name): every file matches the manifest; booting \(opened.disk.lastPathComponent)"
            + " with \(request.memoryMiB) MiB, \(request.nicModel.rawValue) NICs and \(request.firmware.rawValue)"
    }

    /// `request` booting the extracted disk, with the descriptor's settings
    /// where the command line left them to it.
    func apply(to request: BootRequest) -> BootRequest {
        var request = request
        let descriptor = opened.descriptor
        request.image = opened.disk
        // The kernel inside was built with these MACs pinned: its NICs must carry them.
        for interface in descriptor.interfaces {
            if let mac = interface.mac { request.macs[interface.role] = mac }
        }
        if request.settingsFromPackage.contains(.memory) { request.memoryMiB = descriptor.memoryMiB }
        if request.settingsFromPackage.contains(.nicModel) { request.nicModel = descriptor.nicModel }
        if request.settingsFromPackage.contains(.firmware) { request.firmware = descriptor.firmware }
        return request
    }
}
