/// Why an OVF descriptor was refused; each names the element at fault.
public enum OVFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not well-formed XML: the parser's message and line.
    case notXML(message: String, line: Int)
    /// The root element is not an OVF Envelope: its name and namespace.
    case notAnEnvelope(element: String, namespace: String)
    /// A required element or attribute is absent: where it should be.
    case missing(String)
    /// An element or attribute holds a value that cannot be used.
    case invalid(element: String, value: String, reason: String)
    /// The descriptor is larger than any Skerry writes or reads.
    case tooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .notXML(let message, let line):
            return "the OVF descriptor is not well-formed XML (line \(line)): \(message)"
        case .notAnEnvelope(let element, let namespace):
            let inNamespace = namespace.isEmpty ? "in no namespace" : "in namespace \(namespace)"
            return "the OVF descriptor's root element is <\(element)> \(inNamespace); expected an OVF 1.x or 2.x <Envelope>"
        case .missing(let what):
            return "the OVF descriptor has no \(what)"
        case .invalid(let element, let value, let reason):
            return "the OVF descriptor's \(element) is \"\(value)\": \(reason)"
        case .tooLarge(let bytes, let limit):
            return "the OVF descriptor is \(bytes) bytes; descriptors of more than \(limit) bytes are refused"
        }
    }
}
