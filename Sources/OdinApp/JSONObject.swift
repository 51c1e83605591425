import Foundation

extension Encodable {
    /// This value as a JSON object (`[String: Any]`), for the command's JSON printer (sorted keys, pretty).
    package func jsonObject() throws -> [String: Any] {
        let data = try JSONEncoder().encode(self)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIError("\(Self.self) does not encode as a JSON object")
        }
        return object
    }
}
