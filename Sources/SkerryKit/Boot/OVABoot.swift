import Foundation

/// Boots an OVA the way vSphere imports one: every file is checked against
/// the manifest before anything runs, then the descriptor's memory, NIC
/// model and firmware set up the VM, and its disk is booted. The disk is
/// extracted into a directory of its own, removed with the session.
struct OVABoot {
    let directory: TemporaryDirectory
    let opened: OpenedOVA

    init(_ package: URL) throws(BootSetupError) {
        directory = try TemporaryDirectory(prefix: "skerry-ova")
        do {
            opened = try OVAPackage.open(package, into: URL(fileURLWithPath: directory.path))
        } catch {
            directory.remove()
            throw .package(package.path, error)
        }
    }

    /// What was checked and what boots, for the boot's notes.
    func summary(of request: BootRequest) -> String {
        let checked = opened.files.count
        return "\(opened.descriptor.name): \(counted(checked, "file")) match the manifest; booting \(opened.disk.lastPathComponent)"
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
