import Foundation

extension OVAPackage {
    /// Opens the OVA at `ova`: reads its descriptor and manifest, streams its
    /// other files into `directory` (which must exist; files already there
    /// are never replaced), checks every file against the manifest, then
    /// parses the descriptor. Nothing is left in `directory` on error.
    ///
    /// Refused, naming the file: a damaged or hostile tar (bad header
    /// checksum, truncation, sizes beyond the archive, unsafe names, links,
    /// too many entries), no descriptor or a descriptor that is not first,
    /// no manifest, a checksum mismatch, a file listed but absent or present
    /// but not listed, a malformed descriptor, or a descriptor whose disk
    /// is not in the package. A certificate (`NAME.cert`) is skipped: the
    /// manifest is checked, its signature is not.
    public static func open(_ ova: URL, into directory: URL) throws(OVAError) -> OpenedOVA {
        let path = ova.path
        func archive<T>(_ body: () throws(TarError) -> T) throws(OVAError) -> T {
            do { return try body() } catch { throw .archive(path, error) }
        }
        let reader = try archive { () throws(TarError) in try TarReader(path: path) }
        guard let first = try archive({ () throws(TarError) in try reader.next() }) else { throw .noDescriptor(path) }
        guard first.name.hasSuffix(".ovf") else {
            while let entry = try archive({ () throws(TarError) in try reader.next() }) {
                if entry.name.hasSuffix(".ovf") { throw .descriptorNotFirst(first: first.name, descriptor: entry.name) }
            }
            throw .noDescriptor(path)
        }
        guard let descriptorBytes = try archive({ () throws(TarError) in try reader.data(first, limit: OVFDescriptor.maximumBytes) }) else {
            throw .tooLarge(first.name, first.header.size, limit: OVFDescriptor.maximumBytes)
        }
        let base = String(first.name.dropLast(".ovf".count))
        let manifestName = base + ".mf"
        var manifest: OVFManifest?
        var digests: [(name: String, sha256: String)] = [(first.name, SHA256.hex(descriptorBytes))]
        var extracted: [URL] = []
        var complete = false
        defer {
            if !complete { for file in extracted { unlink(file.path) } }
        }

        while let entry = try archive({ () throws(TarError) in try reader.next() }) {
            if entry.name == manifestName {
                guard let bytes = try archive({ () throws(TarError) in try reader.data(entry, limit: OVFManifest.maximumBytes) }) else {
                    throw .tooLarge(entry.name, entry.header.size, limit: OVFManifest.maximumBytes)
                }
                let parsed = try OVFManifest(parsing: bytes, file: entry.name)
                // Files before the manifest were extracted unchecked; check them now.
                if let unlisted = digests.first(where: { parsed.sha256(of: $0.name) == nil }) { throw .notInManifest(unlisted.name) }
                manifest = parsed
                continue
            }
            if entry.name == base + ".cert" { continue }
            if let manifest, manifest.sha256(of: entry.name) == nil { throw .notInManifest(entry.name) }
            let target = directory.appendingPathComponent(entry.name)
            let output = Glibc.open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard output >= 0 else {
                throw .io(target.path, "cannot create it: \(String(cString: strerror(errno)))")
            }
            extracted.append(target)
            var hasher = SHA256()
            var written: UInt64 = 0
            let copied = Result { () throws(OVAError) in
                try reader.read(entry) { (chunk: ArraySlice<UInt8>) throws(OVAError) in
                    hasher.update(chunk)
                    if let failure = writeAll(chunk, to: output) { throw .io(target.path, failure) }
                    written += UInt64(chunk.count)
                }
            }
            close(output)
            try copied.get()
            guard written == entry.header.size else { throw .archive(path, .truncated("\(entry.name) changed while it was read")) }
            digests.append((entry.name, hex(hasher.finalize())))
        }

        guard let manifest else { throw .noManifest(manifestName) }
        for (name, actual) in digests {
            guard let expected = manifest.sha256(of: name) else { throw .notInManifest(name) }
            guard expected == actual else { throw .checksumMismatch(file: name, expected: expected, actual: actual) }
        }
        for entry in manifest.entries where !digests.contains(where: { $0.name == entry.file }) {
            throw .listedButAbsent(entry.file)
        }

        let descriptor: OVFDescriptor
        do throws(OVFError) {
            descriptor = try OVFDescriptor(parsing: Data(descriptorBytes))
        } catch {
            throw .descriptor(file: first.name, error)
        }
        guard let disk = extracted.first(where: { $0.lastPathComponent == descriptor.disk.fileName }) else {
            throw .diskNotInPackage(descriptor.disk.fileName)
        }
        if let declared = descriptor.disk.fileBytes,
           let actual = digests.first(where: { $0.name == descriptor.disk.fileName }).map({ _ in fileSize(disk.path) }),
           declared != actual {
            throw .descriptor(file: first.name, .invalid(element: "ovf:size of the disk's <File>", value: "\(declared)",
                                                          reason: "\(descriptor.disk.fileName) in the package is \(actual) bytes"))
        }
        complete = true
        return OpenedOVA(descriptor: descriptor, disk: disk, files: extracted)
    }

    /// Writes all of `chunk`; nil, or why not.
    private static func writeAll(_ chunk: ArraySlice<UInt8>, to output: Int32) -> String? {
        chunk.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(output, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return String(cString: strerror(errno)) }
                offset += count
            }
            return nil
        }
    }

    private static func fileSize(_ path: String) -> UInt64 {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_size) : 0
    }
}
