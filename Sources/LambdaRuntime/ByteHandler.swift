/// A handler over raw payload bytes: the event as delivered, the response as sent. Typed JSON handlers are in the
/// LambdaJSON target (`CodableHandler`).
public protocol ByteHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8]
}

/// Adapts a closure to `ByteHandler`.
public struct ClosureByteHandler: ByteHandler {
    private let body: ([UInt8], LambdaContext) throws -> [UInt8]
    public init(_ body: @escaping ([UInt8], LambdaContext) throws -> [UInt8]) { self.body = body }
    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] { try body(event, context) }
}
