import Testing
@testable import KernelCore

private func render(_ body: (inout ByteText) -> Void) -> [String] {
    var text = ByteText()
    body(&text)
    return String(decoding: text.bytes, as: UTF8.self).split(separator: "\n").map(String.init)
}

@Suite struct PanicReportTests {
    @Test func headlineNamesTheVector() {
        var frame = ExceptionFrame()
        frame.vector = 13
        let lines = render { PanicReport.writeHeadline(frame: frame, instruction: (0x48, 0x8B), runtimeMessage: .init(start: nil, count: 0), to: &$0) }
        #expect(lines == ["PANIC: CPU exception 13 #GP (general protection fault)"])
    }

    @Test func ud2IsASwiftTrapQuotingTheRuntimeMessage() {
        var frame = ExceptionFrame()
        frame.vector = 6
        let message = Array("Kernel.swift:9: Fatal error: boom".utf8)
        let withMessage = message.withUnsafeBufferPointer { buffer in
            render { PanicReport.writeHeadline(frame: frame, instruction: (0x0F, 0x0B), runtimeMessage: buffer, to: &$0) }
        }
        #expect(withMessage == ["PANIC: Swift runtime trap: Kernel.swift:9: Fatal error: boom"])
        let bare = render { PanicReport.writeHeadline(frame: frame, instruction: (0x0F, 0x0B), runtimeMessage: .init(start: nil, count: 0), to: &$0) }
        #expect(bare == ["PANIC: Swift runtime trap: arithmetic overflow or another check without a message (bounds, unwrapping)"])
        let genuine = render { PanicReport.writeHeadline(frame: frame, instruction: (0xFF, 0xFF), runtimeMessage: .init(start: nil, count: 0), to: &$0) }
        #expect(genuine == ["PANIC: CPU exception 6 #UD (invalid opcode)"])
    }

    @Test func pageFaultDetailsDecodeTheErrorCodeAndAddress() {
        var frame = ExceptionFrame()
        frame.vector = 14
        frame.errorCode = 0b00010
        frame.rip = 0x10_2030
        let lines = render { PanicReport.writeDetails(frame: frame, cr2: 0xDEAD_0000, to: &$0) }
        #expect(lines[0] == "  error code 0x0000000000000002: page not present on write from kernel mode")
        #expect(lines[1] == "  fault address (cr2) 0x00000000dead0000")
        #expect(lines[2].hasPrefix("  rip 0x0000000000102030 rsp "))
        #expect(lines.count == 8)
        let fetch = render { PanicReport.writePageFaultCause(0b11101, to: &$0) }
        #expect(fetch == ["protection violation on instruction fetch from user mode, reserved bit set"])
    }

    @Test func vectorsWithoutErrorCodesPrintNone() {
        var frame = ExceptionFrame()
        frame.vector = 0
        let lines = render { PanicReport.writeDetails(frame: frame, cr2: 0, to: &$0) }
        #expect(!lines.contains { $0.contains("error code") || $0.contains("cr2") })
    }

    @Test func backtraceFollowsTheFrameChainInsideTheStack() {
        // Frames at 0x1000 -> 0x1040 -> 0x1080 -> out of the stack.
        let memory: [UInt64: UInt64] = [
            0x1000: 0x1040, 0x1008: 0xAAA, 0x1040: 0x1080, 0x1048: 0xBBB, 0x1080: 0x9000, 0x1088: 0xCCC,
        ]
        let lines = render {
            PanicReport.writeBacktrace(first: 0x111, framePointer: 0x1000, stack: 0x1000..<0x2000, read: { memory[$0] ?? 0 }, to: &$0)
        }
        #expect(lines == ["backtrace:", "  #0 0x0000000000000111", "  #1 0x0000000000000aaa", "  #2 0x0000000000000bbb", "  #3 0x0000000000000ccc"])
    }

    @Test func backtraceStopsOnLoopsAndMisalignedFrames() {
        let looping: [UInt64: UInt64] = [0x1000: 0x1000, 0x1008: 0xAAA]
        var visited: [UInt64] = []
        StackWalker.walk(framePointer: 0x1000, stack: 0x1000..<0x2000, read: { looping[$0] ?? 0 }) { visited.append($0) }
        #expect(visited == [0xAAA])
        visited = []
        StackWalker.walk(framePointer: 0x1003, stack: 0x1000..<0x2000, read: { _ in 0xFFFF }) { visited.append($0) }
        #expect(visited.isEmpty)
        StackWalker.walk(framePointer: 0x1000, stack: 0x1000..<0x2000, maximumFrames: 3, read: { $0 % 16 == 0 ? $0 + 16 : 0x1 }) {
            visited.append($0)
        }
        #expect(visited.count == 3)
    }

    @Test func exitValuesMapToDistinctQEMUStatuses() {
        let statuses = KernelContract.ExitValue.allCases.map(\.qemuStatus)
        #expect(statuses == [33, 35, 37])
        #expect(!statuses.contains(0))
    }
}
