import Foundation
import Testing
import TestSupport

/// Golden tests of the full `--help` text of every executable that has one: `odin` and each of its subcommands
/// (found by walking the SUBCOMMANDS sections from `odin --help`), `hugin` and `munin-worker`. The expected texts are
/// Tests/Fixtures/help/<executable>[-<subcommand>…].txt; after changing a help text, regenerate them all (new ones
/// written, changed ones rewritten, ones of removed commands deleted) with
///
///     ODIN_UPDATE_GOLDEN=1 swift test --filter CLIHelpTests
///
/// and review the diff (Tests/Fixtures/help/README.md).
@Suite(.requires(.odin)) struct CLIHelpTests {
    static let goldenFolder = TestEnvironment.packageRoot + "/Tests/Fixtures/help"
    static let regenerate = "ODIN_UPDATE_GOLDEN=1 swift test --filter CLIHelpTests"
    static var isUpdating: Bool { ProcessInfo.processInfo.environment["ODIN_UPDATE_GOLDEN"] == "1" }

    /// A fixed environment, so the text does not depend on the terminal, the locale or the caller's AWS settings.
    static let helpEnvironment = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "COLUMNS": "80", "LINES": "24",
                                  "LANG": "C.UTF-8"]

    /// `executable arguments… --help`, which must succeed and print to stdout only.
    static func help(_ executable: String, _ arguments: [String]) throws -> String {
        let result = try Peers.run(TestEnvironment.binary(executable), arguments + ["--help"],
                                   environment: helpEnvironment)
        let command = ([executable] + arguments).joined(separator: " ")
        guard result.status == 0 else { throw CLITestError("\(command) --help exited \(result.status): \(result.stderr)") }
        guard result.stderr.isEmpty else { throw CLITestError("\(command) --help wrote to stderr: \(result.stderr)") }
        return result.stdout
    }

    /// The subcommand names a help text lists under SUBCOMMANDS (without the generated `help`).
    static func subcommands(in help: String) -> [String] {
        var names: [String] = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "SUBCOMMANDS:" { inSection = true; continue }
            guard inSection else { continue }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            // An entry starts two spaces in; wrapped abstracts are indented further.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { continue }
            let command = String(name).trimmingCharacters(in: CharacterSet(charactersIn: ","))
            if command != "help" { names.append(command) }
        }
        return names
    }

    /// Every `odin` command path and its help text, from `odin --help` down.
    static func odinHelpTree() throws -> [(command: [String], text: String)] {
        var tree: [(command: [String], text: String)] = []
        var pending: [[String]] = [[]]
        while !pending.isEmpty {
            let command = pending.removeFirst()
            let text = try help("odin", command)
            tree.append((command, text))
            pending += subcommands(in: text).map { command + [$0] }
        }
        return tree
    }

    /// Every help text by its fixture file name.
    static func currentHelpTexts() throws -> [String: String] {
        var texts: [String: String] = [:]
        for (command, text) in try odinHelpTree() {
            texts[(["odin"] + command).joined(separator: "-") + ".txt"] = text
        }
        for executable in ["hugin", "munin-worker"] { texts[executable + ".txt"] = try help(executable, []) }
        return texts
    }

    @Test func everyHelpTextMatchesItsGolden() throws {
        let current = try Self.currentHelpTexts()
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: Self.goldenFolder).filter { $0.hasSuffix(".txt") })
        if Self.isUpdating {
            for name in files.subtracting(current.keys) {
                try FileManager.default.removeItem(atPath: Self.goldenFolder + "/" + name)
            }
            for (name, text) in current {
                try text.write(toFile: Self.goldenFolder + "/" + name, atomically: true, encoding: String.Encoding.utf8)
            }
            print("ODIN_UPDATE_GOLDEN=1: wrote \(current.count) help goldens to \(Self.goldenFolder)")
            return
        }
        let missing = Set(current.keys).subtracting(files).sorted()
        let stale = files.subtracting(current.keys).sorted()
        #expect(missing.isEmpty, "commands without a golden help text: \(missing); run \(Self.regenerate)")
        #expect(stale.isEmpty, "goldens of commands that do not exist: \(stale); run \(Self.regenerate)")
        for (name, text) in current.sorted(by: { $0.key < $1.key }) where files.contains(name) {
            let golden = try String(contentsOfFile: Self.goldenFolder + "/" + name, encoding: .utf8)
            guard golden != text else { continue }
            let expected = golden.split(separator: "\n", omittingEmptySubsequences: false)
            let actual = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(expected.count, actual.count)
            Issue.record("""
                \(name) differs from the --help output at line \(line + 1):
                  golden: \(line < expected.count ? String(expected[line]) : "<end>")
                  actual: \(line < actual.count ? String(actual[line]) : "<end>")
                (if the change is intended, run \(Self.regenerate) and review the diff)
                """)
        }
    }

    /// README's command table and docs/cli.md's headings name exactly the commands `odin --help` lists.
    @Test func readmeAndReferenceListExactlyTheOdinCommands() throws {
        let readme = try String(contentsOfFile: TestEnvironment.packageRoot + "/README.md", encoding: .utf8)
        let after = try #require(readme.components(separatedBy: "## The `odin` command").dropFirst().first)
        let section = after.components(separatedBy: "\n## ")[0]
        var listed = Set<String>()
        for row in section.split(separator: "\n") where row.hasPrefix("| `") {
            // The first cell: "`setup`, `teardown`" names several commands; "`run --local` again" a mode of run.
            let firstCell = row.dropFirst(2).prefix { $0 != "|" }
            for (index, part) in firstCell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            where index % 2 == 1 {
                listed.insert(String(part.split(separator: " ")[0]))
            }
        }
        let commands = Set(Self.subcommands(in: try Self.help("odin", [])))
        #expect(!listed.isEmpty, "README.md has no command table under '## The `odin` command'")
        #expect(listed.subtracting(commands).isEmpty, "README lists commands odin lacks: \(listed.subtracting(commands).sorted())")
        #expect(commands.subtracting(listed).isEmpty, "odin commands missing from README's table: \(commands.subtracting(listed).sorted())")

        // docs/cli.md, the full reference: one "### `odin <command> …`" heading (or several per heading) for each.
        let reference = try String(contentsOfFile: TestEnvironment.packageRoot + "/docs/cli.md", encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"`odin ([a-z][a-z-]*)"#)
        var documented = Set<String>()
        for heading in reference.split(separator: "\n") where heading.hasPrefix("### ") {
            let line = String(heading)
            for match in regex.matches(in: line, range: NSRange(line.startIndex..., in: line)) {
                documented.insert(String(line[Range(match.range(at: 1), in: line)!]))
            }
        }
        #expect(documented.subtracting(commands).isEmpty,
                "docs/cli.md documents commands odin lacks: \(documented.subtracting(commands).sorted())")
        #expect(commands.subtracting(documented).isEmpty,
                "odin commands without a heading in docs/cli.md: \(commands.subtracting(documented).sorted())")
    }

    /// Every `make <target>` the README and docs/cli.md mention is a target `make help` lists.
    @Test func documentedMakeTargetsExist() throws {
        let make = try Peers.run("/usr/bin/make", ["-s", "-C", TestEnvironment.packageRoot, "help"])
        #expect(make.status == 0, "make help: \(make.stderr)")
        let targets = Set(make.stdout.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            return words.count >= 2 && words[0] == "make" ? String(words[1]) : nil
        })
        #expect(targets.contains("test") && targets.contains("demo"), "make help lists \(targets.sorted())")
        for document in ["README.md", "docs/cli.md"] {
            let text = try String(contentsOfFile: TestEnvironment.packageRoot + "/" + document, encoding: .utf8)
            let regex = try NSRegularExpression(pattern: #"`make ([a-z][a-z-]*)"#)
            let range = NSRange(text.startIndex..., in: text)
            for match in regex.matches(in: text, range: range) {
                let target = String(text[Range(match.range(at: 1), in: text)!])
                #expect(targets.contains(target), "\(document) mentions `make \(target)`, which make help does not list")
            }
        }
    }

    @Test func globalOptionsAreOnEveryCommand() throws {
        for command in [["run"], ["status"], ["download"], ["demo"], ["sites", "list"]] {
            let help = try OdinProcess.run(command + ["--help"]).stdout
            for option in ["--profile", "--region", "--local", "--json", "--verbose"] {
                #expect(help.contains(option), "odin \(command.joined(separator: " ")) --help lacks \(option)")
            }
        }
    }

    @Test func usageErrorsExitTwoAndNameTheArgument() throws {
        let noInputs = try OdinProcess.run(["run"])
        #expect(noInputs.status == 2)
        #expect(noInputs.stderr.contains("FILES or DIRS"))
        let badURI = try OdinProcess.run(["download", "bucket/key", "--local-path", "/tmp/x"])
        #expect(badURI.status == 2)
        #expect(badURI.stderr.contains("s3://"))
        let unknown = try OdinProcess.run(["status", "--no-such-option"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("--no-such-option"))
        let badFraction = try OdinProcess.run(["demo", "--reclaim", "2"])
        #expect(badFraction.status == 2)
        #expect(badFraction.stderr.contains("--reclaim"))
    }

    @Test func failuresExitOneAndNameTheResource() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = try OdinProcess.run(["status", "--local", "--local-root", dir + "/nothing"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains(dir + "/nothing/state"))
    }

    @Test func profileErrorsNameTheKeyPath() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-profile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.yaml"
        try "cloud:\n  aws:\n    compute:\n      max_vcpus: -5\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try OdinProcess.run(["setup", "--local", "--profile", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cloud.aws.compute.max_vcpus"))
        let unknownKey = dir + "/unknown.yaml"
        try "pipeline:\n  cost_optimization:\n    max_paralel_jobs: 3\n".write(toFile: unknownKey, atomically: true,
                                                                             encoding: .utf8)
        let second = try OdinProcess.run(["setup", "--local", "--profile", unknownKey, "--json"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("max_paralel_jobs"))
        let good = dir + "/good.yaml"
        try "pipeline:\n  cost_optimization:\n    max_parallel_jobs: 3\n".write(toFile: good, atomically: true,
                                                                              encoding: .utf8)
        let ok = try OdinProcess.run(["setup", "--local", "--profile", good, "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ok.json()["binding"] as? String == "local")
    }

    @Test func batchConfigJSONParses() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-batch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = dir + "/batch.json"
        let result = try OdinProcess.run(["batch", "create-config", "--input", "/data/a", "/data/b", "--job-type",
                                          "image_processing", "--gpu", "--output", output, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try result.json()["jobs"] as? Int == 2)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output)))
            as? [String: Any])
        let jobs = try #require(config["jobs"] as? [[String: Any]])
        #expect(jobs.map { $0["name"] as? String } == ["image_processing-1", "image_processing-2"])
        #expect((jobs[0]["parameters"] as? [String: Any])?["gpu_required"] as? Bool == true)
        #expect((config["batch_id"] as? String)?.hasPrefix("batch-") == true)
    }
}
