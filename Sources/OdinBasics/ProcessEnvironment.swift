#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment, read once into a dictionary (configuration is built from this snapshot at start, never
/// from scattered `getenv` calls). Foundation-free, so the Lambda functions can use it.
package enum ProcessEnvironment {
    /// Every `NAME=value` entry of `environ`; an entry without `=` is skipped.
    package static func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}
