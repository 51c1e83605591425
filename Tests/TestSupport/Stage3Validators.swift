import Foundation

/// Runs `scripts/validate-stage3.py` (MegaDetector's validator, frictionless with the official Camtrap DP schemas,
/// the GeoJSON JSON Schema; see the script) on a Stage 3 folder. A missing venv, validator package or schema folder
/// is an error, never a pass.
public enum Stage3Validators {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The official schema copies: `../shared/schemas/camtrap-dp` beside the package root.
    public static var schemas: String {
        URL(fileURLWithPath: Peers.packageRoot).deletingLastPathComponent()
            .appendingPathComponent("shared/schemas/camtrap-dp").path
    }

    /// The validators' verdict on `stage3`. With `mediaRoot` (the folder that holds `raw/`), every file named in
    /// megadetector.json must exist under it. Prints what was validated.
    public static func validate(stage3: String, mediaRoot: String? = nil) throws -> [String: Any] {
        guard let python = Peers.python else {
            throw Failure(description: "no .venv with the Stage 3 validators: run scripts/venv.sh "
                          + "(scripts/requirements-test.txt: megadetector-utils, frictionless, jsonschema)")
        }
        guard FileManager.default.fileExists(atPath: schemas + "/1.0/camtrap-dp-profile.json") else {
            throw Failure(description: "no Camtrap DP schemas at \(schemas) (../shared/schemas/camtrap-dp beside the "
                          + "repository)")
        }
        var arguments = [Peers.packageRoot + "/scripts/validate-stage3.py", stage3, "--schemas", schemas]
        if let mediaRoot { arguments += ["--media-root", mediaRoot] }
        let run = try Peers.run(python, arguments)
        guard let object = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] else {
            throw Failure(description: "validate-stage3.py exited \(run.status) without a verdict (is a validator "
                          + "missing? run scripts/venv.sh): \(run.stderr.suffix(2000))")
        }
        print("Stage 3 validation of \(stage3):\n\(summary(object))")
        return object
    }

    /// One line per validator: what it checked and how many errors it found.
    public static func summary(_ result: [String: Any]) -> String {
        var lines: [String] = []
        for key in ["megadetector", "camtrap_dp", "geojson"] {
            guard let part = result[key] as? [String: Any] else {
                lines.append("  \(key): not validated")
                continue
            }
            let errors = part["errors"] as? [String] ?? []
            var facts: [String] = []
            for (name, value) in part.sorted(by: { $0.key < $1.key }) where !["errors", "warnings"].contains(name) {
                facts.append("\(name)=\(value)")
            }
            lines.append("  \(key): \(errors.isEmpty ? "valid" : "\(errors.count) error(s)") — "
                         + facts.joined(separator: ", "))
            for error in errors.prefix(10) { lines.append("    error: \(error)") }
        }
        return lines.joined(separator: "\n")
    }

    /// The errors of every validator, empty when all pass.
    public static func errors(_ result: [String: Any]) -> [String] {
        ["megadetector", "camtrap_dp", "geojson"].flatMap { key -> [String] in
            guard let part = result[key] as? [String: Any] else { return ["\(key): not validated"] }
            return (part["errors"] as? [String] ?? []).map { "\(key): \($0)" }
        }
    }
}
