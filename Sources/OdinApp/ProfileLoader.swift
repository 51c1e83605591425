import Foundation
import Odin
import OdinDeploy
import ProfileYAML

/// The one way the `odin` command loads a profile (every command, `odin deploy` included): a YAML file, or a name
/// for `<root>/profiles/NAME.yaml`; nothing given → `<root>/profiles/default.yaml` when present, else the built-in
/// defaults (the same values). Errors name the file, the key path and the fix (ProfileYAML, Odin's `Profile`).
package struct ProfileLoader: Sendable {
    /// What was loaded: the file (nil for the built-in defaults), its tree (for ODIN_PROFILE_JSON and the stack's
    /// ProfileJson parameter) and the validated profile.
    package struct Loaded: Sendable {
        package var path: String?
        package var tree: ConfigValue
        package var profile: Profile
    }

    /// The folder holding profiles/ (the working directory; `odin deploy --root`).
    package var root: String

    package init(root: String = ".") { self.root = root }

    private func named(_ name: String) -> String {
        root == "." ? "profiles/\(name).yaml" : (root as NSString).appendingPathComponent("profiles/\(name).yaml")
    }

    /// The file `nameOrPath` selects, nil for the built-in defaults; throws when a given name matches nothing.
    package func path(_ nameOrPath: String?) throws(CLIError) -> String? {
        let manager = FileManager.default
        guard let nameOrPath else {
            let fallback = named("default")
            return manager.fileExists(atPath: fallback) ? fallback : nil
        }
        if manager.fileExists(atPath: nameOrPath) { return nameOrPath }
        if manager.fileExists(atPath: named(nameOrPath)) { return named(nameOrPath) }
        throw CLIError("--profile \(nameOrPath): no such file, and no \(named(nameOrPath)) (pass a YAML file or the "
                       + "name of a file under \(named("NAME")))")
    }

    /// The validated profile `nameOrPath` selects, with its file and tree.
    package func load(_ nameOrPath: String?) throws -> Loaded {
        guard let path = try path(nameOrPath) else {
            return Loaded(path: nil, tree: .map([:]), profile: Profile())
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("profile \(path): cannot read the file (check its permissions, or pass another --profile)")
        }
        do {
            let tree = try ProfileYAMLReader.tree(yaml: String(decoding: data, as: UTF8.self), source: path)
            do { return Loaded(path: path, tree: tree, profile: try Profile(tree)) } catch {
                throw CLIError("profile \(path): \(error.keyPath): \(error.message)")
            }
        } catch let error as ProfileYAMLReader.FileError {
            throw CLIError(error.description)
        }
    }

    /// The selected file's tree as compact JSON (what the functions read from ODIN_PROFILE_JSON); nil without a file.
    package func json(_ nameOrPath: String?) throws -> String? {
        let loaded = try load(nameOrPath)
        return loaded.path == nil ? nil : ProfileJSON.json(loaded.tree)
    }
}
