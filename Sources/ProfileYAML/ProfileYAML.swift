import Foundation
import Odin
import Yams

/// Profile files (YAML) → `ConfigValue` → `Profile`. Yams stays out of the Lambda libraries (the functions get the
/// resolved profile as JSON in ODIN_PROFILE_JSON); the `odin` CLI and the profile tests read YAML through this.
public enum ProfileYAMLReader {
    /// A file that is not valid YAML, or holds a value of a type a profile cannot have; names the file and key path.
    public struct FileError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The YAML text's tree (an empty document is an empty map).
    public static func tree(yaml text: String, source: String) throws -> ConfigValue {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw FileError("profile \(source): not valid YAML: \(error)")
        }
        return try configValue(node ?? [String: Any](), path: "", source: source)
    }

    /// A validated profile from YAML text; errors name the file and the key path.
    public static func profile(yaml text: String, source: String) throws -> Profile {
        let tree = try tree(yaml: text, source: source)
        do { return try Profile(tree) } catch {
            throw FileError("profile \(source): \(error.keyPath): \(error.message)")
        }
    }

    /// Converts what `Yams.load` returns.
    public static func configValue(_ node: Any, path: String, source: String) throws -> ConfigValue {
        switch node {
        case let map as [String: Any]:
            var result: [String: ConfigValue] = [:]
            for (key, value) in map {
                result[key] = try configValue(value, path: path.isEmpty ? key : path + "." + key, source: source)
            }
            return .map(result)
        case let map as [AnyHashable: Any]:
            var result: [String: ConfigValue] = [:]
            for (key, value) in map {
                let name = "\(key)"
                result[name] = try configValue(value, path: path.isEmpty ? name : path + "." + name, source: source)
            }
            return .map(result)
        case let list as [Any]:
            var result: [ConfigValue] = []
            for (index, value) in list.enumerated() {
                result.append(try configValue(value, path: "\(path)[\(index)]", source: source))
            }
            return .list(result)
        case let bool as Bool: return .bool(bool)
        case let int as Int: return .number(Double(int))
        case let double as Double: return .number(double)
        case let string as String: return .string(string)
        case is NSNull: return .null
        default:
            throw FileError("profile \(source): \(path) has a value of an unsupported YAML type (\(type(of: node)))")
        }
    }
}
