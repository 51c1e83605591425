import Compression
import FoundationEssentials
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

/// What one `munin-worker` invocation does: which store, run and chunk, and how.
public struct WorkerConfiguration: Sendable, Equatable {
    /// `file:///DIR`, a plain directory path, or (wired by the AWS binding) `s3://bucket[/prefix]`.
    public var storeURI: String
    public var runID: String
    /// The array index of this child; defaults to `AWS_BATCH_JOB_ARRAY_INDEX`.
    public var index: Int
    public var options: MuninOptions
    /// The manifest to read (`ODIN_MANIFEST`); nil means the run's own `runs/<run>/manifest.jsonl.gz`. Fallback and
    /// resume manifests written by the control plane hold a subset of the run's chunks with their original indices.
    public var manifestKey: String? = nil
    /// Added to `index` to find this child's manifest line (`ODIN_INDEX_OFFSET`: a run of more than 10,000 chunks is
    /// submitted as several array jobs over one manifest).
    public var indexOffset: Int = 0

    public static let usage = """
        usage: munin-worker --store file:///DIR|DIR|s3://BUCKET --run RUN [--index I] [options]
               munin-worker probe FILE|URL | sample FILE [--interval S] | stills DIR   (diagnostics)
          --store V               MUNIN_STORE, ODIN_STORE   object store holding the run (or s3://$ODIN_BUCKET)
          --run V                 MUNIN_RUN, ODIN_RUN_ID    run id (runs/<run>/manifest.jsonl.gz)
          --index V               AWS_BATCH_JOB_ARRAY_INDEX array index (0-based)
          --manifest V            ODIN_MANIFEST             manifest key (default: the run's manifest)
          --index-offset V        ODIN_INDEX_OFFSET         manifest line = offset + index (default 0)
        The chunk's Stage 1 output is runs/<run>/stage1/chunk-<chunk index>.jsonl.gz, where the chunk index is the
        one recorded in the manifest line (fallback manifests keep the original indices).
        """

    /// Reads the environment, then flags (flags win). Errors name the flag and the fix.
    public static func parse(arguments: [String], environment: [String: String]) throws(OptionError)
        -> WorkerConfiguration
    {
        let (options, rest) = try MuninOptions().applying(arguments: arguments, environment: environment)
        var store = environment["MUNIN_STORE"] ?? environment["ODIN_STORE"]
            ?? environment["ODIN_BUCKET"].map { "s3://" + $0 }
        var run = environment["MUNIN_RUN"] ?? environment["ODIN_RUN_ID"]
        var index = environment["AWS_BATCH_JOB_ARRAY_INDEX"]
        var indexSource = "AWS_BATCH_JOB_ARRAY_INDEX"
        var manifest = environment["ODIN_MANIFEST"]
        var offsetText = environment["ODIN_INDEX_OFFSET"]
        var offsetSource = "ODIN_INDEX_OFFSET"
        var i = 0
        while i < rest.count {
            var flag = rest[i], value: String? = nil
            if let eq = flag.firstIndex(of: "="), flag.hasPrefix("--") {
                value = String(flag[flag.index(after: eq)...])
                flag = String(flag[..<eq])
            }
            guard ["--store", "--run", "--index", "--manifest", "--index-offset"].contains(flag) else {
                throw OptionError(option: flag, "unknown option; see munin-worker --help")
            }
            if value == nil {
                guard i + 1 < rest.count else { throw OptionError(option: flag, "needs a value") }
                i += 1
                value = rest[i]
            }
            switch flag {
            case "--store": store = value
            case "--run": run = value
            case "--manifest": manifest = value
            case "--index-offset": offsetText = value; offsetSource = "--index-offset"
            default: index = value; indexSource = "--index"
            }
            i += 1
        }
        // A run (or fallback subset) of one chunk is submitted as a plain job, not an array of size 1 (Batch requires
        // size ≥ 2), so Batch sets no AWS_BATCH_JOB_ARRAY_INDEX: under the control plane's contract that is child 0.
        if index == nil && environment["ODIN_RUN_ID"] != nil {
            index = "0"
            indexSource = "AWS_BATCH_JOB_ARRAY_INDEX (unset: a single-chunk job is child 0)"
        }
        guard let store, !store.isEmpty else {
            throw OptionError(option: "--store", "required (or MUNIN_STORE): file:///DIR, DIR or s3://BUCKET")
        }
        guard let run, !run.isEmpty else { throw OptionError(option: "--run", "required (or MUNIN_RUN)") }
        guard !run.contains("/"), (try? ObjectKey.validate(StoreLayout.manifestKey(run: run))) != nil else {
            throw OptionError(option: "--run", "'\(run)' is not a valid run id (no '/', '.' or '..')")
        }
        guard let indexText = index else {
            throw OptionError(option: "--index", "required when AWS_BATCH_JOB_ARRAY_INDEX is not set")
        }
        guard let parsed = Int(indexText), parsed >= 0 else {
            throw OptionError(option: indexSource, "'\(indexText)' is not a chunk index (an integer ≥ 0)")
        }
        var offset = 0
        if let offsetText, !offsetText.isEmpty {
            guard let value = Int(offsetText), value >= 0 else {
                throw OptionError(option: offsetSource, "'\(offsetText)' is not a line offset (an integer ≥ 0)")
            }
            offset = value
        }
        if let manifest, !manifest.isEmpty {
            guard (try? ObjectKey.validate(manifest)) != nil else {
                throw OptionError(option: "--manifest", "'\(manifest)' is not a valid object key")
            }
        }
        try options.validate()
        var configuration = WorkerConfiguration(storeURI: store, runID: run, index: parsed, options: options)
        configuration.manifestKey = (manifest?.isEmpty ?? true) ? nil : manifest
        configuration.indexOffset = offset
        return configuration
    }
}

/// A run-time failure of the worker (not a per-file problem): missing manifest, unreadable chunk, failed write.
public struct WorkerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "munin-worker: \(message)" }
}

/// The `munin-worker` entry point as a library call, so tests run it in-process.
public enum WorkerCommand {
    /// Builds the object store for a `--store` URI. The default handles `file://` and paths; the AWS binding
    /// supplies one that also handles `s3://`.
    public typealias StoreFactory = @Sendable (_ uri: String) throws -> any ObjectStore

    public static let localStoreFactory: StoreFactory = { uri in
        if uri.hasPrefix("s3://") {
            throw WorkerError("\(uri): s3:// stores need the AWS binding (the odin-linked store factory); "
                + "this build only opens file:// and directory stores")
        }
        if uri.contains("://") && !uri.hasPrefix("file://") {
            throw WorkerError("\(uri): unsupported store scheme; use file:///DIR, DIR or s3://BUCKET")
        }
        return try DirectoryObjectStore(root: uri)
    }

    /// Parses, runs and reports; returns the process exit status: 0 done (per-file errors are in the records),
    /// 2 bad arguments, 1 failure (nothing written).
    public static func main(arguments: [String], environment: [String: String],
                            storeFactory: StoreFactory = localStoreFactory,
                            locator: (@Sendable (any ObjectStore) -> MediaLocator)? = nil,
                            log: @escaping @Sendable (String) -> Void = standardError) -> Int32
    {
        if let first = arguments.first, Diagnostics.commands.contains(first) {
            return Diagnostics.main(arguments, log: log)
        }
        if arguments.contains("--help") || arguments.contains("-h") {
            print(WorkerConfiguration.usage + "\n" + MuninOptions.helpText)
            return 0
        }
        let configuration: WorkerConfiguration
        do { configuration = try WorkerConfiguration.parse(arguments: arguments, environment: environment) } catch {
            log("munin-worker: \(error)\n" + WorkerConfiguration.usage)
            return 2
        }
        do {
            let store = try storeFactory(configuration.storeURI)
            let summary = try run(configuration, store: store, locator: locator?(store), log: log)
            log("munin-worker: run \(configuration.runID) chunk \(configuration.index): "
                + String(decoding: (try? JSONEncoder().encode(summary)) ?? Data(), as: UTF8.self))
            return 0
        } catch let error as OptionError {
            log("munin-worker: \(error)")
            return 2
        } catch {
            log("\(error)")
            return 1
        }
    }

    /// Reads chunk `index` from the run's manifest, processes it, and writes
    /// `runs/<run>/stage1/chunk-<index>.jsonl.gz` in one atomic put (a rerun replaces it; it never appends).
    public static func run(_ configuration: WorkerConfiguration, store: any ObjectStore,
                           locator: MediaLocator? = nil, log: @escaping @Sendable (String) -> Void = { _ in })
        throws -> ChunkSummary
    {
        let chunk = try readChunk(store: store, run: configuration.runID,
                                  line: configuration.indexOffset + configuration.index,
                                  manifestKey: configuration.manifestKey)
        let processor = try ChunkProcessor(options: configuration.options, store: store, locator: locator, log: log)
        let (records, summary) = processor.process(chunk, run: configuration.runID)
        let bytes = try encode(records)
        try store.put(StoreLayout.stage1Key(run: configuration.runID, chunk: chunk.index), bytes: bytes)
        return summary
    }

    /// Line `line` (0-based) of the gzip JSON-lines manifest, decoded and checked. In the run's own manifest line i
    /// holds chunk i; other manifests (fallback, resume) hold chunks with their original indices.
    public static func readChunk(store: any ObjectStore, run: String, line index: Int, manifestKey: String? = nil)
        throws -> Chunk
    {
        let key = manifestKey ?? StoreLayout.manifestKey(run: run)
        let isRunManifest = key == StoreLayout.manifestKey(run: run)
        let compressed: [UInt8]
        do { compressed = try store.get(key) } catch {
            throw WorkerError("cannot read the manifest \(store.rootURI)/\(key): \(error)")
        }
        let text: [UInt8]
        do { text = try Gzip.decompress(compressed) } catch {
            throw WorkerError("manifest \(key) is not gzip: \(error)")
        }
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard index < lines.count else {
            throw WorkerError("manifest \(key) has \(Plural.count(lines.count, "chunk")); index \(index) is out of range")
        }
        let chunk: Chunk
        do { chunk = try JSONDecoder().decode(Chunk.self, from: Data(lines[index])) } catch {
            throw WorkerError("manifest \(key) line \(index + 1) is not a chunk: \(error)")
        }
        guard chunk.index == index || !isRunManifest else {
            throw WorkerError("manifest \(key) line \(index + 1) holds chunk \(chunk.index), expected \(index)")
        }
        guard chunk.runID == run else {
            throw WorkerError("manifest \(key) line \(index + 1) belongs to run '\(chunk.runID)', not '\(run)'")
        }
        return chunk
    }

    /// Stage 1 records as gzip JSON lines (sorted keys, one record per line).
    public static func encode(_ records: [Stage1Record]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text: [UInt8] = []
        for record in records {
            text += try encoder.encode(record)
            text.append(UInt8(ascii: "\n"))
        }
        return try Gzip.compress(text)
    }

    public static let standardError: @Sendable (String) -> Void = { message in
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
