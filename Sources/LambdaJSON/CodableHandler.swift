import JSONCoding
public import LambdaRuntime

// JSON handlers live apart from the runtime core so that a function that needs no JSON (echo) links no JSON coder.

/// A typed handler: decodes the event as JSON into `Event`, encodes the `Output` as JSON.
public struct CodableHandler<Event: Decodable, Output: Encodable>: ByteHandler {
    private let body: (Event, LambdaContext) throws -> Output

    public init(_ body: @escaping (Event, LambdaContext) throws -> Output) {
        self.body = body
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] {
        let decoded: Event
        do {
            decoded = try JSONCoder.decode(Event.self, from: event)
        } catch let error as DecodingError {
            throw PayloadDecodingError(Self.describe(error))
        }
        return try JSONCoder.encode(try body(decoded, context))
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
