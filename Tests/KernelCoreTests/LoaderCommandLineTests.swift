import Testing
@testable import KernelCore

/// What is left of a loader's command line once the image path is taken off.
private func arguments(_ line: String) -> String {
    let bytes = Array(line.utf8)
    return String(decoding: bytes[LoaderCommandLine.argumentsStart(in: bytes)...], as: UTF8.self)
}

@Suite struct LoaderCommandLineTests {
    @Test func qemuKernelLinesLoseTheirPath() {
        #expect(arguments("/tmp/skerry-cache/ab12/skerry.elf32 heartbeat=1000 shutdown-after=0") == "heartbeat=1000 shutdown-after=0")
        #expect(arguments("/tmp/skerry.elf32 ") == "", "QEMU's line for an empty -append")
        #expect(arguments("/tmp/skerry.elf32") == "")
        #expect(arguments("skerry.elf32 selftest") == "selftest", "a relative path without '=' is a path")
        #expect(arguments("build/x.elf32 selftest") == "selftest")
    }

    @Test func aPathWithAnEqualsSignIsStillAPath() {
        #expect(arguments("/tmp/a=b/skerry.elf32 heartbeat=5") == "heartbeat=5")
        #expect(arguments("/tmp/heartbeat=1000 shutdown-after=0") == "shutdown-after=0", "a leading '/' is a path, whatever follows")
        #expect(arguments("build/a=b.elf32 selftest") == "selftest", "a '/' before '=' is no key")
    }

    @Test func grubMultibootLinesKeepTheirFirstArgument() {
        #expect(arguments("heartbeat=1000 shutdown-after=0") == "heartbeat=1000 shutdown-after=0")
        #expect(arguments("admin=10.0.0.2/24,gw=10.0.0.1 selftest") == "admin=10.0.0.2/24,gw=10.0.0.1 selftest",
                "a value's '/' follows the '='")
        #expect(arguments("") == "")
        #expect(arguments("   ") == "   ", "blanks only: nothing to take off")
    }

    @Test func everyKnownKeyGivenBareIsAnArgumentNotAPath() {
        for key in BootOptionKey.allCases {
            let name = key.name.description
            #expect(arguments("\(name) heartbeat=1") == "\(name) heartbeat=1", "\(name)")
            #expect(arguments("/boot/skerry.elf \(name)") == name, "\(name) after a path")
        }
        #expect(arguments("selftest") == "selftest")
    }

    @Test func bothLoadersGiveTheSameOptions() {
        let grub = Array("heartbeat=1000 shutdown-after=0 selftest".utf8)
        let qemu = Array("/tmp/a=b/skerry.elf32 heartbeat=1000 shutdown-after=0 selftest".utf8)
        for line in [grub, qemu] {
            let options = BootOptions(KernelArguments(commandLine: line[LoaderCommandLine.argumentsStart(in: line)...]))
            #expect(options.heartbeat == .milliseconds(1000))
            #expect(options.shutdownAfter == .milliseconds(0))
            #expect(options.selfTest)
            #expect(options.problems.isEmpty)
        }
    }

    @Test func keysRoundTripThroughTheirNames() {
        for key in BootOptionKey.allCases {
            #expect(BootOptionKey(name: Array(key.name.description.utf8)) == key)
        }
        #expect(BootOptionKey(name: Array("skerry.elf32".utf8)) == nil)
        #expect(BootOptionKey.allCases.count == 9)
    }
}
