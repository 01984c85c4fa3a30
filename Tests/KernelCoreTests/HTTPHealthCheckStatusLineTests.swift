import Testing
@testable import KernelCore

/// The status line the HTTP health check reads, parsed from bytes alone.
@Suite struct HTTPHealthCheckStatusLineTests {
    func parse(_ text: String) -> HTTPStatusLine.Parse {
        Array(text.utf8).withUnsafeBytes { HTTPStatusLine.parse($0) }
    }

    @Test func aWholeStatusLineGivesItsCode() {
        #expect(parse("HTTP/1.1 200 OK\r\n") == .status(200))
        #expect(parse("HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n") == .status(503))
        #expect(parse("HTTP/1.1 404 \r\n") == .status(404), "the reason phrase may be empty")
        #expect(parse("HTTP/1.1 200 OK\n") == .status(200), "a bare LF ends the line too")
        #expect(parse("HTTP/1.1 302 Found\tnow \u{e9}\r\n") == .status(302), "HTAB and obs-text belong to the reason")
        #expect(parse("HTTP/1.9 100 Continue\r\n") == .status(100))
        #expect(parse("HTTP/1.1 599 x\r\n") == .status(599))
    }

    /// Every prefix of a good line is incomplete: more bytes may still make it whole.
    @Test func everyPrefixOfAGoodLineIsIncomplete() {
        let line = "HTTP/1.1 200 OK\r\n"
        let bytes = Array(line.utf8)
        for length in 0..<bytes.count {
            let result = Array(bytes[..<length]).withUnsafeBytes { HTTPStatusLine.parse($0) }
            #expect(result == .incomplete, "\(length) bytes")
        }
    }

    @Test func anythingElseIsMalformedAsSoonAsItDiffers() {
        #expect(parse("SSH-2.0-OpenSSH_9.6\r\n") == .malformed)
        #expect(parse("H") == .incomplete)
        #expect(parse("X") == .malformed, "decided at the first wrong byte")
        #expect(parse("HTTP/2 200 OK\r\n") == .malformed)
        #expect(parse("HTTP/1.x 200 OK\r\n") == .malformed)
        #expect(parse("HTTP/1.1  200 OK\r\n") == .malformed)
        #expect(parse("HTTP/1.1 2x0 OK\r\n") == .malformed)
        #expect(parse("HTTP/1.1 200\r\n") == .malformed, "the code is followed by a space")
        #expect(parse("HTTP/1.1 2000 OK\r\n") == .malformed)
        #expect(parse("http/1.1 200 OK\r\n") == .malformed, "the version is case-sensitive")
        #expect(parse("HTTP/1.1 200 O\rK\r\n") == .malformed, "CR only before LF")
        #expect(parse("HTTP/1.1 200 O\u{0}K\r\n") == .malformed)
        #expect(parse("HTTP/1.1 200 O\u{7f}K\r\n") == .malformed)
    }

    @Test func codesOutside100To599AreMalformed() {
        #expect(parse("HTTP/1.1 099 Low\r\n") == .malformed)
        #expect(parse("HTTP/1.1 600 High\r\n") == .malformed)
        #expect(parse("HTTP/1.1 0") == .malformed, "decided by the first digit")
        #expect(parse("HTTP/1.1 9") == .malformed)
        #expect(parse("HTTP/1.1 1") == .incomplete)
        #expect(parse("HTTP/1.1 5") == .incomplete)
    }
}
