import Foundation
import Testing
import TestSupport

@Suite struct ModuleHygieneTests {
    /// Every target a Lambda function (an executable under functions/) links, directly or through other targets,
    /// imports no Foundation at all: not Foundation, FoundationEssentials (3.95 MB of a 20 MB bootstrap, plus its
    /// regex engine and collections, all or nothing), FoundationXML/Networking, nor Yams. JSON goes through
    /// JSONCoding; dates, base64, client tokens and file reads through OdinBasics (Instant, Base64, RandomID,
    /// FileSystem).
    @Test("the targets the Lambda functions link import no Foundation")
    func functionTargetsImportNoFoundation() throws {
        let manifest = try PackageManifest.load(packageRoot: Peers.packageRoot)
        let byName = Dictionary(uniqueKeysWithValues: manifest.targets.map { ($0.name, $0) })
        let functions = manifest.targets.filter { $0.type == "executable" && $0.path.hasPrefix("functions/") }
        #expect(functions.count >= 5, "the manifest lists the function executables")
        var linked: Set<String> = [], pending = functions.map(\.name)
        while let name = pending.popLast() {
            guard linked.insert(name).inserted, let target = byName[name] else { continue }
            pending += target.targets
            #expect(target.products.isEmpty, "\(name) (linked by a function) uses another package's products")
        }
        for module in ["AWS", "Events", "Odin", "OdinAWS", "OdinKit", "LambdaRuntime", "HTTP", "JSONCoding"] {
            #expect(linked.contains(module), "\(module) is expected among the targets the functions link")
        }
        let forbidden: Set<String> = ["Foundation", "FoundationEssentials", "FoundationInternationalization",
                                      "FoundationXML", "FoundationNetworking", "Yams"]
        for name in linked.sorted() {
            guard let target = byName[name], target.type != "system" else { continue }
            let imports = try SourceImports.modules(under: Peers.packageRoot + "/" + target.path)
            #expect(imports.isDisjoint(with: forbidden),
                    "\(name) is linked by a Lambda function but imports \(imports.intersection(forbidden).sorted())")
        }
    }

    /// Package.swift declares exactly what each target imports, for every Swift target: each declared dependency
    /// (target or product) is imported by at least one of the target's sources, and each imported module of the
    /// package or its dependencies is declared. The manifest is read by SwiftPM itself (`swift package
    /// dump-package`), the sources' `import` lines by `SourceImports`. Executable targets a test target declares
    /// are build-order dependencies (the tests run those binaries), not imports.
    @Test("Package.swift declares exactly what each target imports")
    func packageDependenciesMatchImports() throws {
        let manifest = try PackageManifest.load(packageRoot: Peers.packageRoot)
        let targetTypes = Dictionary(uniqueKeysWithValues: manifest.targets.map { ($0.name, $0.type) })
        let productModules = Set(manifest.targets.flatMap { $0.products })
        #expect(manifest.targets.count > 20 && !productModules.isEmpty, "the manifest dump lists the targets")
        var differences: [String] = []
        for target in manifest.targets where target.type != "system" {
            let imports = try SourceImports.modules(under: Peers.packageRoot + "/" + target.path)
                .subtracting(SourceImports.toolchainModules)
            var declared = Set(target.products)
            for name in target.targets {
                if target.type == "test" && targetTypes[name] == "executable" { continue }
                declared.insert(name)
            }
            let unused = declared.subtracting(imports).sorted()
            let undeclared = imports.subtracting(declared).sorted()
            if !unused.isEmpty {
                differences.append("\(target.name) declares \(unused.joined(separator: ", ")) but never imports it: "
                                   + "remove it from the target's dependencies in Package.swift")
            }
            if !undeclared.isEmpty {
                let known = undeclared.map { targetTypes[$0] != nil || productModules.contains($0) ? $0 : $0 + " (unknown module)" }
                differences.append("\(target.name) imports \(known.joined(separator: ", ")) without declaring it: "
                                   + "add it to the target's dependencies in Package.swift")
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test("import lines are read as Swift declares them, not from string literals")
    func sourceImportParsing() {
        let quotes = String(repeating: "\"", count: 3)  // a multi-line literal would hide these lines from
        // the scan of this very file
        let source = [
            "import A", "@testable import B", "@preconcurrency internal import C", "public import struct D.Thing",
            "#if canImport(E)", "  import E", "#endif",
            "let script = " + quotes, "    import notSwift", "    " + quotes,
            "// import InComment", "let text = \"import InString\"",
        ].joined(separator: "\n")
        #expect(SourceImports.modules(in: source) == ["A", "B", "C", "D", "E"])
    }
}

/// What `swift package dump-package` says about each target.
struct PackageManifest {
    struct Target {
        var name: String
        var type: String
        /// The sources' directory relative to the package root.
        var path: String
        /// Dependencies on targets of this package (by name).
        var targets: [String]
        /// Dependencies on products of other packages (their module has the product's name here).
        var products: [String]
    }

    var targets: [Target]

    static func load(packageRoot: String) throws -> PackageManifest {
        // A scratch path of its own: the build that runs these tests holds the package's .build lock.
        let scratch = try TestEnvironment.makeTemporaryDirectory("dump-package")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = try Peers.run("/usr/bin/env", ["swift", "package", "--package-path", packageRoot,
                                                    "--scratch-path", scratch, "dump-package"])
        guard result.status == 0, let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            as? [String: Any], let targets = json["targets"] as? [[String: Any]]
        else {
            throw TestServerError("swift package dump-package failed (\(result.status)): \(result.stderr)")
        }
        return PackageManifest(targets: targets.map { target in
            let name = target["name"] as? String ?? ""
            let type = target["type"] as? String ?? ""
            var byName: [String] = [], products: [String] = []
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                for (kind, value) in dependency {
                    guard let first = (value as? [Any])?.first as? String else { continue }
                    if kind == "product" { products.append(first) } else { byName.append(first) }
                }
            }
            let path = target["path"] as? String ?? (type == "test" ? "Tests/" : "Sources/") + name
            return Target(name: name, type: type, path: path, targets: byName, products: products)
        })
    }
}

/// The modules a directory's Swift sources import (`import M`, `@testable import M`, `internal import M`,
/// `import struct M.T`, inside `#if` too), skipping comments and multi-line string literals (tests embed Python).
enum SourceImports {
    /// Modules of the toolchain and the platform, which no manifest declares.
    static let toolchainModules: Set<String> = [
        "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
        "FoundationXML", "Glibc", "Musl", "Darwin", "Dispatch", "Synchronization", "Testing", "XCTest",
        "_Concurrency", "_StringProcessing", "PackageDescription",
    ]

    static let modifiers: Set<String> = ["public", "package", "internal", "fileprivate", "private", "open"]
    static let declarationKinds: Set<String> = ["struct", "class", "enum", "protocol", "typealias", "func", "var",
                                                "let"]

    static func modules(under directory: String) throws -> Set<String> {
        var result: Set<String> = []
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw TestServerError("no such source directory: \(directory)")
        }
        for case let file as String in walker where file.hasSuffix(".swift") {
            result.formUnion(modules(in: try String(contentsOfFile: directory + "/" + file, encoding: .utf8)))
        }
        return result
    }

    static func modules(in source: String) -> Set<String> {
        var result: Set<String> = []
        var inMultilineString = false
        for rawLine in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let delimiters = line.components(separatedBy: "\"\"\"").count - 1
            let startsInside = inMultilineString
            if delimiters % 2 == 1 { inMultilineString.toggle() }
            if startsInside || delimiters > 0 { continue }
            var tokens = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)[...]
            while let first = tokens.first, first.hasPrefix("@") || modifiers.contains(first) { tokens.removeFirst() }
            guard tokens.first == "import" else { continue }
            tokens.removeFirst()
            if let kind = tokens.first, declarationKinds.contains(kind) { tokens.removeFirst() }
            guard let path = tokens.first, let module = path.split(separator: ".").first else { continue }
            result.insert(String(module))
        }
        return result
    }
}
