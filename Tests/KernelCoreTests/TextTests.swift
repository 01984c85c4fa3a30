import Testing
@testable import KernelCore

private func render(_ body: (inout ByteText) -> Void) -> String {
    var text = ByteText()
    body(&text)
    return String(decoding: text.bytes, as: UTF8.self)
}

@Suite struct TextSinkTests {
    @Test func decimals() {
        #expect(render { $0.write(decimal: 0 as UInt64) } == "0")
        #expect(render { $0.write(decimal: UInt64.max) } == "18446744073709551615")
        #expect(render { $0.write(decimal: 42 as UInt64, width: 5) } == "   42")
        #expect(render { $0.write(decimal: -7, width: 4) } == "  -7")
    }

    @Test func hexadecimals() {
        #expect(render { $0.write(hex: 0xBEEF, digits: 8) } == "0x0000beef")
        #expect(render { $0.write(hex: 0x1_0000_0000, digits: 4) } == "0x100000000")
        #expect(render { $0.write(hex: 0) } == "0x0000000000000000")
    }

    @Test func fixedPointAndByteCounts() {
        #expect(render { $0.write(fixedPoint: 13_743, fractionDigits: 3) } == "13.743")
        #expect(render { $0.write(fixedPoint: 5, fractionDigits: 3) } == "0.005")
        #expect(render { $0.write(fixedPoint: 12, fractionDigits: 0) } == "12")
        #expect(render { $0.write(byteCount: 512) } == "512 B")
        #expect(render { $0.write(byteCount: 1536) } == "1.5 KiB")
        #expect(render { $0.write(byteCount: 128 << 20) } == "128.0 MiB")
        #expect(render { $0.write(byteCount: 3 << 30) } == "3.0 GiB")
    }
}

@Suite struct LineEditorTests {
    private func feed(_ editor: inout LineEditor, _ text: String) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in text.utf8 {
            if case .line(let line) = editor.feed(byte) { lines.append(line) }
        }
        return lines
    }

    @Test func collectsLinesAndHandlesCRLFOnce() {
        var editor = LineEditor()
        #expect(feed(&editor, "status\r\nhelp\n\n") == [Array("status".utf8), Array("help".utf8), []])
    }

    @Test func backspaceAndKillLineEdit() {
        var editor = LineEditor()
        #expect(feed(&editor, "shux\u{7F}tdown\r") == [Array("shutdown".utf8)])
        #expect(feed(&editor, "garbage\u{15}heap\r") == [Array("heap".utf8)])
        _ = editor.feed(0x08)
        #expect(editor.echo.isEmpty, "backspace on an empty line echoes nothing")
    }

    @Test func dropsControlBytesAndBoundsTheLine() {
        var editor = LineEditor(capacity: 4)
        #expect(feed(&editor, "ab\u{1B}cdef\r") == [Array("abcd".utf8)])
        _ = feed(&editor, "wxyz")
        _ = editor.feed(0x41)
        #expect(editor.echo == [0x07], "overflow rings the bell")
    }
}

@Suite struct KernelArgumentsTests {
    @Test func splitsWordsAndValues() {
        let arguments = KernelArguments(commandLine: Array("  panic-test=page-fault\tselftest  shutdown-after=5 ".utf8))
        #expect(arguments.arguments.count == 3)
        #expect(arguments.value("panic-test") == Array("page-fault".utf8))
        #expect(arguments.value("selftest") == [])
        #expect(arguments.contains("shutdown-after"))
        #expect(!arguments.contains("shutdown"))
        #expect(arguments.value("missing") == nil)
    }

    @Test func laterValuesWinAndNulEndsTheLine() {
        let arguments = KernelArguments(commandLine: Array("heartbeat=1 heartbeat=2\0ignored=1".utf8))
        #expect(arguments.value("heartbeat") == Array("2".utf8))
        #expect(!arguments.contains("ignored"))
    }

    @Test func decimalParsingRejectsGarbageAndOverflow() {
        #expect(Array("1234".utf8).decimalValue == 1234)
        #expect(Array("".utf8).decimalValue == nil)
        #expect(Array("12a".utf8).decimalValue == nil)
        #expect(Array("99999999999999999999999".utf8).decimalValue == nil)
    }

    @Test func bootOptionsRecogniseEveryArgument() {
        let options = BootOptions(KernelArguments(commandLine: Array(
            "panic-test=divide-error fail-test selftest shutdown-after=250 heartbeat=1000".utf8)))
        #expect(options.panicTest == .divideError)
        #expect(options.failTest && options.selfTest)
        #expect(options.shutdownAfter == .milliseconds(250))
        #expect(options.heartbeat == .seconds(1))
        #expect(options.problems.isEmpty)
    }

    @Test func bootOptionsReportProblemsWithoutFailing() {
        let options = BootOptions(KernelArguments(commandLine: Array(
            "bogus panic-test=melt shutdown-after=soon heartbeat".utf8)))
        #expect(options.panicTest == nil && options.shutdownAfter == nil && options.heartbeat == nil)
        let problems = options.problems.map { ($0.kind, String(decoding: $0.argument, as: UTF8.self)) }
        #expect(problems.map(\.1) == ["bogus", "panic-test=melt", "shutdown-after=soon", "heartbeat"])
        #expect(problems.map(\.0) == [.unknownArgument, .badValue, .badValue, .missingValue])
    }

    @Test func everyPanicTestNameRoundTrips() {
        for test in PanicTest.allCases {
            let name = test.name.withUTF8Buffer { Array($0) }
            #expect(PanicTest(name: name) == test)
        }
        #expect(PanicTest(name: Array("page".utf8)) == nil)
    }
}
