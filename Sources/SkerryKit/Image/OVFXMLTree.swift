import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of a parsed descriptor. Elements keep their namespace;
/// attributes are looked up by local name, since hand-written descriptors
/// often leave off the `ovf:` prefix the schema asks for.
final class OVFElement {
    let name: String
    let namespace: String
    let attributes: [String: String]
    private(set) var children: [OVFElement] = []
    fileprivate(set) var text = ""

    init(name: String, namespace: String, attributes: [String: String]) {
        self.name = name
        self.namespace = namespace
        var local: [String: String] = [:]
        for (key, value) in attributes {
            let localName = key.split(separator: ":", maxSplits: 1).last.map(String.init) ?? key
            local[localName] = value
        }
        self.attributes = local
    }

    fileprivate func append(_ child: OVFElement) { children.append(child) }

    /// The children called `name`, in any namespace.
    func children(_ name: String) -> [OVFElement] { children.filter { $0.name == name } }

    func child(_ name: String) -> OVFElement? { children.first { $0.name == name } }

    var trimmedText: String { text.ovfTrimmed() }

    /// Parses `data` into a tree and returns its root element.
    static func parse(_ data: Data) throws(OVFError) -> OVFElement {
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        let parsed = parser.parse()
        if let failure = builder.failure { throw failure }
        if parsed, let open = builder.stack.last {
            throw .notXML(message: "<\(open.name)> is not closed", line: parser.lineNumber)
        }
        guard parsed, let root = builder.root else {
            let message = parser.parserError.map { ($0 as NSError).localizedDescription } ?? "no root element"
            throw .notXML(message: message, line: parser.lineNumber)
        }
        return root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    /// Deeper than any descriptor; bounds the stack a hostile one can build.
    static let maximumDepth = 64
    var root: OVFElement?
    var stack: [OVFElement] = []
    var failure: OVFError?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        guard stack.count < Self.maximumDepth else {
            failure = .invalid(element: "<\(elementName)>", value: "depth \(stack.count + 1)",
                               reason: "elements nest deeper than \(Self.maximumDepth) levels")
            parser.abortParsing()
            return
        }
        let element = OVFElement(name: elementName, namespace: namespaceURI ?? "", attributes: attributes)
        if let parent = stack.last { parent.append(element) } else { root = element }
        stack.append(element)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }
}
