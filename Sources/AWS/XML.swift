/// A small, strict-enough XML pull parser for AWS responses (REST-XML and query protocols), so Lambda binaries do
/// not link FoundationXML. It handles the XML declaration, processing instructions, comments, CDATA, the five
/// predefined entities and numeric character references, attributes and self-closing tags. Namespace prefixes are
/// dropped from names (`<s3:Key>` → `Key`). DTDs are skipped, never expanded.
public struct XMLPullParser {
    /// One parse event.
    public enum Event: Equatable, Sendable {
        case startElement(name: String, attributes: [String: String])
        case endElement(name: String)
        /// Character data (entities decoded); may arrive in several pieces.
        case text(String)
    }

    private let bytes: [UInt8]
    private var index = 0
    private var pendingEnd: String?
    private var openElements: [String] = []

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next event, nil at the end of the document, or a thrown `XMLError` for malformed input.
    public mutating func next() throws(XMLError) -> Event? {
        if let name = pendingEnd {
            pendingEnd = nil
            openElements.removeLast()
            return .endElement(name: name)
        }
        while index < bytes.count {
            if bytes[index] != UInt8(ascii: "<") {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                let raw = Array(bytes[start..<index])
                if openElements.isEmpty { continue }  // whitespace outside the root
                return .text(try decodeEntities(raw))
            }
            if hasPrefix("<?") {
                try skip(past: "?>")
            } else if hasPrefix("<!--") {
                try skip(past: "-->")
            } else if hasPrefix("<![CDATA[") {
                index += 9
                let start = index
                guard let end = find("]]>") else { throw XMLError("unterminated CDATA section", at: start) }
                index = end + 3
                return .text(String(decoding: bytes[start..<end], as: UTF8.self))
            } else if hasPrefix("<!") {
                try skipDeclaration()
            } else if hasPrefix("</") {
                index += 2
                let name = localName(readName())
                skipSpaces()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                    throw XMLError("expected '>' after </\(name)", at: index)
                }
                index += 1
                guard let open = openElements.last, open == name else {
                    throw XMLError("closing tag </\(name)> does not match <\(openElements.last ?? "")>", at: index)
                }
                openElements.removeLast()
                return .endElement(name: name)
            } else {
                index += 1
                let name = localName(readName())
                guard !name.isEmpty else { throw XMLError("empty element name", at: index) }
                var attributes: [String: String] = [:]
                while true {
                    skipSpaces()
                    guard index < bytes.count else { throw XMLError("unterminated tag <\(name)", at: index) }
                    if bytes[index] == UInt8(ascii: ">") {
                        index += 1
                        openElements.append(name)
                        return .startElement(name: name, attributes: attributes)
                    }
                    if hasPrefix("/>") {
                        index += 2
                        openElements.append(name)
                        pendingEnd = name
                        return .startElement(name: name, attributes: attributes)
                    }
                    let attributeName = readName()
                    guard !attributeName.isEmpty else { throw XMLError("bad attribute in <\(name)>", at: index) }
                    skipSpaces()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                        throw XMLError("expected '=' after attribute \(attributeName)", at: index)
                    }
                    index += 1
                    skipSpaces()
                    guard index < bytes.count,
                          bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                        throw XMLError("attribute \(attributeName) needs a quoted value", at: index)
                    }
                    let quote = bytes[index]
                    index += 1
                    let start = index
                    while index < bytes.count, bytes[index] != quote { index += 1 }
                    guard index < bytes.count else { throw XMLError("unterminated attribute value", at: start) }
                    attributes[localName(attributeName)] = try decodeEntities(Array(bytes[start..<index]))
                    index += 1
                }
            }
        }
        guard openElements.isEmpty else { throw XMLError("document ends inside <\(openElements.last!)>", at: index) }
        return nil
    }

    // MARK: - Lexing helpers

    private func hasPrefix(_ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return prefix.withUTF8Buffer { buffer in
            for offset in 0..<count where bytes[index + offset] != buffer[offset] { return false }
            return true
        }
    }

    private func find(_ terminator: StaticString) -> Int? {
        let count = terminator.utf8CodeUnitCount
        return terminator.withUTF8Buffer { buffer -> Int? in
            var position = index
            while position + count <= bytes.count {
                var match = true
                for offset in 0..<count where bytes[position + offset] != buffer[offset] {
                    match = false
                    break
                }
                if match { return position }
                position += 1
            }
            return nil
        }
    }

    private mutating func skip(past terminator: StaticString) throws(XMLError) {
        guard let end = find(terminator) else { throw XMLError("unterminated \(terminator)", at: index) }
        index = end + terminator.utf8CodeUnitCount
    }

    /// Skips `<!DOCTYPE …>` including an internal subset in brackets.
    private mutating func skipDeclaration() throws(XMLError) {
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "]") { depth -= 1 }
            if byte == UInt8(ascii: ">"), depth <= 0 { return }
        }
        throw XMLError("unterminated declaration", at: index)
    }

    private mutating func skipSpaces() {
        while index < bytes.count,
              bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0a || bytes[index] == 0x0d {
            index += 1
        }
    }

    private mutating func readName() -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d || byte == UInt8(ascii: ">")
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") {
                break
            }
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func localName(_ name: String) -> String {
        guard let colon = name.lastIndex(of: ":") else { return name }
        return String(name[name.index(after: colon)...])
    }

    private func decodeEntities(_ raw: [UInt8]) throws(XMLError) -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var output = [UInt8]()
        output.reserveCapacity(raw.count)
        var position = 0
        while position < raw.count {
            guard raw[position] == UInt8(ascii: "&") else {
                output.append(raw[position])
                position += 1
                continue
            }
            guard let semicolon = raw[position...].firstIndex(of: UInt8(ascii: ";")), semicolon - position <= 12 else {
                throw XMLError("bad entity reference", at: index)
            }
            let entity = String(decoding: raw[(position + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "lt": output.append(UInt8(ascii: "<"))
            case "gt": output.append(UInt8(ascii: ">"))
            case "amp": output.append(UInt8(ascii: "&"))
            case "quot": output.append(UInt8(ascii: "\""))
            case "apos": output.append(UInt8(ascii: "'"))
            default:
                var scalarValue: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalarValue = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    scalarValue = UInt32(entity.dropFirst(1), radix: 10)
                }
                guard let value = scalarValue, let scalar = Unicode.Scalar(value) else {
                    throw XMLError("unknown entity &\(entity);", at: index)
                }
                output.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            position = semicolon + 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Malformed XML: what was wrong and the byte offset.
public struct XMLError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var offset: Int
    init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "XML: \(message) (at byte \(offset))" }
}

/// A parsed XML element: name, attributes, text content and child elements (document order).
public struct XMLNode: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    /// The concatenated character data directly inside this element.
    public var text: String
    public var children: [XMLNode]

    /// Parses a whole document into its root element.
    public static func parse(_ bytes: [UInt8]) throws(XMLError) -> XMLNode {
        var parser = XMLPullParser(bytes)
        var stack: [XMLNode] = []
        var root: XMLNode?
        while let event = try parser.next() {
            switch event {
            case .startElement(let name, let attributes):
                stack.append(XMLNode(name: name, attributes: attributes, text: "", children: []))
            case .text(let text):
                if !stack.isEmpty { stack[stack.count - 1].text += text }
            case .endElement:
                let node = stack.removeLast()
                if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
            }
        }
        guard let root else { throw XMLError("no root element", at: 0) }
        return root
    }

    /// The first child named `name`.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// All children named `name`.
    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    public func string(_ name: String) -> String? { child(name)?.text }

    /// Follows a path of child names (`node["a", "b"]`).
    public subscript(path: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in path { node = node?.child(name) }
        return node
    }

    /// The first element named `name` anywhere below (depth-first), including this one.
    public func first(named name: String) -> XMLNode? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }

    /// Members of an AWS query-protocol list: `<Name><member>…</member>…</Name>` → the member nodes.
    public func members(_ name: String) -> [XMLNode] { child(name)?.children("member") ?? [] }
}

/// Builds XML request bodies (S3 configuration documents) with escaping.
public struct XMLWriter {
    public private(set) var output = ""

    public init(declaration: Bool = true) {
        if declaration { output = #"<?xml version="1.0" encoding="UTF-8"?>"# }
    }

    public mutating func open(_ name: String, namespace: String? = nil) {
        output += namespace.map { "<\(name) xmlns=\"\(Self.escape($0))\">" } ?? "<\(name)>"
    }

    public mutating func close(_ name: String) { output += "</\(name)>" }

    /// `<name>escaped text</name>`.
    public mutating func element(_ name: String, _ text: String) {
        output += "<\(name)>\(Self.escape(text))</\(name)>"
    }

    /// `<name>…</name>` around whatever `body` writes.
    public mutating func element(_ name: String, namespace: String? = nil, _ body: (inout XMLWriter) -> Void) {
        open(name, namespace: namespace)
        body(&self)
        close(name)
    }

    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\r": result += "&#13;"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    public var bytes: [UInt8] { Array(output.utf8) }
}
