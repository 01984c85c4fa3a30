/// An enum whose cases have stable names that every front end (console,
/// Prometheus, stream, CLI, smoke scripts, dashboard) uses: the name is
/// written once, here, and looked up everywhere else.
public protocol NamedCase: CaseIterable, Equatable {
    var name: StaticString { get }
}

extension NamedCase {
    /// The case whose name is the UTF-8 `name`, if any.
    public init?<Bytes: Collection<UInt8>>(name: Bytes) {
        for candidate in Self.allCases where candidate.name.withUTF8Buffer({ $0.elementsEqual(name) }) {
            self = candidate
            return
        }
        return nil
    }

    /// The case named `name`, if any.
    public init?(name: String) { self.init(name: name.utf8) }
}
