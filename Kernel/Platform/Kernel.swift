/// Boot sequence and the kernel's top level: the hardware comes up, then
/// the one appliance, the shell and the event loop that runs them.
enum Kernel {
    /// Highest address the boot page tables map.
    static let identityMapEnd: UInt64 = 4 << 30

    static func boot(magic: UInt32, info: UInt32) -> Never {
        Serial.initialize()
        InterruptController.initialize()
        Clock.calibrate()
        let calibrated = Clock.now()

        guard magic == MultibootInfo.bootloaderMagic else {
            fail("not started by a Multiboot loader")
        }
        let multiboot = MultibootInfo(address: UInt64(info))
        var placement = HeapPlacement(
            reservedBelow: max(address(of: &kernelEndSymbol), multiboot.highestUsedAddress),
            mappedBelow: identityMapEnd)
        multiboot.forEachRegion { placement.consider($0) }
        guard let region = placement.best, region.end - region.start >= 4 << 20 else {
            fail("no usable memory above the kernel (need at least 4 MiB)")
        }
        kernelHeap = Heap(
            start: UnsafeMutableRawPointer(bitPattern: UInt(region.start)).unsafelyUnwrapped,
            byteCount: Int(region.end - region.start))
        Machine.state.availableMemory = placement.availableBytes

        Machine.state.features = CPUFeatures(query: { cpuid($0, $1) })
        Entropy.configure(Machine.state.features)

        let arguments = KernelArguments(commandLine: multiboot.arguments)
        let options = BootOptions(arguments, interfaces: ApplianceConfiguration.interfaces)

        writeBanner(commandLine: multiboot.arguments)
        for problem in options.problems {
            console.write("warning: ")
            switch problem.kind {
            case .unknownArgument: console.write("unknown kernel argument '")
            case .badValue: console.write("bad value in kernel argument '")
            case .missingValue: console.write("kernel argument needs a value: '")
            }
            console.write(bytes: problem.argument)
            console.line("'")
        }

        let loop = KernelLoop(platform: MachineEvents())
        if options.selfTest { SelfTest.run(loop: loop) }

        let networkStart = Clock.now()
        let appliance = Network.start(options: options, loop: loop)
        let networkDone = Clock.now()
        InterruptController.unmask(InterruptController.timerLine)
        InterruptController.unmask(InterruptController.serialLine)
        var shell = Shell(loop: loop, appliance: appliance)
        loop.addPoller { shell.poll() }

        console.write("boot: ")
        console.write(fixedPoint: Clock.now().nanoseconds / 1_000, fractionDigits: 3)
        console.write(" ms since entry (clock calibration ")
        console.write(fixedPoint: calibrated.nanoseconds / 1_000, fractionDigits: 3)
        console.write(" ms, network ")
        console.write(fixedPoint: networkDone.since(networkStart).microseconds, fractionDigits: 3)
        console.line(" ms)")
        console.line(KernelContract.readyLine)

        if options.failTest { fail("fail-test requested on the kernel command line") }
        if let test = options.panicTest { PanicTests.trigger(test) }
        if let delay = options.shutdownAfter {
            loop.schedule(after: delay) { shutdown(appliance) }
        }
        if let period = options.heartbeat, period > .zero {
            loop.repeating(every: period) { writeStatus(loop: loop, appliance: appliance) }
        }
        Shell.prompt()
        loop.run()
        shutdown(appliance)
    }

    private static func writeBanner(commandLine: UnsafeBufferPointer<UInt8>) {
        console.write(KernelContract.bannerPrefix)
        console.write(KernelVersion.text)
        console.write(" - unikernel load balancer and firewall, appliance ")
        console.line(ApplianceConfiguration.name)
        console.write("cpu: ")
        let features = Machine.state.features
        console.write(bytes: features.vendor)
        if !features.brand.isEmpty {
            console.write(", ")
            console.write(bytes: features.brand)
        }
        console.write(", tsc ")
        console.write(fixedPoint: Machine.state.clock.cyclesPerSecond / 1_000_000, fractionDigits: 3)
        console.line(" GHz")
        console.write("cpu features: ")
        features.writeFlags(to: &console)
        console.newline()
        console.write("memory: ")
        console.write(byteCount: Machine.state.availableMemory)
        console.write(" available, heap ")
        console.write(byteCount: UInt64(kernelHeap.statistics.capacity))
        console.newline()
        console.write("entropy: ")
        console.line(Entropy.sourceName)
        console.write("command line: ")
        if commandLine.isEmpty { console.write("(empty)") } else { console.write(bytes: commandLine) }
        console.newline()
    }

    static func writeHeap() {
        let stats = kernelHeap.statistics
        console.write("heap: used ")
        console.write(byteCount: UInt64(stats.inUse))
        console.write(", free ")
        console.write(byteCount: UInt64(stats.free))
        console.write(", peak ")
        console.write(byteCount: UInt64(stats.peak))
        console.write(", allocations ")
        console.write(decimal: stats.allocations)
        console.write(", frees ")
        console.write(decimal: stats.frees)
        console.newline()
    }

    static func writeStatus(loop: KernelLoop, appliance: Appliance) {
        console.beginLine()
        console.write("uptime ")
        console.write(fixedPoint: Clock.now().nanoseconds / 1_000_000, fractionDigits: 3)
        console.write(" s, loop load ")
        console.write(fixedPoint: loop.statistics.loadPerMille, fractionDigits: 1)
        console.write("%, timers ")
        console.write(decimal: loop.pendingTimers)
        console.write(", irq timer ")
        console.write(decimal: irqCount(InterruptController.timerLine))
        console.write(", serial ")
        console.write(decimal: irqCount(InterruptController.serialLine))
        console.newline()
        Network.writeCounters(appliance.stack)
        console.beginLine()
        ConsoleReport.writeTelemetryCounters(appliance.stream.counters, to: &console)
        writeHeap()
    }

    static func shutdown(_ appliance: Appliance) -> Never {
        console.beginLine()
        Network.writeCounters(appliance.stack)
        Network.writeStackCounters(appliance.stack)
        writeHeap()
        console.line(KernelContract.ExitValue.cleanShutdown.finalLine)
        exitQEMU(.cleanShutdown)
    }

    static func fail(_ reason: StaticString) -> Never {
        console.beginLine()
        console.write(KernelContract.failurePrefix)
        console.line(reason)
        console.line(KernelContract.ExitValue.failure.finalLine)
        exitQEMU(.failure)
    }
}

@_cdecl("skerry_kernel_main")
func skerryKernelMain(_ magic: UInt32, _ info: UInt32) -> Never {
    Kernel.boot(magic: magic, info: info)
}
