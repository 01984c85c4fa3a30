/// `selftest`: exercises the heap and the timer path on the real machine
/// (the host tests cover the same logic, but not this CPU, this clock and
/// these interrupts). Reports a kernel failure if anything is wrong.
enum SelfTest {
    static func run(loop: KernelLoop) {
        console.line("selftest: heap")
        var blocks: [UnsafeMutableRawPointer] = []
        var size = 8
        for round in 0..<200 {
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: round % 7 == 0 ? 4096 : 16)
            block.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: round), count: size)
            blocks.append(block)
            size = size * 3 % 20_000 + 8
        }
        for (index, block) in blocks.enumerated() where index % 2 == 0 { block.deallocate() }
        if kernelHeap.verify() != nil { Kernel.fail("selftest: heap verification failed") }
        for (index, block) in blocks.enumerated() where index % 2 == 1 { block.deallocate() }
        blocks = []
        if kernelHeap.verify() != nil { Kernel.fail("selftest: heap verification failed after frees") }

        console.line("selftest: timers")
        var fired: [Int] = []
        let start = Clock.now()
        loop.schedule(after: .milliseconds(30)) { fired.append(3) }
        loop.schedule(after: .milliseconds(10)) { fired.append(1) }
        loop.schedule(after: .milliseconds(20)) { fired.append(2) }
        InterruptController.unmask(InterruptController.timerLine)
        while fired.count < 3 && Clock.now().since(start) < .seconds(2) { loop.turn() }
        let elapsed = Clock.now().since(start)
        guard fired == [1, 2, 3] else { Kernel.fail("selftest: timers fired out of order") }
        guard elapsed >= .milliseconds(30), elapsed < .milliseconds(500) else {
            Kernel.fail("selftest: timer took an implausible time")
        }
        console.write("selftest: passed (timers in ")
        console.write(fixedPoint: elapsed.microseconds, fractionDigits: 3)
        console.line(" ms)")
    }
}
