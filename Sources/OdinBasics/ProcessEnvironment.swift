#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment, read once into a dictionary (configuration is built from this snapshot at start, never
/// from scattered `getenv` calls). Foundation-free, so the Lambda functions can use it.
package enum ProcessEnvironment {
    /// Every `NAME=value` entry of `environ`; an entry without `=` is skipped. Split at the first `=` byte with
    /// `strchr` and decoded straight from the C string (no `Character` walk): this runs on every Lambda cold start.
    package static func snapshot() -> [String: String] {
        var count = 0
        while environ[count] != nil { count += 1 }
        var result: [String: String] = Dictionary(minimumCapacity: count)
        for index in 0..<count {
            guard let entry = environ[index], let equals = strchr(entry, Int32(UInt8(ascii: "="))) else { continue }
            let nameLength = equals - entry
            let name = UnsafeRawBufferPointer(start: entry, count: nameLength)
            let value = UnsafeRawBufferPointer(start: equals + 1, count: strlen(equals + 1))
            result[String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        return result
    }
}
