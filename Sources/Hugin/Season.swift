import FoundationEssentials
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run's Stage 1 as an input of a condensation: `prefix` is the key prefix of the run's folder in `store`
/// (`runs/<id>/` in a store, `<id>/` in a folder of downloaded runs); its chunks are `<prefix>stage1/chunk-*.jsonl.gz`.
public struct SeasonRun: Sendable {
    public var id: String
    public var store: any ObjectStore
    public var prefix: String
    /// Chunks the run's own condensation listed as failed (never half-used).
    public var failedChunks: [Int]

    public init(id: String, store: any ObjectStore, prefix: String, failedChunks: [Int] = []) {
        self.id = id
        self.store = store
        self.prefix = prefix
        self.failedChunks = failedChunks
    }
}

/// Finds the runs of a season. Runs are always ordered by run id (never by listing order or time), so the same runs
/// give the same bytes whichever way they were found.
public enum SeasonInputs {
    /// Where the runs were found: the store they are read from and the URI of the store that holds `raw/`.
    public struct Found: Sendable {
        public var runs: [SeasonRun]
        /// The store holding the runs (and, for a store, its site registry under `state/`).
        public var store: any ObjectStore
        /// True when `store` is a whole store (runs under `runs/`, media under `raw/`); false for a folder of
        /// downloaded runs (its media stayed in the bucket: pass `--media-root`).
        public var isStore: Bool
    }

    /// The runs under `store`'s `runs/` whose id starts with `runPrefix` (empty: all).
    public static func inStore(_ store: any ObjectStore, runPrefix: String = "") throws -> Found {
        guard !runPrefix.contains("/") else {
            throw HuginError.invalidInput("run prefix '\(runPrefix)' must not contain '/': pass s3://BUCKET, "
                                          + "s3://BUCKET/runs/ or s3://BUCKET/runs/<start of the run ids>")
        }
        let keys = try store.list(prefix: "runs/" + runPrefix).map(\.key)
        let runs = try group(keys.map { String($0.dropFirst("runs/".count)) }, store: store, keyPrefix: "runs/",
                             where: store.rootURI + "/runs/" + runPrefix)
        return Found(runs: runs, store: store, isStore: true)
    }

    /// A folder: a store (`DIR/runs/<run>/stage1/…`, as `odin run --local` and `odin download s3://BUCKET/ …`
    /// leave it), a folder of downloaded runs (`DIR/<run>/stage1/…`, as `odin download s3://BUCKET/runs/RUN
    /// --local-path DIR/RUN` writes), or one downloaded run (`DIR/stage1/…`).
    public static func inFolder(_ path: String) throws -> Found {
        let manager = FileManager.default
        func isFolder(_ p: String) -> Bool {
            var isDirectory = false
            return manager.fileExists(atPath: p, isDirectory: &isDirectory) && isDirectory
        }
        var folder = path
        while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
        guard isFolder(folder) else {
            throw HuginError.invalidInput("\(path) is not a folder: pass a folder of downloaded runs "
                                          + "(DIR/<run>/stage1/), a store (DIR/runs/<run>/stage1/), --local, or "
                                          + "s3://BUCKET[/runs/PREFIX]")
        }
        if isFolder(folder + "/stage1") {
            // One downloaded run: the folder's name is the run id.
            let id = String(folder.split(separator: "/").last ?? "")
            let parent = folder.hasPrefix("/") || folder.contains("/")
                ? String(folder[..<(folder.lastIndex(of: "/") ?? folder.startIndex)]) : "."
            let store = try DirectoryObjectStore(root: parent.isEmpty ? "/" : parent)
            let keys = try store.list(prefix: id + "/").map(\.key)
            return Found(runs: try group(keys, store: store, keyPrefix: "", where: folder), store: store,
                         isStore: false)
        }
        let children = (try? manager.contentsOfDirectory(atPath: folder))?.filter { !$0.hasPrefix(".") }.sorted() ?? []
        let runFolders = children.filter { name in
            isFolder(folder + "/" + name) && name != "runs"
                && ["stage1", "stage3", "manifest.jsonl.gz"].contains { manager.fileExists(atPath: folder + "/" + name + "/" + $0) }
        }
        if isFolder(folder + "/runs") {
            guard runFolders.isEmpty else {
                throw HuginError.invalidInput(
                    "\(folder) mixes a store (\(folder)/runs/) with downloaded run folders ("
                    + runFolders.prefix(3).map { folder + "/" + $0 }.joined(separator: ", ")
                    + "): a season reads one store; move the run folders into a folder of their own and pass that, "
                    + "or pass \(folder) without them")
            }
            return try inStore(try DirectoryObjectStore(root: folder))
        }
        let store = try DirectoryObjectStore(root: folder)
        var keys: [String] = []
        for name in runFolders { keys += try store.list(prefix: name + "/").map(\.key) }
        guard !runFolders.isEmpty else {
            throw HuginError.invalidInput(
                "no runs in \(folder): expected \(folder)/<run>/stage1/chunk-*.jsonl.gz (a folder of runs "
                + "downloaded with `odin download s3://BUCKET/runs/RUN --local-path \(folder)/RUN`) or "
                + "\(folder)/runs/<run>/stage1/ (a store, as `odin run --local` leaves it)"
                + (children.isEmpty ? "; the folder is empty" : "; found only: "
                    + children.prefix(5).joined(separator: ", ")))
        }
        return Found(runs: try group(keys, store: store, keyPrefix: "", where: folder), store: store, isStore: false)
    }

    /// Groups `<run>/…` keys (relative to `keyPrefix`) into runs, sorted by id. A run folder without any Stage 1
    /// chunk is an error naming it: a season never silently leaves a run out.
    static func group(_ keys: [String], store: any ObjectStore, keyPrefix: String, where location: String) throws
        -> [SeasonRun]
    {
        var stage1: Set<String> = []
        var seen: Set<String> = []
        for key in keys {
            let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, !parts[0].isEmpty else { continue }
            let id = String(parts[0])
            seen.insert(id)
            if parts.count == 3, parts[1] == "stage1", parts[2].hasPrefix("chunk-"), parts[2].hasSuffix(".jsonl.gz") {
                stage1.insert(id)
            }
        }
        guard !seen.isEmpty else {
            throw HuginError.invalidInput("no runs under \(location): expected <run>/stage1/chunk-*.jsonl.gz; "
                                          + "check the folder, bucket or run prefix")
        }
        let missing = seen.subtracting(stage1).sorted()
        guard missing.isEmpty else {
            throw HuginError.invalidInput(
                (missing.count == 1 ? "a run" : "\(missing.count) runs") + " without Stage 1 under \(location): " + missing.prefix(10).joined(separator: ", ")
                + " (no stage1/chunk-*.jsonl.gz). A season condenses the runs' Stage 1: download whole runs "
                + "(odin download s3://BUCKET/runs/RUN --local-path DIR/RUN, not …/RUN/stage3), or remove "
                + "those folders")
        }
        return try seen.sorted().map { id in
            let prefix = keyPrefix + id + "/"
            return SeasonRun(id: id, store: store, prefix: prefix, failedChunks: try failedChunks(store, prefix))
        }
    }

    /// The chunks the run's own condensation reported as failed (`stage3/report.json`), so a season leaves them out
    /// as the run did. Without a report nothing is known to have failed.
    static func failedChunks(_ store: any ObjectStore, _ prefix: String) throws -> [Int] {
        let key = prefix + "stage3/" + Stage3Files.report
        guard try store.head(key) != nil else { return [] }
        let bytes = try store.get(key)
        guard let report = try? JSONDecoder().decode(Stage3Report.self, from: Data(bytes)) else {
            throw HuginError.invalidInput("\(store.rootURI)/\(key) is not a Hugin report.json: remove it (the "
                                          + "season reads the run's stage1/) or download the run again")
        }
        return Array(Set(report.failedChunks.filter { $0.reason.hasPrefix("failed") }.map(\.chunk))).sorted()
    }
}

/// Condenses many runs ("a season") into one Stage 3 in a local folder: the union of the runs' Stage 1 goes through
/// one condensation (the same writers as a run), so there is one Camtrap DP package with a deployment per camera per
/// site and time span, one megadetector.json, one sites.geojson, one report.json and one report.html.
///
/// - Runs are read in run-id order, whatever order they are given in; a media file held by two runs counts once
///   (the first run by id keeps it).
/// - Visits are built across runs: consecutive detections of one species by one camera at one site at most the
///   visit gap apart are one visit even when an upload window (run) ends between them — the boundary is an
///   artefact of uploading, not of the animal. Visits never cross sites or cameras.
/// - Sites come from the persistent registry, read and never written (the runs registered their points).
/// - No processing time is written: `generated_at`, Camtrap DP `created` and MegaDetector's `completion_time` are
///   the newest capture time among the media. A rerun over the same runs writes byte-identical files.
/// - The folder is written whole or not at all: files go to a temporary sibling, which is then renamed.
/// - Memory: as a run's condensation (see `Condenser`), plus one entry per distinct media path (the check that a
///   file two runs hold counts once) and one deployment span per (location, camera, run).
public struct SeasonCondenser: Sendable {
    public let options: CondensationOptions
    public let registryStore: any SiteRegistryStore

    public init(options: CondensationOptions = CondensationOptions(), registryStore: any SiteRegistryStore) {
        self.options = options
        self.registryStore = registryStore
    }

    /// The default season name: `season-` and a hash of the sorted run ids (the same runs, the same name).
    public static func defaultName(_ runs: [SeasonRun]) -> String {
        "season-" + FNV1a.hex(runs.map(\.id).sorted().joined(separator: "\n"), digits: 8)
    }

    /// Condenses `runs` into `output`. `mediaRoot` is the URI of the store holding `raw/` (Camtrap DP filePath).
    /// `output` must not exist, be empty, or hold an earlier season's output (which is replaced).
    public func condense(runs: [SeasonRun], name: String? = nil, mediaRoot: String, output: String) throws
        -> CondensationSummary
    {
        try options.validate()
        guard !runs.isEmpty else {
            throw HuginError.invalidInput("no runs to condense: pass a folder of runs, a store or s3://BUCKET")
        }
        let sorted = runs.sorted { $0.id < $1.id }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.id == b.id {
            throw HuginError.invalidInput("run \(a.id) is given twice (\(a.store.rootURI)/\(a.prefix) and "
                                          + "\(b.store.rootURI)/\(b.prefix)): pass each run once")
        }
        let name = name ?? Self.defaultName(sorted)
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw HuginError.invalidOption("--name", name, "must be a non-empty name without '/'")
        }
        var target = output
        while target.count > 1 && target.hasSuffix("/") { target.removeLast() }
        try Self.checkOutput(target)

        let work = try TemporaryFolder(parent: options.temporaryDirectory)
        defer { work.remove() }
        var job = CondensationJob(options: options, inputs: sorted, name: name, season: true, mediaRoot: mediaRoot,
                                  work: work.path)
        var summary = try job.execute(registryStore: registryStore, now: "")

        // Whole or nothing: a temporary sibling (same file system), filled, then renamed into place.
        let parent = target.contains("/") ? String(target[..<target.lastIndex(of: "/")!]) : "."
        try FileManager.default.createDirectory(atPath: parent.isEmpty ? "/" : parent,
                                                withIntermediateDirectories: true)
        let staging = try TemporaryFolder(parent: parent.isEmpty ? "/" : parent, prefix: ".season-")
        var placed = false
        defer { if !placed { staging.remove() } }
        for file in summary.files {
            try TemporaryFolder.move(work.path + "/out/" + file, to: staging.path + "/" + file)
        }
        chmod(staging.path, 0o755)
        var old: TemporaryFolder? = nil
        if FileManager.default.fileExists(atPath: target) {
            let aside = try TemporaryFolder(parent: parent.isEmpty ? "/" : parent, prefix: ".season-old-")
            guard rename(target, aside.path) == 0 else {
                aside.remove()
                throw HuginError.io("cannot move the earlier \(target) aside: errno \(errno)")
            }
            old = aside
        }
        guard rename(staging.path, target) == 0 else {
            let code = errno
            if let old { _ = rename(old.path, target) }
            throw HuginError.io("cannot rename \(staging.path) to \(target): errno \(code)")
        }
        placed = true
        old?.remove()
        summary.outputPrefix = target
        return summary
    }

    /// `output` may be missing, empty, or an earlier season's output (its report.json has `season`).
    static func checkOutput(_ output: String) throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: output) else { return }
        var isDirectory = false
        _ = manager.fileExists(atPath: output, isDirectory: &isDirectory)
        let contents = isDirectory ? ((try? manager.contentsOfDirectory(atPath: output)) ?? []) : ["?"]
        if contents.isEmpty { return }
        if isDirectory, let data = manager.contents(atPath: output + "/" + Stage3Files.report),
           let report = try? JSONDecoder().decode(Stage3Report.self, from: data), report.season != nil,
           Set(contents).isSubset(of: Set(Stage3Files.all)) {
            return
        }
        throw HuginError.invalidOption("--output", output, "exists and is not an earlier season's output (only "
                                       + "Stage 3 files with a season report.json are replaced): choose a new "
                                       + "or empty folder")
    }
}
