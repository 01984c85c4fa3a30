import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Lines that arrive in the same read as the one `--until` matches stay lines.
@Suite struct UntilMidChunkTests {
    @Test func linesAfterTheMatchInTheSameReadAreEachReported() throws {
        let directory = NSTemporaryDirectory() + "skerry-chunk-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A stand-in QEMU that writes four lines and half a fifth in one write, then waits to be stopped.
        let guest = directory + "/qemu"
        try "#!/bin/sh\nprintf 'one\\nstop here\\ntwo\\nthree\\nhal'\nexec sleep 30\n".write(toFile: guest, atomically: true, encoding: .utf8)
        chmod(guest, 0o755)
        let image = directory + "/fake.elf32"
        FileManager.default.createFile(atPath: image, contents: Data("not a kernel".utf8))
        let run = SkerryCLI.run(["boot", image, "--qemu", guest, "--accel", "tcg", "--json", "--until", "^stop here$", "--timeout", "20"], timeout: 40)
        #expect(run.code == BootOutcome.untilMatched.exitCode, "\(run.stderr)")
        #expect(run.consoleLines == ["one", "stop here", "two", "three", "hal"], "\(run.consoleLines)")
    }
}
