import Foundation
import Odin
import OdinApp
import Testing
import TestSupport

/// The one profile loader of the `odin` command (every command, `odin deploy` included).
@Suite struct ProfileLoaderTests {
    static func root(_ files: [String: String]) throws -> String {
        let root = try TestEnvironment.makeTemporaryDirectory("profile-loader")
        try FileManager.default.createDirectory(atPath: root + "/profiles", withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: root + "/" + name, atomically: true, encoding: .utf8) }
        return root
    }

    @Test func withoutAFileTheBuiltInDefaultsApply() throws {
        let root = try Self.root([:])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let loaded = try ProfileLoader(root: root).load(nil)
        #expect(loaded.path == nil)
        #expect(loaded.profile == Profile())
        #expect(try ProfileLoader(root: root).json(nil) == nil)
    }

    @Test func defaultNamesAndPathsSelectTheFile() throws {
        let root = try Self.root(["profiles/default.yaml": "pipeline:\n  cost_optimization:\n    max_parallel_jobs: 3\n",
                                  "profiles/lab.yaml": "pipeline:\n  cost_optimization:\n    max_parallel_jobs: 7\n",
                                  "elsewhere.yaml": "cloud:\n  aws:\n    region: eu-north-1\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let loader = ProfileLoader(root: root)
        let fallback = try loader.load(nil)
        #expect(fallback.path == root + "/profiles/default.yaml")
        #expect(fallback.profile.costOptimization.maxParallelJobs == 3)
        let named = try loader.load("lab")
        #expect(named.path == root + "/profiles/lab.yaml")
        #expect(named.profile.costOptimization.maxParallelJobs == 7)
        let file = try loader.load(root + "/elsewhere.yaml")
        #expect(file.profile.compute.region == "eu-north-1")
        // The functions' copy (ODIN_PROFILE_JSON) reads back to the same profile.
        let json = try #require(try loader.json("lab"))
        #expect(try Profile(ConfigValue.parseJSON(Array(json.utf8))) == named.profile)
    }

    @Test func aNameThatMatchesNothingSaysWhatWasTried() throws {
        let root = try Self.root([:])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let error = try #require(throws: CLIError.self) { try ProfileLoader(root: root).load("nope") }
        #expect(error.description.contains("--profile nope"))
        #expect(error.description.contains(root + "/profiles/nope.yaml"))
    }

    @Test func badValuesNameTheFileTheKeyPathAndTheFix() throws {
        let root = try Self.root(["profiles/range.yaml": "cloud:\n  aws:\n    compute:\n      max_vcpus: -5\n",
                                  "profiles/typo.yaml": "pipeline:\n  cost_optimization:\n    max_paralel_jobs: 3\n",
                                  "profiles/broken.yaml": "pipeline: [unclosed\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let loader = ProfileLoader(root: root)
        let range = try #require(throws: CLIError.self) { try loader.load("range") }
        #expect(range.description.hasPrefix("profile \(root)/profiles/range.yaml: cloud.aws.compute.max_vcpus: "))
        let typo = try #require(throws: CLIError.self) { try loader.load("typo") }
        #expect(typo.description.contains("pipeline.cost_optimization.max_paralel_jobs"))
        #expect(typo.description.contains("max_parallel_jobs"), "the known keys name the fix: \(typo)")
        let broken = try #require(throws: CLIError.self) { try loader.load("broken") }
        #expect(broken.description.contains("profiles/broken.yaml: not valid YAML"))
    }

    @Test func theContextAppliesRegion() throws {
        let root = try Self.root(["lab.yaml": "cloud:\n  aws:\n    region: eu-north-1\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        var context = CommandContext(profile: root + "/lab.yaml", environment: [:])
        #expect(try context.loadProfile().compute.region == "eu-north-1")
        context.region = "us-west-2"
        #expect(try context.loadProfile().compute.region == "us-west-2")
    }
}
