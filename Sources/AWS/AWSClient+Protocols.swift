import HTTP
import JSONCoding
import OdinBasics

// The four wire protocols, as small internal helpers the service extensions build on.
extension AWSClient {
    // MARK: - Query (STS, SNS, CloudWatch, EC2, CloudFormation)

    /// POSTs `Action`/`Version` plus `parameters` as a form and returns the `<ActionResult>` element (or the root
    /// when there is none, as in EC2's `<ActionResponse>`).
    func queryCall(
        _ service: AWSService, action: String, parameters: [(String, String)], isIdempotent: Bool = true
    ) throws(AWSError) -> XMLNode {
        var form = [("Action", action), ("Version", service.apiVersion)]
        form.append(contentsOf: parameters)
        let request = HTTPRequest(
            method: "POST", url: endpoint(for: service).baseURL + "/",
            headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
            body: .bytes(Array(URIEncoding.formBody(form).utf8)))
        let operation = AWSOperation(service, action, isIdempotent: isIdempotent)
        let response = try send(request, operation: operation)
        let root = try parseXML(response.body, operation)
        return root.child(action + "Result") ?? root
    }

    func parseXML(_ body: [UInt8], _ operation: AWSOperation) throws(AWSError) -> XMLNode {
        do throws(XMLError) {
            return try XMLNode.parse(body)
        } catch {
            throw AWSError(kind: .invalidResponse, service: operation.service.id, operation: operation.name,
                           status: 200, code: "InvalidResponse", message: error.description)
        }
    }

    // MARK: - JSON 1.0 (DynamoDB)

    func jsonCall<Input: Encodable, Output: Decodable>(
        _ service: AWSService, target: String, input: Input, isIdempotent: Bool = true, as _: Output.Type
    ) throws(AWSError) -> Output {
        let operation = AWSOperation(service, target, isIdempotent: isIdempotent)
        let body = try encodeJSON(input, operation)
        let request = HTTPRequest(
            method: "POST", url: endpoint(for: service).baseURL + "/",
            headers: HTTPHeaders([("Content-Type", "application/x-amz-json-1.0"),
                                  ("X-Amz-Target", "\(service.apiVersion).\(target)")]),
            body: .bytes(body))
        let response = try send(request, operation: operation)
        return try decodeJSON(Output.self, response.body, operation)
    }

    // MARK: - REST-JSON (Batch)

    func restJSONCall<Input: Encodable, Output: Decodable>(
        _ service: AWSService, operation name: String, path: String, input: Input, isIdempotent: Bool = true,
        as _: Output.Type
    ) throws(AWSError) -> Output {
        let operation = AWSOperation(service, name, isIdempotent: isIdempotent)
        let body = try encodeJSON(input, operation)
        let request = HTTPRequest(method: "POST", url: endpoint(for: service).baseURL + path,
                                  headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(body))
        let response = try send(request, operation: operation)
        return try decodeJSON(Output.self, response.body, operation)
    }

    // MARK: - JSON coding

    func encodeJSON<Input: Encodable>(_ input: Input, _ operation: AWSOperation) throws(AWSError) -> [UInt8] {
        do {
            return try JSONCoder.encode(input)
        } catch {
            throw AWSError(kind: .invalidRequest, service: operation.service.id, operation: operation.name,
                           code: "InvalidRequest", message: "could not encode the request: \(error)")
        }
    }

    func decodeJSON<Output: Decodable>(_ type: Output.Type, _ body: [UInt8], _ operation: AWSOperation)
        throws(AWSError) -> Output
    {
        do {
            return try JSONCoder.decode(Output.self, from: body.isEmpty ? Array("{}".utf8) : body)
        } catch {
            throw AWSError(kind: .invalidResponse, service: operation.service.id, operation: operation.name,
                           status: 200, code: "InvalidResponse", message: "unexpected response shape: \(error)")
        }
    }
}

/// An empty JSON object (requests without fields, responses whose content we ignore).
public struct EmptyJSON: Codable, Sendable {
    public init() {}
}

// MARK: - Query-protocol parameter building

/// Flattens values into query-protocol parameters (`Name.member.1.Key=…`).
struct QueryParameters {
    private(set) var pairs: [(String, String)] = []

    mutating func add(_ name: String, _ value: String?) {
        if let value { pairs.append((name, value)) }
    }

    mutating func add(_ name: String, _ value: Int?) { add(name, value.map(String.init)) }
    mutating func add(_ name: String, _ value: Double?) { add(name, value.map { Self.format($0) }) }
    mutating func add(_ name: String, _ value: Bool?) { add(name, value.map { $0 ? "true" : "false" }) }

    /// `prefix.member.N` for each string (N from 1).
    mutating func addList(_ prefix: String, _ values: [String], member: String = "member") {
        for (index, value) in values.enumerated() { add("\(prefix).\(member).\(index + 1)", value) }
    }

    /// `prefix.member.N.<field>` through a closure per element.
    mutating func addStructs<T>(_ prefix: String, _ values: [T], member: String = "member",
                                _ body: (inout QueryParameters, String, T) -> Void) {
        for (index, value) in values.enumerated() { body(&self, "\(prefix).\(member).\(index + 1)", value) }
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
