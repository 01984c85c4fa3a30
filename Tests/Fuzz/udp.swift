func fuzzUDP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withMutableCopy(data, size) { bytes in
        guard let datagram = try? UDPDatagram(parsing: bytes) else { return }
        require(datagram.length >= 8 && datagram.length <= size, "length field")
        require(within(datagram.payload, bytes), "payload outside the input")
        let source = IPv4Address(10, 0, 1, 2)
        let destination = IPv4Address(10, 0, 1, 15)
        _ = datagram.checksumValid(source: source, destination: destination)
        datagram.fillChecksum(source: source, destination: destination)
        require(datagram.checksumValid(source: source, destination: destination), "a filled checksum must verify")
    }
    return 0
}
