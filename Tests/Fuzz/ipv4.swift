func fuzzIPv4(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withMutableCopy(data, size) { bytes in
        guard let packet = try? IPv4Packet(parsing: bytes) else { return }
        require(packet.headerLength >= 20 && packet.headerLength <= packet.totalLength, "header length")
        require(packet.totalLength <= size, "total length beyond the input")
        require(within(packet.payload, bytes) && within(packet.header, bytes), "views outside the input")
        _ = (packet.isFragment, packet.hasOptions, packet.timeToLive, packet.protocolNumber, packet.checksumValid)
        packet.fillChecksum()
        require(packet.checksumValid, "a filled checksum must verify")
    }
    return 0
}
