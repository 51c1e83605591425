import FoundationEssentials

/// A handler over raw payload bytes: the event as delivered, the response as sent.
public protocol ByteHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8]
}

/// A typed handler: decodes the event as JSON into `Event`, encodes the `Output` as JSON.
public struct CodableHandler<Event: Decodable, Output: Encodable>: ByteHandler {
    private let body: (Event, LambdaContext) throws -> Output
    private let decoder = JSONDecoder()
    private let encoder: JSONEncoder

    public init(_ body: @escaping (Event, LambdaContext) throws -> Output) {
        self.body = body
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] {
        let decoded: Event
        do {
            decoded = try decoder.decode(Event.self, from: Data(event))
        } catch let error as DecodingError {
            throw EventDecodingError(Self.describe(error))
        }
        return [UInt8](try encoder.encode(try body(decoded, context)))
    }

    /// "event field 'detail.status': expected String, found a number" — names the field and the problem.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text.isEmpty ? "the event" : "event field '\(text)'"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type); \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type) but found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return "\(path(context.codingPath)) is not valid JSON or has a bad value: \(context.debugDescription)\(underlying)"
        @unknown default:
            return "the event could not be decoded: \(error)"
        }
    }
}

/// Adapts a closure to `ByteHandler`.
public struct ClosureByteHandler: ByteHandler {
    private let body: ([UInt8], LambdaContext) throws -> [UInt8]
    public init(_ body: @escaping ([UInt8], LambdaContext) throws -> [UInt8]) { self.body = body }
    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] { try body(event, context) }
}
