/// A parsed JSON document. Numbers keep their text, so each is converted once to the type a decoder asks for
/// (big integers and doubles stay exact); objects keep their members in document order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// "a string", "number", ...: how decoding errors name what they found (as Foundation's JSONDecoder does).
    var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "a dictionary"
        }
    }
}

public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// Invalid JSON text: what was expected and the byte offset where parsing stopped.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
    public let offset: Int
    public let message: String

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

// MARK: - Parsing (RFC 8259)

extension JSONValue {
    /// Parses one JSON value (any type at the top level), surrounded by optional whitespace.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let input = Array(bytes)
        return try input.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) -> JSONValue in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.error("unexpected text after the JSON value") }
            return value
        }
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: message) }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels") }
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character '\(Unicode.Scalar(bytes[index]))', expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
              (0..<count).allSatisfy({ bytes[index + $0] == word.utf8Start[$0] })
        else { throw error("expected '\(word)'") }
        index += count
    }

    mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        index += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            index += 1
            skipWhitespace()
            members.append(JSONMember(key, try value(depth: depth + 1)))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            } else {
                throw error("expected ',' or '}' in an object")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            } else {
                throw error("expected ',' or ']' in an array")
            }
        }
    }

    mutating func number() throws(JSONSyntaxError) -> String {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.index
            while parser.index < parser.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) { parser.index += 1 }
            return parser.index - first
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("expected a digit") }
        if integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0") {
            throw JSONSyntaxError(offset: integerStart, message: "a number has a leading zero")
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("expected a digit after '.'") }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard digits(&self) > 0 else { throw error("expected a digit in the exponent") }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of input in a \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A")) + 10
            default: throw error("expected a hex digit in a \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func string() throws(JSONSyntaxError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let text = try validUTF8(start, index)
                index += 1
                return text
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("a control character must be escaped in a string") }
            index += 1
        }
        var output = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                guard let text = String(validating: output, as: UTF8.self) else {
                    throw JSONSyntaxError(offset: start, message: "a string is not valid UTF-8")
                }
                return text
            }
            if c < 0x20 { throw error("a control character must be escaped in a string") }
            guard c == UInt8(ascii: "\\") else {
                output.append(c)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): output.append(0x22)
            case UInt8(ascii: "\\"): output.append(0x5C)
            case UInt8(ascii: "/"): output.append(0x2F)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    else { throw error("a high surrogate \\u escape is not followed by a low surrogate") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("expected a low surrogate \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("a low surrogate \\u escape without a high surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                output.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw JSONSyntaxError(offset: index - 1, message: "invalid escape '\\\(Unicode.Scalar(escape))'")
            }
        }
        throw error("unexpected end of input in a string")
    }

    func validUTF8(_ start: Int, _ end: Int) throws(JSONSyntaxError) -> String {
        guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) else {
            throw JSONSyntaxError(offset: start, message: "a string is not valid UTF-8")
        }
        return text
    }
}

// MARK: - Writing

/// How `JSONValue.write` lays out its text. The defaults give the bytes of Foundation's `JSONEncoder` with
/// `.sortedKeys` (compact, "/" escaped as "\/"); `prettyPrinted` is its `.prettyPrinted` layout.
public struct JSONWriteOptions: Sendable, Equatable {
    public var sortedKeys: Bool
    public var prettyPrinted: Bool
    public var escapeSlashes: Bool

    public init(sortedKeys: Bool = true, prettyPrinted: Bool = false, escapeSlashes: Bool = true) {
        self.sortedKeys = sortedKeys
        self.prettyPrinted = prettyPrinted
        self.escapeSlashes = escapeSlashes
    }
}

extension JSONValue {
    public func serialized(_ options: JSONWriteOptions = JSONWriteOptions()) -> [UInt8] {
        var output: [UInt8] = []
        write(to: &output, options, indent: 0)
        return output
    }

    func write(to output: inout [UInt8], _ options: JSONWriteOptions, indent: Int) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let text): output.append(contentsOf: text.utf8)
        case .string(let text): Self.writeString(text, to: &output, escapeSlashes: options.escapeSlashes)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            if options.prettyPrinted {
                output.append(0x0A)
                for (position, element) in elements.enumerated() {
                    if position > 0 { output.append(contentsOf: ",\n".utf8) }
                    Self.pad(&output, indent + 1)
                    element.write(to: &output, options, indent: indent + 1)
                }
                output.append(0x0A)
                Self.pad(&output, indent)
            } else {
                for (position, element) in elements.enumerated() {
                    if position > 0 { output.append(UInt8(ascii: ",")) }
                    element.write(to: &output, options, indent: indent)
                }
            }
            output.append(UInt8(ascii: "]"))
        case .object(let unordered):
            let members = options.sortedKeys ? unordered.sorted { $0.key < $1.key } : unordered
            output.append(UInt8(ascii: "{"))
            if options.prettyPrinted {
                output.append(0x0A)
                for (position, member) in members.enumerated() {
                    if position > 0 { output.append(contentsOf: ",\n".utf8) }
                    Self.pad(&output, indent + 1)
                    Self.writeString(member.key, to: &output, escapeSlashes: options.escapeSlashes)
                    output.append(contentsOf: " : ".utf8)
                    member.value.write(to: &output, options, indent: indent + 1)
                }
                output.append(0x0A)
                Self.pad(&output, indent)
            } else {
                for (position, member) in members.enumerated() {
                    if position > 0 { output.append(UInt8(ascii: ",")) }
                    Self.writeString(member.key, to: &output, escapeSlashes: options.escapeSlashes)
                    output.append(UInt8(ascii: ":"))
                    member.value.write(to: &output, options, indent: indent)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func pad(_ output: inout [UInt8], _ level: Int) {
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
    }

    /// A quoted JSON string as Foundation writes it: `"` `\` (and `/` unless disabled) backslash-escaped, \b \f \n
    /// \r \t by name, other control characters as `\u00xx`, everything else (DEL, U+2028, non-ASCII) as is.
    static func writeString(_ text: String, to output: inout [UInt8], escapeSlashes: Bool) {
        output.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x2F where escapeSlashes: output.append(contentsOf: [0x5C, 0x2F])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(0x22)
    }
}
