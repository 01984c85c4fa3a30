import Foundation
import KernelCore

/// Decides whether KVM can run the appliance here, by trying it.
///
/// `/dev/kvm` existing proves little: nested KVM may hang, fault on SSE or
/// refuse MSRs. The probe boots the real image under KVM with a short
/// timeout and accepts KVM only on a clean shutdown. The verdict is cached
/// for a day per QEMU binary, so only the first boot pays for the probe.
public struct AcceleratorProbe {
    public struct Verdict: Sendable, Codable {
        public var usable: Bool
        public var reason: String
    }

    public var qemu: String
    public var image: URL
    public var firmware = Firmware.bios
    public var timeout: Double = 4
    public var cacheFile: URL? = AcceleratorProbe.defaultCacheFile

    static let cacheLifetime: Double = 24 * 3600

    public init(qemu: String, image: URL) {
        self.qemu = qemu
        self.image = image
    }

    static var defaultCacheFile: URL? {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"] ?? environment["HOME"].map { $0 + "/.cache" }
        return base.map { URL(fileURLWithPath: $0).appendingPathComponent("skerry/kvm-probe.json") }
    }

    public func run() -> Verdict {
        guard FileManager.default.isReadableFile(atPath: "/dev/kvm"),
            FileManager.default.isWritableFile(atPath: "/dev/kvm")
        else {
            return Verdict(usable: false, reason: "/dev/kvm is missing or not accessible")
        }
        let key = qemuIdentity
        if let cached = readCache(key: key) { return cached }
        var request = BootRequest(image: image)
        request.accelerator = .kvm
        request.qemuExecutable = qemu
        request.firmware = firmware
        // An image's arguments are its own (grub.cfg): reaching ready is the test there.
        let isImage = (try? BootMedium(path: image.path))?.isImage ?? false
        if isImage { request.untilPattern = "^" + KernelContract.readyLine.description } else { request.kernelArguments = "shutdown-after=0" }
        // Firmware and GRUB come first on an image: give them time, or a slow probe would cache KVM as unusable.
        request.timeout = isImage ? max(timeout, 20) : timeout
        let verdict: Verdict
        do {
            let result = try BootSession(request: request, observe: { _ in }).run()
            if result.outcome == (isImage ? .untilMatched : .cleanShutdown) {
                verdict = Verdict(usable: true, reason: isImage ? "probe boot reached ready" : "probe boot shut down cleanly")
            } else {
                verdict = Verdict(usable: false, reason: "probe boot under KVM: \(result.outcome.rawValue): \(result.detail)")
            }
        } catch {
            verdict = Verdict(usable: false, reason: "\(error)")
        }
        writeCache(key: key, verdict: verdict)
        return verdict
    }

    private var qemuIdentity: String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: qemu)
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(qemu)@\(modified)"
    }

    private struct CacheEntry: Codable {
        var key: String
        var checkedAt: Double
        var verdict: Verdict
    }

    private func readCache(key: String) -> Verdict? {
        guard let cacheFile, let data = try? Data(contentsOf: cacheFile),
            let entry = try? JSONDecoder().decode(CacheEntry.self, from: data), entry.key == key,
            Date().timeIntervalSince1970 - entry.checkedAt < AcceleratorProbe.cacheLifetime
        else { return nil }
        return Verdict(usable: entry.verdict.usable, reason: entry.verdict.reason + " (cached)")
    }

    private func writeCache(key: String, verdict: Verdict) {
        guard let cacheFile else { return }
        let entry = CacheEntry(key: key, checkedAt: Date().timeIntervalSince1970, verdict: verdict)
        try? FileManager.default.createDirectory(
            at: cacheFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? JSONEncoder().encode(entry).write(to: cacheFile, options: .atomic)
    }
}
