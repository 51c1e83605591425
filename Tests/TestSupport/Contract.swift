import CurlHTTP
import Foundation
import HTTP
import RuntimeEmulator
import Synchronization

/// The contract checker's verdict on one request (scripts/contract/server.py `/check`): AccessDenied per the
/// caller's role in infra/stack.yaml, and violations of the operation's botocore model. A checker that cannot be
/// reached is a finding too, so a missing peer fails the test instead of letting calls through unchecked.
public struct ContractVerdict: Sendable {
    public var denied: [String] = []
    public var violations: [String] = []
    public var findings: [String] { denied.map { "AccessDenied: \($0)" } + violations.map { "model: \($0)" } }

    /// The checker's endpoint from scripts/with-moto.sh, if it runs.
    public static var endpoint: String? {
        ProcessInfo.processInfo.environment["ODIN_CONTRACT_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `operator`: the caller is an operator running the CLI (no role of the template): model validation only.
    public static func check(_ request: ScriptedHTTPServer.Request, checker: String, operator: Bool = false)
        -> ContractVerdict
    {
        var call: [String: Any] = [
            "method": request.method, "target": request.target,
            "headers": request.headers.map { [$0.0, $0.1] }, "body": Data(request.body).base64EncodedString(),
        ]
        if `operator` { call["operator"] = true }
        do {
            let reply = try post(checker + "/check", call)
            return ContractVerdict(denied: reply["denied"] as? [String] ?? [],
                                   violations: reply["violations"] as? [String] ?? [])
        } catch {
            return ContractVerdict(violations: ["contract checker unavailable: \(error)"])
        }
    }

    /// POSTs JSON to the checker and decodes its JSON object reply (HTTP 200 only).
    public static func post(_ url: String, _ object: [String: Any]) throws -> [String: Any] {
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
    public func reply(for request: ScriptedHTTPServer.Request) -> (status: Int, headers: [(String, String)], body: [UInt8]) {
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

/// A loopback proxy in front of a moto_server for the CLI tests: every request an operator's `odin` command sends is
/// validated by the contract checker against botocore's model (the operator has no role in the template, so no IAM
/// evaluation), answered 400 without reaching moto when it breaks the model, and forwarded unchanged otherwise.
public final class ContractProxy: Sendable {
    private let server: ScriptedHTTPServer
    public var endpoint: String { server.baseURL }

    public init(upstream: String, checker: String) throws {
        server = try ScriptedHTTPServer { request in
            let verdict = ContractVerdict.check(request, checker: checker, operator: true)
            if !verdict.findings.isEmpty {
                let reply = verdict.reply(for: request)
                return .response(status: reply.status, headers: reply.headers, body: reply.body)
            }
            return ContractProxy.forward(request, to: upstream)
        }
    }

    deinit { server.stop() }

    private static let proxies = Mutex<[String: ContractProxy]>([:])

    /// The endpoint the CLI should use for `moto`: a contract proxy in front of it when the checker runs (under
    /// scripts/with-moto.sh, i.e. `make test`, where it always does), moto itself otherwise.
    public static func endpoint(for moto: String) -> String {
        guard let checker = ContractVerdict.endpoint else { return moto }
        return proxies.withLock { proxies in
            if let proxy = proxies[moto] { return proxy.endpoint }
            guard let proxy = try? ContractProxy(upstream: moto, checker: checker) else { return "http://127.0.0.1:1" }
            proxies[moto] = proxy
            return proxy.endpoint
        }
    }

    /// Forwards a request unchanged (same Host header, so moto's signature check still passes).
    public static func forward(_ request: ScriptedHTTPServer.Request, to upstream: String) -> ScriptedHTTPServer.Reply {
        var headers = HTTPHeaders()
        for (name, value) in request.headers
        where !["content-length", "connection", "transfer-encoding", "expect"].contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        let forwarded = HTTPRequest(method: request.method, url: upstream + request.target, headers: headers,
                                    body: request.body.isEmpty ? .empty : .bytes(request.body))
        let response: HTTPResponse
        do { response = try HTTPClient().send(forwarded) } catch { return .text(502, "proxy: \(error)") }
        var replyHeaders: [(String, String)] = []
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if ["transfer-encoding", "connection"].contains(lower) { continue }
            if lower == "content-length" && request.method != "HEAD" { continue }
            replyHeaders.append((name, value))
        }
        return .response(status: response.status, headers: replyHeaders, body: response.body)
    }
}
