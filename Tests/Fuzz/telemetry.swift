// Both ends of the telemetry stream on arbitrary bytes: the appliance's
// request parser (hello, subscribe and admin frames) and the host's decoder
// (hello, schema, snapshot, event and result frames). Neither may crash;
// the decoder either yields messages or throws its typed error.
func fuzzTelemetry(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The appliance's side: a hello, then frames, as a client would send them.
    var input = bytes
    var greeted = false
    while true {
        let parse = greeted ? TelemetryRequest.parse(input) : TelemetryRequest.parseHello(input)
        guard case .request(_, let length) = parse else { break }
        require(length > 0 && length <= input.count, "a request consumes what it parsed")
        input.removeFirst(length)
        greeted = true
    }
    // The host's side: the same bytes as a stream from an appliance, fed in two pieces.
    var decoder = TelemetryDecoder()
    let split = size / 2
    decoder.append(bytes[0..<split])
    var messages = 0
    do {
        while try decoder.next() != nil { messages += 1 }
        decoder.append(bytes[split...])
        while try decoder.next() != nil { messages += 1 }
    } catch {
        _ = error.description
    }
    require(messages <= size / 5, "every message takes at least a frame header")
    return 0
}
