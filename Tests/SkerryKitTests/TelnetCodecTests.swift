import Testing
@testable import SkerryKit

/// The telnet codec: negotiation as QEMU's and a vSphere serial concentrator's
/// servers start it, the protocol taken out of data however it is split, and
/// hostile servers.
@Suite struct TelnetCodecTests {
    static let iac = TelnetCodec.iac
    static let (will, wont, `do`, dont, sb, se) = (TelnetCodec.will, TelnetCodec.wont, TelnetCodec.do, TelnetCodec.dont, TelnetCodec.sb, TelnetCodec.se)
    static let (echo, sga, binary, ttype, naws, linemode) = (UInt8(1), UInt8(3), UInt8(0), UInt8(24), UInt8(31), UInt8(34))

    /// Feeds `bytes` in pieces of `piece` bytes; returns the data and the replies.
    static func decode(_ codec: inout TelnetCodec, _ bytes: [UInt8], piece: Int = .max) -> (data: [UInt8], replies: [UInt8]) {
        var data: [UInt8] = []
        var replies: [UInt8] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + piece)
            codec.decode(bytes[start..<end], data: &data, replies: &replies)
            start = end
        }
        return (data, replies)
    }

    @Test func qemusOpeningIsAnsweredAgreeingToEchoAndSuppressGoAheadOnly() {
        var codec = TelnetCodec()
        // chardev/char-socket.c's tcp_chr_telnet_init: WILL ECHO, WILL SGA, WILL BINARY, DO BINARY.
        let opening: [UInt8] = [Self.iac, Self.will, Self.echo, Self.iac, Self.will, Self.sga,
                                Self.iac, Self.will, Self.binary, Self.iac, Self.do, Self.binary]
        let (data, replies) = Self.decode(&codec, opening + Array("skerry> ".utf8))
        #expect(data == Array("skerry> ".utf8))
        #expect(replies == [Self.iac, Self.do, Self.echo, Self.iac, Self.do, Self.sga,
                            Self.iac, Self.dont, Self.binary, Self.iac, Self.wont, Self.binary])
        #expect(codec.peerEnabled(Self.echo) && codec.peerEnabled(Self.sga) && !codec.peerEnabled(Self.binary))
        // The same requests again change nothing, so nothing is answered: no loop.
        #expect(Self.decode(&codec, opening).replies.isEmpty)
    }

    @Test func aServerAskingForTerminalOptionsIsRefusedOnceAndDisablingIsAcknowledged() {
        var codec = TelnetCodec()
        let asks: [UInt8] = [Self.iac, Self.do, Self.ttype, Self.iac, Self.do, Self.naws, Self.iac, Self.do, Self.linemode, Self.iac, Self.do, Self.sga]
        #expect(Self.decode(&codec, asks).replies == [Self.iac, Self.wont, Self.ttype, Self.iac, Self.wont, Self.naws,
                                                       Self.iac, Self.wont, Self.linemode, Self.iac, Self.will, Self.sga])
        #expect(codec.enabled(Self.sga))
        #expect(Self.decode(&codec, asks).replies.isEmpty)
        // WILL ECHO then WONT ECHO: agreed, then the disabling acknowledged; a second WONT is not answered.
        let echoOnOff: [UInt8] = [Self.iac, Self.will, Self.echo, Self.iac, Self.wont, Self.echo, Self.iac, Self.wont, Self.echo]
        #expect(Self.decode(&codec, echoOnOff).replies == [Self.iac, Self.do, Self.echo, Self.iac, Self.dont, Self.echo])
        #expect(!codec.peerEnabled(Self.echo))
        // DONT SGA turns ours off, acknowledged once.
        #expect(Self.decode(&codec, [Self.iac, Self.dont, Self.sga, Self.iac, Self.dont, Self.sga]).replies == [Self.iac, Self.wont, Self.sga])
    }

    @Test func aClientAndARelayNegotiateToRestWithinAFewRounds() {
        var client = TelnetCodec()
        var server = TelnetCodec(acceptedRemote: [], acceptedLocal: [Self.echo, Self.sga])
        var toClient = server.offer(Self.echo) + server.offer(Self.sga) + server.request(peerOption: Self.ttype)
        var rounds = 0
        while !toClient.isEmpty && rounds < 10 {
            let toServer = Self.decode(&client, toClient).replies
            toClient = Self.decode(&server, toServer).replies
            rounds += 1
        }
        #expect(toClient.isEmpty && rounds <= 2, "\(rounds) rounds")
        #expect(client.peerEnabled(Self.echo) && client.peerEnabled(Self.sga))
        #expect(!client.enabled(Self.ttype))
    }

    @Test func commandsSplitAcrossReadsAreJoinedByteByByte() {
        let stream: [UInt8] = Array("ab".utf8) + [Self.iac, Self.will, Self.echo] + Array("cd".utf8)
            + [Self.iac, Self.iac] + [Self.iac, Self.sb, Self.ttype, 1, Self.iac, Self.iac, 7, Self.iac, Self.se] + Array("ef".utf8)
            + [Self.iac, 241 /* NOP */] + [0x0D, 0x00] + Array("g".utf8) + [0x0D, 0x0A]
        for piece in [1, 2, 3, 5, stream.count] {
            var codec = TelnetCodec()
            let (data, replies) = Self.decode(&codec, stream, piece: piece)
            #expect(data == Array("abcd".utf8) + [0xFF] + Array("ef".utf8) + [0x0D] + Array("g".utf8) + [0x0D, 0x0A], "pieces of \(piece)")
            #expect(replies == [Self.iac, Self.do, Self.echo], "pieces of \(piece)")
        }
    }

    @Test func dataIsEscapedOnTheWayOut() {
        #expect(TelnetCodec.encode([0x41, 0xFF, 0x42, 0xFF, 0xFF]) == [0x41, 0xFF, 0xFF, 0x42, 0xFF, 0xFF, 0xFF, 0xFF])
        var codec = TelnetCodec()
        let sent: [UInt8] = [0, 1, 0xFE, 0xFF, 0x0A]
        #expect(Self.decode(&codec, TelnetCodec.encode(sent)).data == sent, "what encode sends, decode returns")
    }

    @Test func endlessCommandsCostNoMemoryAndAnswerAtMostOncePerOption() {
        var codec = TelnetCodec()
        // A megabyte of IAC NOP: no data, no replies.
        let nops = [UInt8]((0..<(1 << 19)).flatMap { _ in [Self.iac, 241] })
        #expect(Self.decode(&codec, nops, piece: 4096) == ([], []))
        // Every option requested both ways, 100 times over: each refusal is sent once.
        let storm = [UInt8]((0..<100).flatMap { _ in (0...255).flatMap { [Self.iac, Self.will, UInt8($0), Self.iac, Self.do, UInt8($0)] } })
        let replies = Self.decode(&codec, storm, piece: 4096).replies
        #expect(replies.count == 2 * 256 * 3, "\(replies.count) reply bytes")
        // The codec holds a few words, whatever it has seen.
        #expect(MemoryLayout<TelnetCodec>.size <= 256)
    }

    @Test func anUnterminatedSubnegotiationSwallowsNothingAfterItsEnd() {
        var codec = TelnetCodec()
        // Ten megabytes inside SB, IAC SE never sent yet: no data comes out of it.
        let body = [UInt8](repeating: 0x41, count: 10 << 20)
        #expect(Self.decode(&codec, [Self.iac, Self.sb, Self.ttype] + body, piece: 65536) == ([], []))
        // An IAC followed by a non-SE byte does not end it either.
        #expect(Self.decode(&codec, [Self.iac, 0x41, 0x42]).data.isEmpty)
        #expect(Self.decode(&codec, [Self.iac, Self.se] + Array("after\n".utf8)).data == Array("after\n".utf8))
    }
}

/// Console bytes into lines: partial lines kept, long ones cut.
@Suite struct ConsoleLinesTests {
    @Test func aPartialLastLineWaitsForItsNewline() {
        var lines = ConsoleLines()
        #expect(lines.feed(Array("skerry: rea".utf8)).isEmpty)
        #expect(lines.pendingBytes == 11)
        #expect(lines.feed(Array("dy\r\nskerry> ".utf8)) == ["skerry: ready"])
        #expect(lines.flush() == "skerry> ")
        #expect(lines.flush() == nil)
        #expect(lines.feed(Array("a\tb\u{1B}[0m\n\n".utf8)) == ["a\tb[0m", ""], "control bytes other than tab are dropped")
    }

    @Test func aTenMegabyteLineArrivesInBoundedPieces() {
        var lines = ConsoleLines()
        var pieces = 0
        var bytes = 0
        let chunk = [UInt8](repeating: 0x78, count: 65536)
        for _ in 0..<160 {
            for line in lines.feed(chunk) {
                #expect(line.utf8.count == ConsoleLines.maximumLineBytes)
                pieces += 1
                bytes += line.utf8.count
            }
            #expect(lines.pendingBytes < ConsoleLines.maximumLineBytes)
        }
        #expect(bytes + lines.pendingBytes == 160 * 65536)
        #expect(pieces == 160 * 65536 / ConsoleLines.maximumLineBytes)
    }
}
