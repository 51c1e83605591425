import Foundation
import HTTP
import RuntimeEmulator
import TestSupport

/// The contract checker's verdict on one request (scripts/contract/server.py `/check`): AccessDenied per the
/// caller's role in infra/stack.yaml, and violations of the operation's botocore model. A checker that cannot be
/// reached is a finding too, so a missing peer fails the test instead of letting calls through unchecked.
struct ContractVerdict {
    var denied: [String] = []
    var violations: [String] = []
    var findings: [String] { denied.map { "AccessDenied: \($0)" } + violations.map { "model: \($0)" } }

    static func check(_ request: ScriptedHTTPServer.Request, checker: String) -> ContractVerdict {
        let call: [String: Any] = [
            "method": request.method, "target": request.target,
            "headers": request.headers.map { [$0.0, $0.1] }, "body": Data(request.body).base64EncodedString(),
        ]
        do {
            let reply = try post(checker + "/check", call)
            return ContractVerdict(denied: reply["denied"] as? [String] ?? [],
                                   violations: reply["violations"] as? [String] ?? [])
        } catch {
            return ContractVerdict(violations: ["contract checker unavailable: \(error)"])
        }
    }

    /// POSTs JSON to the checker and decodes its JSON object reply (HTTP 200 only).
    static func post(_ url: String, _ object: [String: Any]) throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: object)
        let response = try HTTPClient().send(HTTPRequest(method: "POST", url: url,
                                                         headers: HTTPHeaders([("Content-Type", "application/json")]),
                                                         body: .bytes(Array(body))))
        guard response.status == 200,
              let reply = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        else { throw TestServerError("contract checker \(url): HTTP \(response.status) \(String(decoding: response.body, as: UTF8.self))") }
        return reply
    }

    /// The answer AWS would give instead of forwarding: 403 AccessDenied, else 400 for a request that breaks the
    /// model, in the error format of the request's protocol.
    func reply(for request: ScriptedHTTPServer.Request) -> (status: Int, headers: [(String, String)], body: [UInt8]) {
        let (status, jsonCode, xmlCode) = denied.isEmpty
            ? (400, "ValidationException", "ValidationError") : (403, "AccessDeniedException", "AccessDenied")
        let message = "contract checker: " + findings.joined(separator: "; ")
        if request.header("X-Amz-Target") != nil || request.path.hasPrefix("/v1/") {
            let body = try! JSONSerialization.data(withJSONObject: ["__type": jsonCode, "message": message])
            return (status, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", jsonCode)], Array(body))
        }
        let escaped = message.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        let isQuery = request.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true
        let xml = isQuery
            ? "<ErrorResponse><Error><Type>Sender</Type><Code>\(xmlCode)</Code><Message>\(escaped)</Message></Error></ErrorResponse>"
            : "<Error><Code>\(denied.isEmpty ? "InvalidRequest" : "AccessDenied")</Code><Message>\(escaped)</Message></Error>"
        return (status, [("Content-Type", "application/xml")], Array(xml.utf8))
    }
}
