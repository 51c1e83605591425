import JSONCoding

/// A malformed or unexpected event. `field` is the JSON path of the offending field (`Records[0].s3.object.key`),
/// so the error posted to the Lambda runtime says what to fix.
public struct EventDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Dotted JSON path of the field, `$` for the document itself.
    public let field: String
    public let message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "invalid event: \(field): \(message)" }
}

/// Decoding helpers shared by every event model.
public enum EventJSON {
    /// Decodes `T` from JSON bytes and turns `DecodingError` into an `EventDecodingError` naming the field.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>,
                                            fieldPrefix: String = "") throws(EventDecodingError) -> T {
        do {
            return try JSONCoder.decode(T.self, from: bytes)
        } catch let error as DecodingError {
            throw describe(error, prefix: fieldPrefix)
        } catch let error as EventDecodingError {
            throw error
        } catch {
            throw EventDecodingError(field: fieldPrefix.isEmpty ? "$" : fieldPrefix, "\(error)")
        }
    }

    /// Parses bytes into a generic JSON object (`[String: Any]`-free: returns the top-level keys only).
    public static func topLevelKeys(of bytes: some Collection<UInt8>) -> Set<String> {
        (try? JSONCoder.decode(AnyKeys.self, from: bytes).keys) ?? []
    }

    static func path(_ codingPath: [any CodingKey], prefix: String) -> String {
        var text = prefix
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty || text.hasSuffix(".") ? key.stringValue : "." + key.stringValue
            }
        }
        if text.hasSuffix(".") { text.removeLast() }
        return text.isEmpty ? "$" : text
    }

    static func describe(_ error: DecodingError, prefix: String) -> EventDecodingError {
        switch error {
        case .keyNotFound(let key, let context):
            return EventDecodingError(field: path(context.codingPath + [key], prefix: prefix), "required field is missing")
        case .typeMismatch(let type, let context):
            return EventDecodingError(field: path(context.codingPath, prefix: prefix),
                                      "expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return EventDecodingError(field: path(context.codingPath, prefix: prefix), "expected \(type), found null")
        case .dataCorrupted(let context):
            return EventDecodingError(field: path(context.codingPath, prefix: prefix), context.debugDescription)
        @unknown default:
            return EventDecodingError(field: prefix.isEmpty ? "$" : prefix, "\(error)")
        }
    }
}

/// Collects the top-level keys of a JSON object (used to recognise an event's shape).
struct AnyKeys: Decodable {
    let keys: Set<String>
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        keys = Set(container.allKeys.map(\.stringValue))
    }
}

/// The common EventBridge envelope fields.
public struct EventBridgeHeader: Decodable, Sendable, Equatable {
    public var id: String?
    public var detailType: String
    public var source: String
    public var account: String?
    public var time: String?
    public var region: String?
    public var resources: [String]?

    enum CodingKeys: String, CodingKey {
        case id, source, account, time, region, resources
        case detailType = "detail-type"
    }
}
