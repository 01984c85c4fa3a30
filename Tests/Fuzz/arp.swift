func fuzzARP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withMutableCopy(data, size) { bytes in
        guard let packet = try? ARPPacket(parsing: bytes) else { return }
        let fields = (packet.operation, packet.senderHardware, packet.senderProtocol, packet.targetHardware, packet.targetProtocol)
        ARPPacket.emit(into: bytes, operation: fields.0, senderHardware: fields.1, senderProtocol: fields.2,
                       targetHardware: fields.3, targetProtocol: fields.4)
        let again = try! ARPPacket(parsing: bytes)
        require(again.operation == fields.0 && again.senderHardware == fields.1 && again.senderProtocol == fields.2
                && again.targetHardware == fields.3 && again.targetProtocol == fields.4, "emit round trip")
    }
    return 0
}
