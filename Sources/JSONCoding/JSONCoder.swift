/// Codable to and from JSON bytes without Foundation (what the Lambda functions link instead of `JSONEncoder` and
/// `JSONDecoder`). Output bytes equal Foundation's `JSONEncoder` with `.sortedKeys` (and `.prettyPrinted` when
/// asked): "/" escaped, doubles as their shortest round-trip text with a trailing ".0" dropped. Errors are the
/// standard library's `EncodingError`/`DecodingError` with the coding path of the offending value, worded as
/// Foundation words them.
public enum JSONCoder {
    public static func encode<T: Encodable>(_ value: T, options: JSONWriteOptions = JSONWriteOptions()) throws -> [UInt8] {
        try encodeValue(value).serialized(options)
    }

    /// The JSON tree `value` encodes to.
    public static func encodeValue<T: Encodable>(_ value: T) throws -> JSONValue {
        let box = try JSONEncodingBox.encoding(value, path: [])
        guard let encoded = box.finished() else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return encoded
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: [], debugDescription: "The given data was not valid JSON.", underlyingError: error))
        }
        return try decode(type, from: value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: JSONValueDecoder(value, path: []))
    }
}

/// Array positions in coding paths (`[3]`).
struct JSONIndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// `super` keys for `superEncoder()`/`superDecoder()`.
struct JSONSuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) {}
    init?(intValue: Int) { nil }
}

// MARK: - Encoding

/// A value under construction: containers hand out boxes that nested encoders fill later.
final class JSONEncodingBox {
    enum Content {
        case empty
        case value(JSONValue)
        case array([JSONEncodingBox])
        case object(keys: [String], boxes: [JSONEncodingBox])
    }

    var content: Content = .empty

    init() {}
    init(_ value: JSONValue) { content = .value(value) }

    static func encoding<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> JSONEncodingBox {
        let box = JSONEncodingBox()
        try value.encode(to: JSONValueEncoder(box, path: path))
        return box
    }

    func finished() -> JSONValue? {
        switch content {
        case .empty: return nil
        case .value(let value): return value
        case .array(let boxes): return .array(boxes.map { $0.finished() ?? .object([]) })
        case .object(let keys, let boxes):
            return .object(zip(keys, boxes).map { JSONMember($0, $1.finished() ?? .object([])) })
        }
    }

    func makeObject(_ path: [any CodingKey]) {
        switch content {
        case .object: return
        case .empty: content = .object(keys: [], boxes: [])
        default: preconditionFailure("JSON encoding at \(path.map(\.stringValue)): a keyed container was requested for a value that already holds another kind")
        }
    }

    func makeArray(_ path: [any CodingKey]) {
        switch content {
        case .array: return
        case .empty: content = .array([])
        default: preconditionFailure("JSON encoding at \(path.map(\.stringValue)): an unkeyed container was requested for a value that already holds another kind")
        }
    }

    func set(_ key: String, _ box: JSONEncodingBox) {
        guard case .object(var keys, var boxes) = content else { return }
        content = .empty
        if let position = keys.lastIndex(of: key) {
            boxes[position] = box
        } else {
            keys.append(key)
            boxes.append(box)
        }
        content = .object(keys: keys, boxes: boxes)
    }

    func append(_ box: JSONEncodingBox) {
        guard case .array(var boxes) = content else { return }
        content = .empty
        boxes.append(box)
        content = .array(boxes)
    }

    var count: Int {
        switch content {
        case .array(let boxes): return boxes.count
        case .object(let keys, _): return keys.count
        default: return 0
        }
    }
}

enum JSONScalars {
    static func double(_ value: Double, _ path: [any CodingKey]) throws -> JSONValue { try number(value, path) }
    static func float(_ value: Float, _ path: [any CodingKey]) throws -> JSONValue { try number(value, path) }

    /// A finite floating-point value as Swift prints it, without a trailing ".0" (as Foundation's JSONEncoder writes it).
    private static func number<F: BinaryFloatingPoint & CustomStringConvertible>(_ value: F, _ path: [any CodingKey])
        throws -> JSONValue
    {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: path, debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }
}

struct JSONValueEncoder: Encoder {
    let box: JSONEncodingBox
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ box: JSONEncodingBox, path: [any CodingKey]) {
        self.box = box
        codingPath = path
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        box.makeObject(codingPath)
        return KeyedEncodingContainer(JSONKeyedEncoder<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        box.makeArray(codingPath)
        return JSONUnkeyedEncoder(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONSingleValueEncoder(box: box, codingPath: codingPath)
    }
}

struct JSONKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONEncodingBox
    let codingPath: [any CodingKey]

    private func put(_ value: JSONValue, _ key: Key) { box.set(key.stringValue, JSONEncodingBox(value)) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        put(try JSONScalars.double(value, codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        put(try JSONScalars.float(value, codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.number(String(value)), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        box.set(key.stringValue, try JSONEncodingBox.encoding(value, path: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = JSONEncodingBox()
        child.content = .object(keys: [], boxes: [])
        box.set(key.stringValue, child)
        return KeyedEncodingContainer(JSONKeyedEncoder<NestedKey>(box: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = JSONEncodingBox()
        child.content = .array([])
        box.set(key.stringValue, child)
        return JSONUnkeyedEncoder(box: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let child = JSONEncodingBox()
        box.set("super", child)
        return JSONValueEncoder(child, path: codingPath + [JSONSuperKey()])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = JSONEncodingBox()
        box.set(key.stringValue, child)
        return JSONValueEncoder(child, path: codingPath + [key])
    }
}

/// The scalar `encode` methods of the unkeyed and single-value containers, written once: each puts one JSON value
/// where its container puts values; `scalarPath` is the coding path an unencodable number is reported at.
protocol JSONScalarEncoding {
    func put(_ value: JSONValue)
    var scalarPath: [any CodingKey] { get }
}

extension JSONScalarEncoding {
    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try JSONScalars.double(value, scalarPath)) }
    mutating func encode(_ value: Float) throws { put(try JSONScalars.float(value, scalarPath)) }
    mutating func encode(_ value: Int) throws { put(.number(String(value))) }
    mutating func encode(_ value: Int8) throws { put(.number(String(value))) }
    mutating func encode(_ value: Int16) throws { put(.number(String(value))) }
    mutating func encode(_ value: Int32) throws { put(.number(String(value))) }
    mutating func encode(_ value: Int64) throws { put(.number(String(value))) }
    mutating func encode(_ value: UInt) throws { put(.number(String(value))) }
    mutating func encode(_ value: UInt8) throws { put(.number(String(value))) }
    mutating func encode(_ value: UInt16) throws { put(.number(String(value))) }
    mutating func encode(_ value: UInt32) throws { put(.number(String(value))) }
    mutating func encode(_ value: UInt64) throws { put(.number(String(value))) }
}

struct JSONUnkeyedEncoder: UnkeyedEncodingContainer, JSONScalarEncoding {
    let box: JSONEncodingBox
    let codingPath: [any CodingKey]
    var count: Int { box.count }

    func put(_ value: JSONValue) { box.append(JSONEncodingBox(value)) }
    private var nextPath: [any CodingKey] { codingPath + [JSONIndexKey(count)] }
    var scalarPath: [any CodingKey] { nextPath }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.append(try JSONEncodingBox.encoding(value, path: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = nextPath
        let child = JSONEncodingBox()
        child.content = .object(keys: [], boxes: [])
        box.append(child)
        return KeyedEncodingContainer(JSONKeyedEncoder<NestedKey>(box: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let child = JSONEncodingBox()
        child.content = .array([])
        box.append(child)
        return JSONUnkeyedEncoder(box: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        let child = JSONEncodingBox()
        box.append(child)
        return JSONValueEncoder(child, path: path)
    }
}

struct JSONSingleValueEncoder: SingleValueEncodingContainer, JSONScalarEncoding {
    let box: JSONEncodingBox
    let codingPath: [any CodingKey]

    func put(_ value: JSONValue) { box.content = .value(value) }
    var scalarPath: [any CodingKey] { codingPath }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: JSONValueEncoder(box, path: codingPath))
    }
}

// MARK: - Decoding

struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, path: [any CodingKey]) {
        self.value = value
        codingPath = path
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw JSONDecoding.mismatch([String: Any].self, value, codingPath)
        }
        return KeyedDecodingContainer(JSONKeyedDecoder<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw JSONDecoding.mismatch([Any].self, value, codingPath)
        }
        return JSONUnkeyedDecoder(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        JSONSingleValueDecoder(value: value, codingPath: codingPath)
    }
}

enum JSONDecoding {
    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: path, debugDescription: "Cannot get value of type \(type) -- found null value instead"))
        }
        return DecodingError.typeMismatch(type, DecodingError.Context(
            codingPath: path, debugDescription: "Expected to decode \(type) but found \(value.kindDescription) instead."))
    }

    static func bool(_ value: JSONValue, _ path: [any CodingKey]) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(Bool.self, value, path) }
        return bool
    }

    static func string(_ value: JSONValue, _ path: [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path) }
        return text
    }

    static func integer<T: FixedWidthInteger>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        guard case .number(let text) = value else { throw mismatch(T.self, value, path) }
        if let exact = T(text, radix: 10) { return exact }
        if let double = Double(text), double.isFinite, let exact = T(exactly: double) { return exact }
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: path, debugDescription: "Parsed JSON number <\(text)> does not fit in \(T.self)."))
    }

    static func double(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
        guard case .number(let text) = value else { throw mismatch(Double.self, value, path) }
        guard let double = Double(text), double.isFinite else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: path, debugDescription: "Parsed JSON number <\(text)> does not fit in Double."))
        }
        return double
    }

    static func float(_ value: JSONValue, _ path: [any CodingKey]) throws -> Float {
        guard case .number(let text) = value else { throw mismatch(Float.self, value, path) }
        guard let float = Float(text), float.isFinite else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: path, debugDescription: "Parsed JSON number <\(text)> does not fit in Float."))
        }
        return float
    }
}

struct JSONKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [JSONMember]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { members.contains { $0.key == key.stringValue } }

    private func value(_ key: Key) throws -> JSONValue {
        let name = key.stringValue
        guard let member = members.last(where: { $0.key == name }) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(name)\")."))
        }
        return member.value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try JSONDecoding.bool(try value(key), codingPath + [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try JSONDecoding.string(try value(key), codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try JSONDecoding.double(try value(key), codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try JSONDecoding.float(try value(key), codingPath + [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }
    private func integer<T: FixedWidthInteger>(_ type: T.Type, _ key: Key) throws -> T {
        try JSONDecoding.integer(type, try value(key), codingPath + [key])
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: JSONValueDecoder(try value(key), path: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try JSONValueDecoder(try value(key), path: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoder(try value(key), path: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let value = members.last(where: { $0.key == "super" })?.value ?? .null
        return JSONValueDecoder(value, path: codingPath + [JSONSuperKey()])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let value = members.last(where: { $0.key == key.stringValue })?.value ?? .null
        return JSONValueDecoder(value, path: codingPath + [key])
    }
}

struct JSONUnkeyedDecoder: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var path: [any CodingKey] { codingPath + [JSONIndexKey(currentIndex)] }

    private mutating func next(_ type: Any.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        let result = (elements[currentIndex], path)
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any?.self, DecodingError.Context(
                codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        if elements[currentIndex] == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    // A failed decode leaves the index where it was (as Foundation's does), so a caller may retry another type.
    private mutating func scalar<T>(_ type: T.Type, _ convert: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
        let start = currentIndex
        let (value, path) = try next(type)
        do {
            return try convert(value, path)
        } catch {
            currentIndex = start
            throw error
        }
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try scalar(type, JSONDecoding.bool) }
    mutating func decode(_ type: String.Type) throws -> String { try scalar(type, JSONDecoding.string) }
    mutating func decode(_ type: Double.Type) throws -> Double { try scalar(type, JSONDecoding.double) }
    mutating func decode(_ type: Float.Type) throws -> Float { try scalar(type, JSONDecoding.float) }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    private mutating func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        try scalar(type) { try JSONDecoding.integer(type, $0, $1) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try scalar(type) { try T(from: JSONValueDecoder($0, path: $1)) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try scalar(KeyedDecodingContainer<NestedKey>.self) { try JSONValueDecoder($0, path: $1).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try scalar((any UnkeyedDecodingContainer).self) { try JSONValueDecoder($0, path: $1).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try scalar((any Decoder).self) { JSONValueDecoder($0, path: $1) }
    }
}

struct JSONSingleValueDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try JSONDecoding.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try JSONDecoding.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try JSONDecoding.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try JSONDecoding.float(value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONDecoding.integer(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONDecoding.integer(type, value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: JSONValueDecoder(value, path: codingPath)) }
}
