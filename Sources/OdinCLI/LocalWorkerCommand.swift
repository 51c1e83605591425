import ArgumentParser
import Foundation
import Odin
import OdinKit

/// `odin local-worker`: the boundary between Odin's worker contract and `munin-worker`'s flags, run by the local
/// binding once per array child.
///
/// Odin gives a child ODIN_RUN_ID, ODIN_MANIFEST (any manifest: the run's, or a fallback/resume subset),
/// ODIN_INDEX_OFFSET and AWS_BATCH_JOB_ARRAY_INDEX; its chunk is manifest line offset + index, and Stage 1 goes to
/// `chunk-<chunk.index>` (subset manifests keep the original indices). `munin-worker` takes
/// `--store DIR --run RUN --index I` and reads line I of the run's own manifest, which holds the same chunk I, so
/// this resolves the chunk index and then *replaces itself* with munin-worker (a reclaim kill reaches the worker).
struct LocalWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local-worker",
        abstract: "Run munin-worker for one array child of the local binding (internal; set by odin run --local).",
        shouldDisplay: false)

    @Option(name: .long, help: "Path of the munin-worker executable.")
    var munin: String

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        func require(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw CLIError("local-worker: \(name) is not set (this command is run by the local binding)")
            }
            return value
        }
        let store = try require("ODIN_STORE")
        let runID = try require("ODIN_RUN_ID")
        let manifestKey = try require("ODIN_MANIFEST")
        guard let offset = Int(environment["ODIN_INDEX_OFFSET"] ?? "0"), offset >= 0 else {
            throw CLIError("local-worker: ODIN_INDEX_OFFSET '\(environment["ODIN_INDEX_OFFSET"] ?? "")' is not an integer ≥ 0")
        }
        guard let index = Int(environment["AWS_BATCH_JOB_ARRAY_INDEX"] ?? "0"), index >= 0 else {
            throw CLIError("local-worker: AWS_BATCH_JOB_ARRAY_INDEX is not an integer ≥ 0")
        }
        let objects = try DirectoryObjectStore(root: store)
        let chunks = try IngestPlanner.readManifest(try objects.get(manifestKey))
        guard offset + index < chunks.count else {
            throw CLIError("local-worker: manifest \(manifestKey) has \(chunks.count) chunk(s); line \(offset + index) requested")
        }
        let chunk = chunks[offset + index]
        var childEnvironment = environment
        childEnvironment["AWS_BATCH_JOB_ARRAY_INDEX"] = String(chunk.index)
        Tools.exec(munin, ["--store", store, "--run", runID, "--index", String(chunk.index)],
                   environment: childEnvironment)
    }
}
