import Foundation
import Testing
import TestSupport

@Suite struct CLIHelpTests {
    static let commands: [[String]] = [
        [], ["demo"], ["run"], ["status"], ["setup"], ["teardown"], ["resume"], ["submit"], ["batch"],
        ["batch", "create-config"], ["batch", "process"], ["download"], ["analyze"], ["sites"], ["sites", "list"],
        ["sites", "name"], ["sites", "merge"], ["sites", "cluster"], ["replay"], ["deploy"], ["destroy"], ["costs"], ["simulate"],
    ]

    @Test(arguments: commands)
    func everyCommandHasHelp(_ command: [String]) throws {
        let result = try OdinProcess.run(command + ["--help"])
        #expect(result.status == 0, "odin \(command.joined(separator: " ")) --help: \(result.stderr)")
        #expect(result.stdout.contains("USAGE:"))
        #expect(result.stdout.contains("OVERVIEW:"))
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
