import OdinBasics

/// The shared AWS files (`~/.aws/credentials`, `~/.aws/config`) parsed into profiles.
///
/// Rules (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html): INI sections; in the config file
/// profiles are `[profile name]` (except `[default]`), in the credentials file `[name]`; `#` and `;` start comments;
/// keys are case-insensitive here; a value set in the credentials file wins over the config file.
public struct SharedConfig: Sendable, Equatable {
    /// Profile name → settings.
    public var profiles: [String: [String: String]]

    public init(profiles: [String: [String: String]] = [:]) { self.profiles = profiles }

    /// Parses the two files' contents (either may be empty).
    public init(credentialsFile: String, configFile: String) {
        profiles = [:]
        for (name, settings) in Self.parseINI(configFile, isConfigFile: true) {
            profiles[name, default: [:]].merge(settings) { _, new in new }
        }
        for (name, settings) in Self.parseINI(credentialsFile, isConfigFile: false) {
            profiles[name, default: [:]].merge(settings) { _, new in new }
        }
    }

    /// Reads the files named by `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`, else `$HOME/.aws/…`. Missing
    /// files count as empty.
    public static func load(environment: [String: String]) -> SharedConfig {
        let home = environment["HOME"] ?? ""
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        let configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
        return SharedConfig(credentialsFile: readText(credentialsPath), configFile: readText(configPath))
    }

    static func readText(_ path: String) -> String {
        guard let bytes = FileSystem.read(path) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func parseINI(_ text: String, isConfigFile: Bool) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        // A missing file (a Lambda function has none) costs nothing at cold start.
        guard !text.isEmpty else { return result }
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else {
                    current = nil
                    continue
                }
                var name = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                if isConfigFile {
                    if name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                        name = name.dropFirst(8).trimmingCharacters(in: .whitespaces)
                    } else if name != "default" {
                        current = nil  // e.g. [sso-session x], [services x]: not profiles
                        continue
                    }
                }
                current = name
                result[name, default: [:]] = result[name] ?? [:]
                continue
            }
            // Indented lines continue a sub-section (e.g. `s3 =` nested keys); they are not profile keys.
            if rawLine.first == " " || rawLine.first == "\t" { continue }
            guard let profile = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            // Inline comments need whitespace before the marker.
            for marker in [" #", " ;", "\t#", "\t;"] {
                if let range = value.firstUTF8Range(of: marker) {
                    value = value[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                }
            }
            result[profile]![key] = value
        }
        return result
    }
}
