import AWS
import CurlHTTP
import Foundation
import HTTP
import OdinBasics

/// A signed AWS query-protocol call (form-encoded POST, XML answer) for test set-up the client does not offer
/// (IAM users, roles and instance profiles, EC2 subnet and security-group lookups on moto_server).
public enum SignedQuery {
    /// Returns the response body; throws with the service, the action and the body unless HTTP 200.
    public static func post(_ endpoint: String, _ credentials: AWSCredentials, service: String, version: String,
                            _ parameters: [String: String]) throws -> String {
        var pairs = parameters.map { ($0.key, $0.value) }
        pairs.append(("Version", version))
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: service)
        let request = try signer.signed(
            HTTPRequest(method: "POST", url: endpoint + "/",
                        headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
                        body: .bytes(Array(URIEncoding.formEncode(pairs).utf8))),
            date: Instant.now)
        let response = try HTTPClient().send(request)
        let text = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200 else {
            throw TestServerError("\(service) \(parameters["Action"] ?? "?"): \(text)")
        }
        return text
    }
}
