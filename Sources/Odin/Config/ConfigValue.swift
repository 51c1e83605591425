import JSONCoding

/// A configuration tree: what a YAML or JSON profile parses into. The CLI builds it from YAML (Yams); Lambda
/// functions build it from JSON (`ConfigValue.parseJSON`) without Yams.
public indirect enum ConfigValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case list([ConfigValue])
    case map([String: ConfigValue])
    case null

    /// A short name of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .list: "a list"
        case .map: "a map"
        case .null: "null"
        }
    }

    /// Parses JSON bytes into a tree: JSONCoding's parser, then one walk over its values (no Codable: decoding
    /// through `Decodable` containers instantiated their generic metadata at every cold start, 0.3 M instructions of
    /// a function's init for `{}`). A later duplicate key wins.
    public static func parseJSON(_ bytes: some Collection<UInt8>) throws(ProfileError) -> ConfigValue {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw ProfileError(keyPath: "$", "not valid JSON: \(error)")
        }
        return try ConfigValue(json: json)
    }

    private init(json: JSONValue) throws(ProfileError) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .string(let value): self = .string(value)
        case .number(let text):
            guard let number = Double(text), number.isFinite else {
                throw ProfileError(keyPath: "$", "not valid JSON: the number \(text) does not fit in a Double")
            }
            self = .number(number)
        case .array(let elements):
            var list: [ConfigValue] = []
            list.reserveCapacity(elements.count)
            for element in elements { list.append(try ConfigValue(json: element)) }
            self = .list(list)
        case .object(let members):
            var map: [String: ConfigValue] = Dictionary(minimumCapacity: members.count)
            for member in members { map[member.key] = try ConfigValue(json: member.value) }
            self = .map(map)
        }
    }
}

/// A profile error naming the full key path (`pipeline.chunking.target_minutes`) and, for ranges, what is allowed.
public struct ProfileError: Error, CustomStringConvertible, Sendable, Equatable {
    public let keyPath: String
    public let message: String

    public init(keyPath: String, _ message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String { "profile: \(keyPath): \(message)" }
}

/// Reads one map of the tree strictly: every key must be consumed, or `finish()` names the unknown ones.
struct ConfigReader {
    let path: String
    private let map: [String: ConfigValue]
    /// The keys read, in order (an array: hashing every key of the profile into a Set cost 0.1 M instructions of
    /// each function's init; it is searched only in `finish`, over the few keys a map has).
    private var consumed: [String] = []

    init(path: String, value: ConfigValue?) throws(ProfileError) {
        self.path = path
        switch value {
        case nil, .null?: map = [:]
        case .map(let entries)?: map = entries
        case let other?: throw ProfileError(keyPath: path.isEmpty ? "$" : path, "expected a map, found \(other.kindName)")
        }
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    private mutating func take(_ key: String) -> ConfigValue? {
        consumed.append(key)
        if case .null? = map[key] { return nil }
        return map[key]
    }

    mutating func section(_ key: String) throws(ProfileError) -> ConfigReader {
        try ConfigReader(path: keyPath(key), value: take(key))
    }

    mutating func bool(_ key: String, _ fallback: Bool) throws(ProfileError) -> Bool {
        guard let value = take(key) else { return fallback }
        guard case .bool(let flag) = value else {
            throw ProfileError(keyPath: keyPath(key), "expected true or false, found \(value.kindName)")
        }
        return flag
    }

    mutating func double(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(ProfileError) -> Double {
        guard let value = take(key) else { return fallback }
        guard case .number(let number) = value, number.isFinite else {
            throw ProfileError(keyPath: keyPath(key), "expected a number in \(Self.show(range)), found \(value.kindName)")
        }
        guard range.contains(number) else {
            throw ProfileError(keyPath: keyPath(key), "\(Self.show(number)) is out of range; allowed: \(Self.show(range))")
        }
        return number
    }

    mutating func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(ProfileError) -> Int {
        guard let value = take(key) else { return fallback }
        guard case .number(let number) = value, number.isFinite, number.rounded() == number else {
            throw ProfileError(keyPath: keyPath(key),
                               "expected a whole number in \(range.lowerBound)…\(range.upperBound), found \(value.kindName == "a number" ? "a fraction" : value.kindName)")
        }
        guard number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw ProfileError(keyPath: keyPath(key),
                               "\(Self.show(number)) is out of range; allowed: \(range.lowerBound)…\(range.upperBound)")
        }
        return Int(number)
    }

    mutating func string(_ key: String, _ fallback: String, allowed: [String]? = nil) throws(ProfileError) -> String {
        guard let value = take(key) else { return fallback }
        guard case .string(let text) = value else {
            throw ProfileError(keyPath: keyPath(key), "expected a string, found \(value.kindName)")
        }
        if let allowed, !allowed.contains(text) {
            throw ProfileError(keyPath: keyPath(key),
                               "\"\(text)\" is not allowed; allowed: \(allowed.joined(separator: ", "))")
        }
        if allowed == nil && text.isEmpty { throw ProfileError(keyPath: keyPath(key), "must not be empty") }
        return text
    }

    /// A string that may be absent or null (nil); an empty string is refused.
    mutating func optionalString(_ key: String) throws(ProfileError) -> String? {
        guard take(key) != nil else { return nil }
        return try string(key, "")
    }

    mutating func strings(_ key: String, _ fallback: [String], allowEmpty: Bool = true) throws(ProfileError) -> [String] {
        guard let value = take(key) else { return fallback }
        guard case .list(let items) = value else {
            throw ProfileError(keyPath: keyPath(key), "expected a list of strings, found \(value.kindName)")
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, !text.isEmpty else {
                throw ProfileError(keyPath: keyPath(key) + "[\(index)]", "expected a non-empty string, found \(item.kindName)")
            }
            result.append(text)
        }
        if !allowEmpty && result.isEmpty { throw ProfileError(keyPath: keyPath(key), "must list at least one entry") }
        return result
    }

    /// A map of names to numbers (price tables); when present it replaces the default table.
    mutating func numberTable(_ key: String, _ fallback: [String: Double],
                              _ range: ClosedRange<Double>) throws(ProfileError) -> [String: Double] {
        guard let value = take(key) else { return fallback }
        guard case .map(let entries) = value else {
            throw ProfileError(keyPath: keyPath(key), "expected a map of names to numbers, found \(value.kindName)")
        }
        var result: [String: Double] = [:]
        for (name, entry) in entries {
            guard case .number(let number) = entry, number.isFinite else {
                throw ProfileError(keyPath: keyPath(key) + "." + name, "expected a number, found \(entry.kindName)")
            }
            guard range.contains(number) else {
                throw ProfileError(keyPath: keyPath(key) + "." + name,
                                   "\(Self.show(number)) is out of range; allowed: \(Self.show(range))")
            }
            result[name] = number
        }
        return result
    }

    /// Fails naming every key that was not read.
    func finish() throws(ProfileError) {
        guard !map.isEmpty else { return }
        let unknown = map.keys.filter { !consumed.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let known = Set(consumed).sorted().joined(separator: ", ")
        throw ProfileError(keyPath: keyPath(first), "unknown key\(unknown.count > 1 ? " (also: \(unknown.dropFirst().joined(separator: ", ")))" : ""); known keys here: \(known)")
    }

    static func show(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    static func show(_ range: ClosedRange<Double>) -> String { "\(show(range.lowerBound))…\(show(range.upperBound))" }
}
