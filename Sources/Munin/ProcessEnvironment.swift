#if canImport(Glibc)
import Glibc
#endif

/// The process environment, read once into a dictionary (configuration is built from this snapshot, never from
/// scattered `getenv` calls).
public enum ProcessEnvironment {
    public static func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}
