import Compression
import FoundationEssentials
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hugin condensation of one run: reads `runs/<run>/stage1/chunk-*.jsonl.gz` through the object-store port, places
/// detection locations into stable sites (persistent registry), condenses detections into visits per
/// (site, camera, species), and writes every Stage 3 output under `runs/<run>/stage3/`.
///
/// The control plane calls `condense(run:failedChunks:)` in process for small runs; the `hugin condense` Batch job
/// command calls the same method for large ones. `SeasonCondenser` runs the same job over many runs' Stage 1.
///
/// Memory: chunk files are streamed line by line; detections go through `DetectionSorter` (bounded buffer, sorted
/// runs spilled to disk, then merged), visits are built by `VisitBuilder`, which holds only open visits, and every
/// per-visit or per-media output is streamed to a temporary file. What stays in memory grows with distinct GPS
/// locations, sites, cameras × locations (deployment ranges), species and open visits, not with detections.
/// Distinct GPS locations are exact coordinate pairs: cameras that write one fix per deployment keep this small,
/// cameras that write a jittered fix per image make it grow with images (a documented limit).
public struct Condenser: Sendable {
    public let options: CondensationOptions
    public let store: any ObjectStore
    public let registryStore: any SiteRegistryStore
    public let clock: any WallClock

    /// - Parameters:
    ///   - registryStore: where the site registry lives; defaults to `state/sites.json` in `store`.
    public init(options: CondensationOptions = CondensationOptions(), store: any ObjectStore,
                registryStore: (any SiteRegistryStore)? = nil, clock: any WallClock = SystemClock()) {
        self.options = options
        self.store = store
        self.registryStore = registryStore ?? ObjectStoreSiteRegistryStore(store: store)
        self.clock = clock
    }

    /// Condenses `run`. `failedChunks` are the chunk indices the run record marks as failed: they are listed in the
    /// report; chunks named in the run's manifest without an output file are listed as missing.
    /// Throws `HuginError` for bad options, an unknown run (no Stage 1 output at all) or I/O failures.
    public func condense(run: String, failedChunks: [Int] = []) throws -> CondensationSummary {
        try options.validate()
        guard !run.isEmpty, !run.contains("/"), run != ".", run != ".." else {
            throw HuginError.invalidInput("run id '\(run)' is not valid: use the run's id as shown by `odin status`")
        }
        let work = try TemporaryFolder(parent: options.temporaryDirectory)
        defer { work.remove() }
        let input = SeasonRun(id: run, store: store, prefix: "runs/\(run)/", failedChunks: failedChunks)
        var job = CondensationJob(options: options, inputs: [input], name: run, season: false,
                                  mediaRoot: store.rootURI, work: work.path)
        let now = Timestamp.format(clock.now().timeIntervalSince1970)
        var summary = try job.execute(registryStore: registryStore, now: now)

        // Upload. A folder store on the work folder's file system takes each finished file by rename(2) (atomic, as
        // its own writes are), instead of a second copy of every byte.
        let outputPrefix = StoreLayout.stage3Prefix(run: run)
        for name in summary.files {
            let file = work.path + "/out/" + name, key = outputPrefix + name
            if let directory = store as? DirectoryObjectStore {
                let destination = try directory.path(for: key)
                if let slash = destination.lastIndex(of: "/") {
                    // A failure here is reported by `upload` below, with the store's own error.
                    try? FileManager.default.createDirectory(atPath: String(destination[..<slash]),
                                                             withIntermediateDirectories: true)
                }
                if rename(file, destination) == 0 { continue }
            }
            try store.upload(file: file, to: key)
        }
        summary.outputPrefix = store.rootURI + "/" + outputPrefix
        return summary
    }
}

/// A folder under $TMPDIR removed when the condensation ends.
struct TemporaryFolder {
    let path: String

    init(parent: String?, prefix: String = "hugin-") throws {
        let base = parent ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array((base + "/" + prefix + "XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw HuginError.io("cannot create a temporary folder in \(base): errno \(errno)")
        }
        path = String(cString: made)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Moves a finished file out of a work folder: rename(2) when both are on one file system, else a copy (the
    /// work folder is removed afterwards either way).
    static func move(_ source: String, to destination: String) throws {
        if rename(source, destination) == 0 { return }
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}

/// Interned strings (cameras, species, detectors), told apart by their bytes: Swift's `String ==` merges NFC and NFD
/// spellings (`café` twice), which are two cameras (two folders, two object keys).
struct Interner {
    private(set) var names: [String] = []
    /// ASCII names (nearly all): a String key is exact for them.
    private var index: [String: Int32] = [:]
    private var other: [[UInt8]: Int32] = [:]

    /// The last name looked up (consecutive records nearly always repeat their camera, species and detector).
    private var lastName = "", lastID: Int32 = -1

    mutating func id(_ name: String) -> Int32 {
        if lastID >= 0 && Self.sameBytes(name, lastName) { return lastID }
        let i = lookUp(name)
        (lastName, lastID) = (name, i)
        return i
    }

    /// Byte equality (not `==`, which merges canonically equivalent spellings), without a generic walk.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        guard x.count > 0 else { return true }
        return x.withContiguousStorageIfAvailable { p in
            y.withContiguousStorageIfAvailable { q in memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 }
        }?.flatMap { $0 } ?? x.elementsEqual(y)
    }

    private mutating func lookUp(_ name: String) -> Int32 {
        let ascii = name.utf8.allSatisfy { $0 < 0x80 }
        if ascii, let i = index[name] { return i }
        if !ascii, let i = other[Array(name.utf8)] { return i }
        let i = Int32(names.count)
        names.append(name)
        if ascii { index[name] = i } else { other[Array(name.utf8)] = i }
        return i
    }
}

/// Tables the sort comparator reads while the job keeps adding to them (a reference, so both see one copy).
final class NameTables {
    var cameras = Interner()
    var species = Interner()
    var locations: [GeoPoint] = []
}

// MARK: - The job

struct CondensationJob {
    let options: CondensationOptions
    /// The runs read, in this order (a season sorts them by run id).
    let inputs: [SeasonRun]
    /// The run id, or the season's name: report.json's `run_id`, the Camtrap DP package id.
    let run: String
    /// Many runs: the registry is read, never written; `generated_at` comes from the data.
    let season: Bool
    /// URI of the store holding `raw/` (Camtrap DP filePath).
    let mediaRoot: String
    let work: String

    let tables = NameTables()
    var cameras: Interner { get { tables.cameras } nonmutating set { tables.cameras = newValue } }
    var species: Interner { get { tables.species } nonmutating set { tables.species = newValue } }
    var detectors = Interner()
    var locations: [GeoPoint] { get { tables.locations } nonmutating set { tables.locations = newValue } }
    var locationIndex: [GeoPoint: Int32] = [:]
    /// (location, camera, input) → first and last capture time of any media (deployment start/end).
    var deploymentRange: [DeploymentPlan.RangeKey: DeploymentPlan.Range] = [:]
    /// The input being read.
    var currentInput: Int32 = 0
    /// Seasons only: media path → the input that first held it (a later run's copy is skipped).
    var mediaInput: [String: Int32] = [:]
    var duplicateRecords = 0

    var recordsRead = 0
    var mediaFiles = 0
    var mediaWithoutTime = 0
    var filesWithErrors = 0
    var errorSamples: [String] = []
    var malformedLines = 0
    var invalidGPS = 0
    var belowMin = 0
    var withoutTime = 0
    var chunksRead: [Int] = []
    /// Camtrap DP rows written during the pass (deployment and event counts are added when known).
    var camtrapMedia = 0
    var mediaWithoutPosition = 0
    var problems: [Stage3Report.ChunkProblem] = []

    init(options: CondensationOptions, inputs: [SeasonRun], name: String, season: Bool, mediaRoot: String,
         work: String) {
        self.options = options
        self.inputs = inputs
        self.run = name
        self.season = season
        self.mediaRoot = mediaRoot
        self.work = work
    }

    /// The chunk files of one input, and its failed or missing chunks (`problems`, reasons naming the run in a
    /// season). Throws when the run has neither.
    func chunks(of input: SeasonRun) throws -> (keys: [(Int, String)], problems: [Stage3Report.ChunkProblem]) {
        let store = input.store
        let prefix = input.prefix + "stage1/"
        var chunkKeys: [(Int, String)] = []
        var problems: [Stage3Report.ChunkProblem] = []
        // Only the chunk files: the folder also holds the worker's thumbnails (and crops), thousands of objects.
        for info in try store.list(prefix: prefix + "chunk-") {
            let name = String(info.key.dropFirst(prefix.count))
            guard name.hasPrefix("chunk-"), name.hasSuffix(".jsonl.gz"),
                  let index = Int(name.dropFirst(6).dropLast(9)) else { continue }
            chunkKeys.append((index, info.key))
        }
        chunkKeys.sort { $0.0 < $1.0 }
        let label = season ? "run \(input.id): " : ""
        let failedSet = Set(input.failedChunks)
        for index in failedSet.sorted() {
            problems.append(.init(chunk: index, reason: label + "failed (reported by the run record); not condensed"))
        }
        let present = Set(chunkKeys.map(\.0))
        // A failed chunk is never half-used: any output it left is ignored, as the report says.
        chunkKeys.removeAll { failedSet.contains($0.0) }
        if let manifestCount = try manifestChunkCount(input) {
            for index in 0..<manifestCount where !present.contains(index) && !failedSet.contains(index) {
                problems.append(.init(chunk: index, reason: label + "missing: no Stage 1 output"))
            }
        }
        guard !chunkKeys.isEmpty || !problems.isEmpty else {
            throw HuginError.invalidInput(season
                ? "run \(input.id) has no Stage 1 output (\(store.rootURI)/\(prefix)chunk-*.jsonl.gz): download the "
                    + "whole run (odin download s3://BUCKET/runs/\(input.id) --local-path DIR/\(input.id)), not only "
                    + "its stage3/, or leave the run out"
                : "run \(run) has no Stage 1 output under \(store.rootURI)/\(prefix) "
                    + "and no failed chunks; check the run id and the --store")
        }
        return (chunkKeys, problems.sorted { $0.chunk < $1.chunk })
    }

    /// Condenses the inputs into `work/out`; the summary's `outputPrefix` is left empty for the caller.
    /// `now` is report.json's `generated_at` for one run; a season derives its own from the data.
    mutating func execute(registryStore: any SiteRegistryStore, now runNow: String) throws -> CondensationSummary {
        // 1. Which chunks exist, which failed, which are missing (every input checked before anything is read).
        var plans: [(keys: [(Int, String)], problems: [Stage3Report.ChunkProblem])] = []
        for input in inputs { plans.append(try chunks(of: input)) }

        // 2. Pass over the chunks: detections into the sorter, media and MegaDetector entries into temp files.
        let sorter = makeSorter()
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        let megadetector = try MegadetectorBatch(path: work + "/out/" + Stage3Files.megadetector)
        let mediaTemp = try FileSink(path: work + "/media.rows")
        var entries: [DetectionEntry] = []
        let parser = Stage1LineParser()
        var seasonRuns: [Stage3Report.Season.Run] = []
        for (inputIndex, input) in inputs.enumerated() {
            currentInput = Int32(inputIndex)
            lastMediaPath = nil
            let store = input.store
            let (recordsBefore, mediaBefore, duplicatesBefore) = (recordsRead, mediaFiles, duplicateRecords)
            var runChunksRead: [Int] = []
            var runProblems = plans[inputIndex].problems
            for (index, key) in plans[inputIndex].keys {
                let local: String
                var downloaded: String? = nil
                if let directory = store as? DirectoryObjectStore {
                    local = try directory.path(for: key)
                } else {
                    local = work + "/chunk-\(index).jsonl.gz"
                    try store.download(key, to: local)
                    downloaded = local
                }
                defer { if let downloaded { unlink(downloaded) } }
                var line = 0
                do {
                    let reader = try GzipLineReader(path: local)
                    while try reader.withNextLine({ bytes in
                        line += 1
                        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
                        let record: Stage1Record
                        do {
                            record = try parser.decode(bytes)
                        } catch {
                            malformedLines += 1
                            if errorSamples.count < 20 {
                                errorSamples.append((season ? "run \(input.id) " : "")
                                                    + "chunk \(index) line \(line): not a Stage 1 record (\(error))")
                            }
                            return
                        }
                        if season {
                            // One media file counts once: a later run (by id) holding it again is skipped.
                            if let first = mediaInput[record.path] {
                                if first != currentInput { duplicateRecords += 1; return }
                            } else {
                                mediaInput[record.path] = currentInput
                            }
                        }
                        try ingest(record, into: &entries, megadetector: megadetector, media: mediaTemp)
                        if entries.count >= 4096 {
                            for e in entries { try sorter.append(e) }
                            entries.removeAll(keepingCapacity: true)
                        }
                    }) {}
                    runChunksRead.append(index)
                } catch let error as HuginError {
                    throw error
                } catch {
                    runProblems.append(.init(chunk: index, reason: (season ? "run \(input.id): " : "")
                                             + "unreadable after line \(line) (records before it were used): \(error)"))
                    if line > 0 { runChunksRead.append(index) }
                }
            }
            runProblems.sort { $0.chunk < $1.chunk }
            chunksRead += runChunksRead
            problems += runProblems
            seasonRuns.append(.init(runID: input.id, chunksRead: runChunksRead, failedChunks: runProblems,
                                    recordsRead: recordsRead - recordsBefore, mediaFiles: mediaFiles - mediaBefore,
                                    duplicateRecordsSkipped: duplicateRecords - duplicatesBefore))
        }
        for e in entries { try sorter.append(e) }
        entries = []
        flushPending()
        try megadetector.endEntries()
        try mediaTemp.close()
        if !season { problems.sort { $0.chunk < $1.chunk } }
        // A season's generated_at is its newest capture time (the inputs', never the clock's).
        let now = !season ? runNow
            : Timestamp.format((deploymentRange.values.map(\.end).max() ?? 0).rounded(.up))

        // 3. Sites: cluster this run's locations together with the registry's anchors.
        let (loaded, token) = try registryStore.load()
        var registry = loaded ?? SiteRegistry(radiusMeters: options.radiusMeters)
        guard registry.radiusMeters == options.radiusMeters else {
            throw HuginError.invalidOption(
                "radius_meters", Fixed.trimmed(options.radiusMeters, 6),
                "the site registry was built with radius \(Fixed.trimmed(registry.radiusMeters, 6)) m; use that "
                + "radius, or a separate registry, so that existing sites keep their meaning")
        }
        let assignment = SiteAssigner.assign(locations, registry: &registry, run: run, now: now)
        // A season reads the registry and never writes it (its runs registered their points already; a rerun must
        // see the same registry).
        if !season && (!locations.isEmpty || loaded == nil) { try registryStore.save(registry, replacing: token) }
        let usedSiteIDs = Array(Set(assignment.siteIDs)).sorted()
        var siteNumber: [String: Int32] = [:]
        for (i, id) in usedSiteIDs.enumerated() { siteNumber[id] = Int32(i) }
        let siteOfLocation = assignment.siteIDs.map { siteNumber[$0]! }
        let sites = usedSiteIDs.map { id in registry.sites.first { $0.id == id }! }

        // 4. Deployments (camera × site × time span), then visits in time order, streamed to the per-visit outputs.
        let plan = DeploymentPlan(ranges: deploymentRange, siteOfLocation: siteOfLocation, sites: sites,
                                  cameras: cameras.names)
        let writer = try Stage3Writer(work: work, options: options, run: run, now: now, sites: sites,
                                      cameras: cameras.names, species: species.names, detectors: detectors.names,
                                      plan: plan, seasonRuns: season ? inputs.map(\.id) : [])
        writer.stage1Folders = inputs.map { $0.prefix + "stage1/" }
        let builder = VisitBuilder(gapSeconds: options.visitGapSeconds, reviewThreshold: options.reviewThreshold) {
            try writer.add($0)
        }
        let sorted = sorter
        try sorted.drain { e in
            let site = e.location >= 0 ? siteOfLocation[Int(e.location)] : -1
            let visit = try builder.add(e, site: site)
            if site >= 0 { try writer.addMediaObservation(e, siteIndex: site, visit: visit) }
        }
        try builder.finish()

        // 5. Media rows and the whole-run documents.
        var report = writer.makeReport(
            chunksRead: chunksRead, problems: problems, recordsRead: recordsRead, mediaFiles: mediaFiles,
            filesWithErrors: filesWithErrors, errorSamples: errorSamples,
            excluded: .init(belowMinConfidence: belowMin, withoutTimestamp: withoutTime, invalidGPSRecords: invalidGPS,
                            malformedLines: malformedLines, mediaWithoutTimestamp: mediaWithoutTime),
            newSites: Set(assignment.newSiteIDs), mergeCandidates: assignment.mergeCandidates,
            camtrapDP: .init(deployments: plan.deployments.filter { $0.site != nil }.count, media: camtrapMedia,
                             eventObservations: writer.visitCount - writer.visitsWithoutPosition,
                             mediaObservations: writer.mediaObservationCount, mediaWithoutPosition: mediaWithoutPosition,
                             visitsWithoutPosition: writer.visitsWithoutPosition),
            timeZones: TimeZoneUse.list(zoneUses))
        report.deployments = plan.spans(runIDs: inputs.map(\.id))
        if season {
            report.season = .init(name: run, runs: seasonRuns,
                                  generatedAtSource: "the newest capture time among the season's media (not the "
                                      + "processing time), so a rerun over the same runs writes the same bytes")
        }
        try writer.finish(report: report, mediaRows: work + "/media.rows", mediaRoot: mediaRoot,
                          siteOfLocation: siteOfLocation,
                          megadetector: megadetector,
                          detectors: detectors.names, thumbnail: { [inputs] in try inputs[$0].store.get($1) })

        let failedOrMissing = problems.map(\.chunk)
        return CondensationSummary(
            runID: run, outputPrefix: "", files: writer.writtenFiles,
            chunksRead: chunksRead.count, failedChunks: Array(Set(failedOrMissing)).sorted(), recordsRead: recordsRead,
            mediaFiles: mediaFiles, detectionsUsed: writer.detectionsUsed, excludedBelowMinConfidence: belowMin,
            excludedWithoutTimestamp: withoutTime, malformedLines: malformedLines, visits: writer.visitCount,
            needsReview: writer.needsReviewCount, sites: sites.count, newSites: assignment.newSiteIDs,
            mergeCandidates: assignment.mergeCandidates, species: writer.speciesSeen, cameras: writer.camerasSeen,
            spilledRuns: sorted.spilledRuns, peakOpenVisits: builder.maxOpen)
    }

    func makeSorter() -> DetectionSorter {
        // Ties on time are broken by content (camera, species, location, path, frame), never by read order.
        let tables = self.tables
        return DetectionSorter(capacity: options.maxBufferedDetections, directory: work) { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.camera != b.camera { return tables.cameras.names[Int(a.camera)] < tables.cameras.names[Int(b.camera)] }
            if a.species != b.species {
                return tables.species.names[Int(a.species)] < tables.species.names[Int(b.species)]
            }
            if a.location != b.location {
                if a.location < 0 || b.location < 0 { return a.location < b.location }
                return SiteClustering.less(tables.locations[Int(a.location)], tables.locations[Int(b.location)])
            }
            if a.path != b.path { return a.path < b.path }
            return a.frameNumber < b.frameNumber
        }
    }

    /// The number of chunks in the run's manifest, when the manifest exists.
    func manifestChunkCount(_ input: SeasonRun) throws -> Int? {
        let key = input.prefix + "manifest.jsonl.gz"
        guard try input.store.head(key) != nil else { return nil }
        let bytes = try Gzip.decompress(try input.store.get(key))
        return bytes.split(separator: 0x0A).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D } }.count
    }

    mutating func ingest(_ record: Stage1Record, into entries: inout [DetectionEntry], megadetector: MegadetectorBatch,
                         media: FileSink) throws {
        recordsRead += 1
        let camera = cameras.id(record.cameraID)
        // Unknown zone: the camera's local time stands in (visits only need one camera's times relative to each
        // other); such times are written as if UTC and flagged (report, Camtrap DP timestampIssues, media comments).
        let floating = record.timestamp == nil && record.timeZoneSource == TimeZoneUse.unknownSource
        let utc = record.timestamp.flatMap(Timestamp.parse)
        let time = utc
            ?? (floating ? record.localTime.flatMap { Timestamp.parse($0 + "Z") } : nil)
        if !record.errors.isEmpty {
            filesWithErrors += 1
            if errorSamples.count < 20 {
                errorSamples.append("\(record.path): " + record.errors.joined(separator: "; "))
            }
        }
        var location: Int32 = -1
        if let lat = record.latitude, let lon = record.longitude {
            let p = GeoPoint(latitude: lat, longitude: lon)
            if lastLocation >= 0 && lat.bitPattern == lastPoint.latitude.bitPattern
                && lon.bitPattern == lastPoint.longitude.bitPattern {
                location = lastLocation
            } else if p.isValid {
                if let i = locationIndex[p] {
                    location = i
                } else {
                    location = Int32(locations.count)
                    locations.append(p)
                    locationIndex[p] = location
                }
                (lastPoint, lastLocation) = (p, location)
            } else {
                invalidGPS += 1
            }
        }
        // Media: one row per file (a video's frame records follow each other in its chunk).
        let isVideo = record.frameNumber != nil || record.frameTime != nil
        let offset = LocalTime.offset(of: record, floating: floating)
        let newMedia = lastMediaPath != record.path
        if newMedia {
            lastMediaPath = record.path
            mediaFiles += 1
            let zoneKey = TimeZoneUse.Key(camera: record.cameraID, zone: record.timeZone,
                                          source: record.timeZoneSource)
            // Consecutive media nearly always share the key: counted apart, added at a change (`flushPending`).
            if pendingZoneUses > 0 && zoneKey == pendingZoneKey {
                pendingZoneUses += 1
            } else {
                if pendingZoneUses > 0 { zoneUses[pendingZoneKey, default: 0] += pendingZoneUses }
                (pendingZoneKey, pendingZoneUses) = (zoneKey, 1)
            }
            if let time {
                let start = time - (record.frameTime ?? 0)
                let key = DeploymentPlan.RangeKey(location: location, camera: camera, run: currentInput)
                extendDeployment(key, start: start, end: time, offset: offset, floating: floating)
                try Stage3Writer.writeMediaRow(location: location, camera: camera, path: record.path,
                                               timestamp: start, isVideo: isVideo,
                                               comment: TimeZoneUse.mediaComment(record, isVideo: isVideo),
                                               to: media)
                if location >= 0 { camtrapMedia += 1 } else { mediaWithoutPosition += 1 }
            } else {
                mediaWithoutTime += 1
            }
        } else if let time {
            let key = DeploymentPlan.RangeKey(location: location, camera: camera, run: currentInput)
            if (pendingRange != nil && key == pendingRangeKey) || deploymentRange[key] != nil {
                extendDeployment(key, start: time, end: time, offset: offset)
            }
        }
        // MegaDetector batch entry: every detection as the detector reported it (Timelapse applies its own threshold).
        try megadetector.add(record, time: .some(utc))

        // Detections: one entry per species per frame (best confidence, box count).
        var perSpecies = perSpeciesScratch
        perSpeciesScratch = []
        defer {
            perSpecies.removeAll(keepingCapacity: true)
            perSpeciesScratch = perSpecies
        }
        for d in record.detections {
            guard d.conf >= options.minConfidence else {
                belowMin += 1
                continue
            }
            let name = d.speciesName
            let s = species.id(name)
            // The worker names the thumbnail of a species' best detection in a frame; only that name is used. The
            // worker wrote it under its store's `runs/<run>/stage1/`; a downloaded run holds it under its own folder
            // (`<run>/stage1/`), so the name is matched from `/stage1/thumbnails/` on and read from this input.
            let thumbnail = d.thumbnail.map { named in
                named.hasSuffix("/" + StoreLayout.thumbnailKey(stage1Prefix: "stage1/", media: record.path,
                                                               frame: record.frameNumber, species: name))
            } ?? false
            // The box around all of the species' boxes (corners), for Camtrap DP's media-level observation.
            let corners = d.bbox.count == 4 && d.bbox.allSatisfy(\.isFinite)
                ? SIMD4<Float>(Float(d.bbox[0]), Float(d.bbox[1]), Float(d.bbox[0] + d.bbox[2]),
                               Float(d.bbox[1] + d.bbox[3]))
                : SIMD4<Float>(repeating: .nan)
            if let k = perSpecies.firstIndex(where: { $0.0 == s }) {
                perSpecies[k].1 = max(perSpecies[k].1, d.conf)
                perSpecies[k].2 += 1
                let u = perSpecies[k].3
                perSpecies[k].3 = u[0].isNaN ? corners : corners[0].isNaN ? u
                    : SIMD4(min(u[0], corners[0]), min(u[1], corners[1]), max(u[2], corners[2]), max(u[3], corners[3]))
                perSpecies[k].4 = perSpecies[k].4 || thumbnail
            } else {
                perSpecies.append((s, d.conf, 1, corners, thumbnail))
            }
        }
        guard !perSpecies.isEmpty else { return }
        guard let time else {
            withoutTime += perSpecies.count
            return
        }
        let detector = detectors.id(record.detector)
        for (s, conf, boxes, c, thumbnail) in perSpecies {
            entries.append(DetectionEntry(
                time: time, confidence: conf, frameTime: record.frameTime ?? .nan, location: location,
                camera: camera, species: s, detector: detector, frameNumber: Int32(clamping: record.frameNumber ?? -1),
                boxes: boxes, path: record.path, bbox: SIMD4(c[0], c[1], c[2] - c[0], c[3] - c[1]),
                thumbnailFolder: thumbnail ? currentInput : -1, utcOffsetMinutes: offset))
        }
    }

    /// Widens a deployment's time span, keeping the local-time offsets at its ends.
    /// The range being widened is kept in `pendingRange` (consecutive media nearly always share it) and stored in
    /// `deploymentRange` when another key comes (`flushPending`).
    mutating func extendDeployment(_ key: DeploymentPlan.RangeKey, start: Double, end: Double, offset: Int32,
                                   floating: Bool = false) {
        if pendingRange == nil || key != pendingRangeKey {
            if let pendingRange { deploymentRange[pendingRangeKey] = pendingRange }
            pendingRangeKey = key
            pendingRange = deploymentRange[key]
        }
        guard var r = pendingRange else {
            pendingRange = .init(start: start, end: end, floating: floating, startOffset: offset, endOffset: offset)
            return
        }
        if start < r.start { (r.start, r.startOffset) = (start, offset) }
        if end > r.end { (r.end, r.endOffset) = (end, offset) }
        r.floating = r.floating || floating
        pendingRange = r
    }

    /// Stores what `ingest` keeps pending (the last deployment range, the last zone count); called after the pass.
    mutating func flushPending() {
        if let pendingRange { deploymentRange[pendingRangeKey] = pendingRange }
        pendingRange = nil
        if pendingZoneUses > 0 { zoneUses[pendingZoneKey, default: 0] += pendingZoneUses }
        pendingZoneUses = 0
    }

    var pendingRangeKey = DeploymentPlan.RangeKey(location: -1, camera: -1, run: -1)
    var pendingRange: DeploymentPlan.Range? = nil
    var pendingZoneKey = TimeZoneUse.Key(camera: "", zone: nil, source: nil)
    var pendingZoneUses = 0
    /// `ingest`'s per-species scratch list, kept between records (no allocation per record).
    var perSpeciesScratch: [(Int32, Double, Int32, SIMD4<Float>, Bool)] = []

    var lastMediaPath: String? = nil
    /// The last valid GPS position and its location index (-1: none yet).
    var lastPoint = GeoPoint(latitude: 0, longitude: 0)
    var lastLocation: Int32 = -1
    /// Media files per (camera, zone, how the zone was found).
    var zoneUses: [TimeZoneUse.Key: Int] = [:]
}
