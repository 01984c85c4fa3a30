func fuzzICMP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withMutableCopy(data, size) { bytes in
        guard let message = try? ICMPv4Message(parsing: bytes) else { return }
        require(within(message.body, bytes), "body outside the input")
        let (identifier, sequence) = (message.identifier, message.sequenceNumber)
        message.makeEchoReply()
        require(message.checksumValid, "a reply's checksum must verify")
        require(message.identifier == identifier && message.sequenceNumber == sequence, "reply keeps identity")
    }
    return 0
}
