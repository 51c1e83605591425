import AWS
import FoundationEssentials
import HTTP

/// The two JSON wire shapes the bindings send themselves (fields the shared client's request types do not carry:
/// SubmitJob's shareIdentifier/schedulingPriorityOverride/propagateTags, ListJobs filters, DeleteItem ReturnValues).
/// Signing, retries and error decoding stay in `AWSClient.send`.
enum Wire {
    /// A Batch REST-JSON call (`POST /v1/<operation lower-cased>`).
    static func batch<Input: Encodable, Output: Decodable>(
        _ client: AWSClient, _ operation: String, _ input: Input, idempotent: Bool = true, as _: Output.Type
    ) throws(AWSError) -> Output {
        let body = try encode(input, service: "Batch", operation: operation)
        let request = HTTPRequest(method: "POST", url: client.endpoint(for: .batch).baseURL + "/v1/" + operation.lowercased(),
                                  headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(body))
        let response = try client.send(request, operation: AWSOperation(.batch, operation, isIdempotent: idempotent))
        return try decode(Output.self, response.body, service: "Batch", operation: operation)
    }

    /// A DynamoDB JSON 1.0 call (`X-Amz-Target: DynamoDB_20120810.<target>`).
    static func dynamo<Input: Encodable, Output: Decodable>(
        _ client: AWSClient, _ target: String, _ input: Input, idempotent: Bool, as _: Output.Type
    ) throws(AWSError) -> Output {
        let body = try encode(input, service: "DynamoDB", operation: target)
        let request = HTTPRequest(
            method: "POST", url: client.endpoint(for: .dynamoDB).baseURL + "/",
            headers: HTTPHeaders([("Content-Type", "application/x-amz-json-1.0"),
                                  ("X-Amz-Target", "DynamoDB_20120810.\(target)")]),
            body: .bytes(body))
        let response = try client.send(request, operation: AWSOperation(.dynamoDB, target, isIdempotent: idempotent))
        return try decode(Output.self, response.body, service: "DynamoDB", operation: target)
    }

    static func encode<Input: Encodable>(_ input: Input, service: String, operation: String) throws(AWSError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(input))
        } catch {
            throw AWSError(kind: .invalidRequest, service: service, operation: operation, code: "InvalidRequest",
                           message: "could not encode the request: \(error)")
        }
    }

    static func decode<Output: Decodable>(_ type: Output.Type, _ body: [UInt8], service: String, operation: String)
        throws(AWSError) -> Output
    {
        do {
            return try JSONDecoder().decode(Output.self, from: Data(body.isEmpty ? Array("{}".utf8) : body))
        } catch {
            throw AWSError(kind: .invalidResponse, service: service, operation: operation, status: 200,
                           code: "InvalidResponse", message: "unexpected response shape: \(error)")
        }
    }
}
