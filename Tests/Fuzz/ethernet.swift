func fuzzEthernet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withMutableCopy(data, size) { bytes in
        guard let frame = try? EthernetFrame(parsing: bytes) else {
            require(size < EthernetFrame.headerLength, "a long enough frame was refused")
            return
        }
        require(within(frame.payload, bytes), "payload outside the frame")
        require(frame.payload.count == size - EthernetFrame.headerLength, "payload length")
        let (destination, source, type) = (frame.destination, frame.source, frame.etherType)
        EthernetFrame.emit(into: bytes, destination: destination, source: source, etherType: type)
        let again = try! EthernetFrame(parsing: bytes)
        require(again.destination == destination && again.source == source && again.etherType == type, "emit round trip")
    }
    return 0
}
