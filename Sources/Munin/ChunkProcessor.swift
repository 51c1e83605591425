import FoundationEssentials
import Media
import OdinKit
import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// Counts for one processed chunk (logged by the worker; nothing is dropped without being counted).
public struct ChunkSummary: Sendable, Equatable, Codable {
    public var files = 0
    public var stills = 0
    public var videos = 0
    public var framesSampled = 0
    public var detectionsKept = 0
    /// Detections removed by the Stage 1 filter, by reason (`confidence`, `area`, `aspect`, `bbox`).
    public var detectionsDropped: [String: Int] = [:]
    public var filesWithErrors = 0
    /// Stills by how their time zone was found (`time_zone_source`: `gps_lookup`, `unknown`, …).
    public var stillZones: [String: Int] = [:]
    public var cropsWritten = 0
    public var thumbnailsWritten = 0
    public var records = 0

    mutating func merge(_ other: ChunkSummary) {
        framesSampled += other.framesSampled
        detectionsKept += other.detectionsKept
        for (k, v) in other.detectionsDropped { detectionsDropped[k, default: 0] += v }
        cropsWritten += other.cropsWritten
        thumbnailsWritten += other.thumbnailsWritten
    }
}

/// Turns one chunk of media into Stage 1 records: probe/decode, EXIF time and GPS, time corrections, detection,
/// Stage 1 filter, optional crops.
///
/// Records: a still gives one record. A video gives one record per sampled frame with detections (or a detector
/// error), plus one file-level record (no `frame_time`) when the file had problems or no frame had detections, so
/// every file appears at least once. Per-file problems go into `errors`; the chunk carries on.
///
/// Blocking: runs on `options.concurrency` dedicated threads and returns when the chunk is done.
public struct ChunkProcessor: Sendable {
    public let options: MuninOptions
    public let detector: any Detector
    public let corrections: TimeCorrections
    public let defaultZone: ZoneRules?
    /// GPS position → zone, for files with neither a time-corrections row nor an EXIF offset.
    public let zones: GPSZones
    public let locator: MediaLocator
    /// Where crops are written (the run's store).
    public let store: any ObjectStore
    let log: @Sendable (String) -> Void

    /// Builds the detector, loads the time corrections CSV and the default zone from `options` (validated first).
    public init(options: MuninOptions, store: any ObjectStore, locator: MediaLocator? = nil,
                detector: (any Detector)? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        try options.validate()
        self.options = options
        self.store = store
        self.locator = locator ?? .objectStore(store)
        self.log = log
        switch (detector, options.detector) {
        case (let given?, _): self.detector = given
        case (nil, .motion): self.detector = MotionDetector()
        case (nil, .external(let command, let name)):
            self.detector = ExternalDetector(command: command, name: name, scratchDirectory: options.scratchDirectory)
        }
        if let path = options.timeCorrectionsPath {
            do { corrections = try TimeCorrections.load(path: path, zoneDirectory: options.zoneDirectory) } catch {
                throw OptionError(option: "--time-corrections", error.description)
            }
        } else {
            corrections = TimeCorrections()
        }
        if let zone = options.defaultTimezone {
            do { defaultZone = try ZoneRules.load(identifier: zone, directory: options.zoneDirectory) } catch {
                throw OptionError(option: "--default-timezone", error.message)
            }
        } else {
            defaultZone = nil
        }
        zones = GPSZones(zoneDirectory: options.zoneDirectory)
    }

    static let stillExtensions: Set<String> = ["jpg", "jpeg", "png"]

    static func isStill(_ key: String) -> Bool {
        guard let dot = key.lastIndex(of: "."), !key[dot...].contains("/") else { return false }
        return stillExtensions.contains(key[key.index(after: dot)...].lowercased())
    }

    /// Processes `chunk` of run `run`; records come back in manifest order (frames in time order).
    public func process(_ chunk: Chunk, run: String) -> (records: [Stage1Record], summary: ChunkSummary) {
        var summary = ChunkSummary()
        summary.files = chunk.items.count
        let items = chunk.items
        let stillIndices = items.indices.filter { Self.isStill(items[$0].key) }
        let videoIndices = items.indices.filter { !Self.isStill(items[$0].key) }
        summary.stills = stillIndices.count
        summary.videos = videoIndices.count

        // Stills, phase 1 (parallel): locate, EXIF, time, decode the analysis picture.
        let prepared = BlockingThreads.map(stillIndices.count, concurrency: options.concurrency) { n in
            self.prepareStill(items[stillIndices[n]])
        }
        defer { for still in prepared { still.located?.cleanup() } }
        let cameraZones = Self.cameraGPSZones(prepared)
        shareCameraZones(prepared, cameraZones)
        // Phase 2 (parallel per burst): detection in time order within each camera's bursts.
        let bursts = Self.bursts(prepared, gap: options.burstGapSeconds)
        let burstResults = BlockingThreads.map(bursts.count, concurrency: options.concurrency) { b in
            self.detectBurst(bursts[b].map { prepared[$0] }, run: run)
        }
        var recordsByItem: [Int: [Stage1Record]] = [:]
        for (b, burst) in bursts.enumerated() {
            let (records, partial) = burstResults[b]
            summary.merge(partial)
            for (k, p) in burst.enumerated() { recordsByItem[stillIndices[p]] = [records[k]] }
        }
        // Videos (parallel per file).
        let videoResults = BlockingThreads.map(videoIndices.count, concurrency: options.concurrency) { n in
            let item = items[videoIndices[n]]
            return self.processVideo(item, run: run, cameraZone: cameraZones[item.cameraID])
        }
        for (n, result) in videoResults.enumerated() {
            summary.merge(result.1)
            recordsByItem[videoIndices[n]] = result.0
        }
        var records: [Stage1Record] = []
        for still in prepared {
            if let source = still.record.timeZoneSource { summary.stillZones[source, default: 0] += 1 }
        }
        for i in items.indices {
            let itemRecords = recordsByItem[i] ?? []
            if itemRecords.contains(where: { !$0.errors.isEmpty }) { summary.filesWithErrors += 1 }
            records += itemRecords
        }
        summary.records = records.count
        return (records, summary)
    }

    // MARK: - Stills

    final class PreparedStill: @unchecked Sendable {
        // Written once in prepareStill, read afterwards by one burst thread: no concurrent mutation.
        var record: Stage1Record
        var located: LocatedMedia?
        var analysis: Picture?
        var imagePath: String?
        var utc: Double?
        /// The `errors` entries the time rule added (DST notes), replaced if the zone is.
        var timeNotes: [String] = []
        /// Clockwise degrees that make the still upright (EXIF orientation).
        var rotation = 0
        init(record: Stage1Record) { self.record = record }
    }

    func prepareStill(_ item: Chunk.Item) -> PreparedStill {
        let still = PreparedStill(record: Stage1Record(path: item.key, cameraID: item.cameraID, detector: detector.id))
        do {
            let located = try locator.locate(item.key, item.size, options.scratchDirectory)
            still.located = located
            readExif(located, into: still)
            let needsRGB = detector.needsImageFiles && located.localPath == nil
            var outputs = [PictureSpec(format: .gray8, maxDimension: options.analysisSize)]
            if needsRGB { outputs.append(PictureSpec(format: .rgb24)) }
            // No stream-info pass: the still is decoded right away, at reduced size when only analysis is needed.
            let first = try MediaFile(source: located.source, readsStreamInfo: false).decodeFirstFrame(outputs: outputs)
            let pictures = first.pictures.map { $0.rotated(clockwiseDegrees: still.rotation) }
            still.analysis = pictures[0]
            let quarter = still.rotation % 180 == 90
            still.record.width = quarter ? first.sourceHeight : first.sourceWidth
            still.record.height = quarter ? first.sourceWidth : first.sourceHeight
            if detector.needsImageFiles {
                if let path = located.localPath {
                    still.imagePath = path
                } else {
                    let path = options.scratchDirectory + "/still-\(UInt64.random(in: 0...UInt64.max)).jpg"
                    try writeFile(path, try JPEG.encode(pictures[1]))
                    let previous = located.cleanup
                    still.located?.cleanup = { previous(); unlink(path) }
                    still.imagePath = path
                }
            }
        } catch {
            still.record.errors.append(Self.describe(error))
        }
        return still
    }

    private func readExif(_ located: LocatedMedia, into still: PreparedStill) {
        let exif: ExifData?
        var tail: [UInt8]? = nil
        do {
            if let path = located.localPath {
                exif = try ExifReader.read(path: path)
                tail = Self.lastBytes(path: path, count: 512)
            } else if case .reader(let reader) = located.source {
                let head = try reader.read(0, Int(min(reader.size, 256 * 1024)))
                exif = try ExifReader.parse(fileHead: head[...])
                if Int64(head.count) == reader.size { tail = Array(head.suffix(512)) }
            } else {
                still.record.errors.append("EXIF not read: the source is a URL without a local copy")
                return
            }
        } catch {
            still.record.errors.append(Self.describe(error))
            return
        }
        // A JPEG ends with the EOI marker (some cameras pad after it with zero bytes); a card pulled mid-write
        // leaves the file cut short, and FFmpeg still decodes the part that is there, so say so.
        if let tail, !Self.isPNG(still.record.path), !Self.endsWithEOI(tail) {
            still.record.errors.append("JPEG has no end-of-image marker: the file is truncated (the part that is "
                + "there is used)")
        }
        guard let exif else {
            still.record.errors.append("no EXIF block: capture time and GPS unknown")
            return
        }
        still.record.errors += exif.warnings.map { "EXIF: " + $0 }
        switch exif.orientation {
        case nil, 1: break
        case 3: still.rotation = 180
        case 6: still.rotation = 90
        case 8: still.rotation = 270
        case let other?: still.record.errors.append("EXIF orientation \(other) (mirrored) not applied; picture used as stored")
        }
        still.record.latitude = exif.latitude
        still.record.longitude = exif.longitude
        guard let capture = exif.captureTime else {
            still.record.errors.append("EXIF has no DateTimeOriginal, DateTimeDigitized or DateTime: capture time unknown")
            return
        }
        guard let local = LocalDateTime(parsing: capture.value) else {
            still.record.errors.append("EXIF \(capture.tag) '\(capture.value)' is not a date-time")
            return
        }
        still.record.localTime = local.description
        let position = exif.latitude.flatMap { lat in exif.longitude.map { (latitude: lat, longitude: $0) } }
        do {
            let time = try corrections.resolve(local: local, cameraID: still.record.cameraID,
                                               exifOffset: capture.offset, position: position, zones: zones,
                                               defaultZone: defaultZone)
            still.record.timeZoneSource = time.source.rawValue
            still.record.timeZone = time.zone
            still.record.utcOffset = time.offset.map(formatUTCOffset)
            // Unknown zone: no UTC instant; bursts and Hugin's visits use the local time (one camera's clock).
            still.utc = time.utc ?? Double(local.naiveSeconds)
            still.record.timestamp = time.utc.map(iso8601UTC)
            still.timeNotes = time.notes.map { "time: " + $0 }
            still.record.errors += still.timeNotes
        } catch {
            still.record.errors.append(error.description)
        }
    }

    static func isPNG(_ key: String) -> Bool { key.lowercased().hasSuffix(".png") }

    /// True when `tail` (a JPEG's last bytes) ends with FF D9, ignoring zero padding after it.
    static func endsWithEOI(_ tail: [UInt8]) -> Bool {
        var end = tail.count
        while end > 0 && tail[end - 1] == 0 { end -= 1 }
        return end >= 2 && tail[end - 2] == 0xFF && tail[end - 1] == 0xD9
    }

    /// The last (up to) `count` bytes of a file; nil when it cannot be read.
    static func lastBytes(path: String, count: Int) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        guard fseek(file, 0, SEEK_END) == 0 else { return nil }
        let size = ftell(file)
        guard size >= 0, fseek(file, -min(count, size), SEEK_END) == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: min(count, size))
        let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return n == bytes.count ? bytes : nil
    }

    /// The zone each camera's stills in this chunk got from their GPS positions, for cameras whose positions all
    /// give one zone.
    static func cameraGPSZones(_ prepared: [PreparedStill]) -> [String: String] {
        var zoneOfCamera: [String: String?] = [:]  // .some(nil): the camera's positions give several zones
        for still in prepared where still.record.timeZoneSource == ZoneSource.gpsLookup.rawValue {
            guard let name = still.record.timeZone else { continue }
            let camera = still.record.cameraID
            if let seen = zoneOfCamera[camera] {
                if seen != name { zoneOfCamera[camera] = .some(nil) }
            } else {
                zoneOfCamera[camera] = name
            }
        }
        return zoneOfCamera.compactMapValues { $0 }
    }

    /// A still without a GPS position (a fix lost at night or under canopy) whose zone would otherwise be the
    /// default or unknown takes the zone of its camera's other stills in this chunk (`cameraZones`, from
    /// `cameraGPSZones`), when their positions all give one zone (`camera_gps`).
    func shareCameraZones(_ prepared: [PreparedStill], _ cameraZones: [String: String]) {
        let replaceable: Set<String?> = [ZoneSource.unknown.rawValue, ZoneSource.defaultZone.rawValue]
        for still in prepared where replaceable.contains(still.record.timeZoneSource) {
            guard let name = cameraZones[still.record.cameraID],
                  let local = still.record.localTime.flatMap(LocalDateTime.init(parsing:)) else { continue }
            do {
                let resolution = try zones.rules(named: name).resolve(local: local.naiveSeconds)
                still.utc = Double(resolution.utc)
                still.record.timestamp = iso8601UTC(Double(resolution.utc))
                still.record.timeZone = name
                still.record.utcOffset = formatUTCOffset(resolution.offset)
                still.record.timeZoneSource = ZoneSource.cameraGPS.rawValue
                let replaced = still.timeNotes
                still.record.errors.removeAll { replaced.contains($0) }
                still.timeNotes = resolution.note.map { ["time: " + $0] } ?? []
                still.record.errors += still.timeNotes
            } catch {
                still.record.errors.append("time: the camera's GPS zone \(name) not used: \(error.message)")
            }
        }
    }

    /// Groups prepared stills (indices into `prepared`) into bursts: same camera, sorted by time, split where the gap
    /// exceeds `gap` seconds. Stills without a time or without a picture are bursts of their own.
    static func bursts(_ prepared: [PreparedStill], gap: Double) -> [[Int]] {
        var byCamera: [String: [Int]] = [:]
        var result: [[Int]] = []
        for (i, still) in prepared.enumerated() {
            if still.utc == nil || still.analysis == nil { result.append([i]) } else {
                byCamera[still.record.cameraID, default: []].append(i)
            }
        }
        for camera in byCamera.keys.sorted() {
            let sorted = byCamera[camera]!.sorted { (prepared[$0].utc!, $0) < (prepared[$1].utc!, $1) }
            var current: [Int] = []
            for i in sorted {
                if let last = current.last, prepared[i].utc! - prepared[last].utc! > gap {
                    result.append(current)
                    current = []
                }
                current.append(i)
            }
            if !current.isEmpty { result.append(current) }
        }
        return result
    }

    func detectBurst(_ stills: [PreparedStill], run: String) -> ([Stage1Record], ChunkSummary) {
        var summary = ChunkSummary()
        let sequence = detector.makeSequence()
        var start = 0
        while start < stills.count {
            let batch = Array(stills[start..<min(stills.count, start + options.batchSize)])
            start += batch.count
            let ready = batch.filter { $0.analysis != nil && (!detector.needsImageFiles || $0.imagePath != nil) }
            guard !ready.isEmpty else { continue }
            let frames = ready.map {
                DetectorFrame(name: $0.record.path, analysis: $0.analysis!, imagePath: $0.imagePath,
                              width: $0.record.width ?? $0.analysis!.width,
                              height: $0.record.height ?? $0.analysis!.height)
            }
            do {
                let results = try sequence.detect(frames)
                for (still, result) in zip(ready, results) {
                    if let error = result.error { still.record.errors.append(error) }
                    let frame = frames[ready.firstIndex { $0 === still }!]
                    let (kept, dropped) = options.filter.apply(result.detections, width: frame.width,
                                                               height: frame.height)
                    for (_, reason) in dropped { summary.detectionsDropped[reason.rawValue, default: 0] += 1 }
                    summary.detectionsKept += kept.count
                    still.record.detections = kept
                    if (options.cropsEnabled || options.thumbnailsEnabled) && !kept.isEmpty,
                       let located = still.located
                    {
                        do {
                            // Crops need the full picture; thumbnails only enough pixels for their boxes.
                            let limit = options.cropsEnabled ? nil : thumbnailDecodeSize(
                                kept, width: frame.width, height: frame.height)
                            let picture = try MediaFile(source: located.source).decodePicture(
                                outputs: [PictureSpec(format: .rgb24, maxDimension: limit)])[0]
                                .rotated(clockwiseDegrees: still.rotation)
                            if options.cropsEnabled {
                                still.record.detections = try writeCrops(
                                    still.record.detections, of: picture, run: run, key: still.record.path,
                                    frame: nil, summary: &summary)
                            }
                            if options.thumbnailsEnabled {
                                still.record.detections = try writeThumbnails(
                                    still.record.detections, of: picture, run: run, key: still.record.path,
                                    frame: nil, summary: &summary)
                            }
                        } catch {
                            still.record.errors.append((options.cropsEnabled ? "crops: " : "thumbnails: ")
                                                       + Self.describe(error))
                        }
                    }
                }
            } catch {
                for still in ready { still.record.errors.append(Self.describe(error)) }
            }
        }
        return (stills.map(\.record), summary)
    }

    // MARK: - Videos

    /// A video's records. Times are the container's `creation_time` (UTC) plus the frame's position; the camera's
    /// zone (`TimeCorrections.videoZone`; `cameraZone`: the zone of the camera's stills in the chunk, see
    /// `cameraGPSZones`) only adds the local time, offset and zone of each record.
    func processVideo(_ item: Chunk.Item, run: String, cameraZone: String? = nil) -> ([Stage1Record], ChunkSummary) {
        var summary = ChunkSummary()
        var base = Stage1Record(path: item.key, cameraID: item.cameraID, detector: detector.id)
        var records: [Stage1Record] = []
        do {
            let located = try locator.locate(item.key, item.size, options.scratchDirectory)
            defer { located.cleanup() }
            let file = try MediaFile(source: located.source)
            let info = file.info
            var range: Range<Double>? = nil
            if let segment = item.segment {
                range = try info.timeRange(segment: segment.index, of: segment.count)
            }
            var start: Double? = nil
            if let text = info.creationTime {
                if let parsed = parseISO8601(text) {
                    start = corrections.correctUTC(parsed, cameraID: item.cameraID)
                } else {
                    base.errors.append("container creation_time '\(text)' is not ISO 8601: frame times unknown")
                }
            } else {
                base.errors.append("no creation_time in the container metadata: frame times unknown")
            }
            if let text = info.location {
                if let (lat, lon) = parseISO6709(text) {
                    base.latitude = lat
                    base.longitude = lon
                } else {
                    base.errors.append("container location '\(text)' is not ISO 6709")
                }
            }
            let position = base.latitude.flatMap { lat in base.longitude.map { (latitude: lat, longitude: $0) } }
            let found = start == nil ? nil
                : corrections.videoZone(cameraID: item.cameraID, position: position, zones: zones,
                                        cameraZone: cameraZone, defaultZone: defaultZone)
            let zone = found?.rules
            if let found {
                base.timeZoneSource = found.source.rawValue
                base.timeZone = found.rules?.identifier
                base.errors += found.notes.map { "time: " + $0 }
            }
            /// The record's local time and offset at its UTC instant (`timestamp`), in the camera's zone.
            func localize(_ record: inout Stage1Record, utc: Double) {
                guard let zone else { return }
                let whole = Int64(utc.rounded(.down))
                do {
                    let offset = try zone.offset(atUTC: whole)
                    record.utcOffset = formatUTCOffset(offset)
                    record.localTime = LocalDateTime(naiveSeconds: whole + Int64(offset)).description
                } catch {
                    record.errors.append("time: zone \(zone.identifier) not applied: \(error.message)")
                }
            }
            base.frameRate = info.videoStream?.frameRate.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
            if let size = info.videoStream?.displaySize {
                base.width = size.width
                base.height = size.height
            }
            if let start {
                base.timestamp = iso8601UTC(start + (range?.lowerBound ?? 0))
                localize(&base, utc: start + (range?.lowerBound ?? 0))
            }
            // Full-size RGB for external detectors and crops; thumbnails alone make do with a bounded picture.
            let fullRGB = detector.needsImageFiles || options.cropsEnabled
            let needsRGB = fullRGB || options.thumbnailsEnabled
            var outputs = [PictureSpec(format: .gray8, maxDimension: options.analysisSize)]
            if needsRGB {
                outputs.append(PictureSpec(format: .rgb24, maxDimension: fullRGB ? nil : Self.thumbnailSourceSize))
            }
            let sequence = detector.makeSequence()
            var batch: [SampledFrame] = []
            let template = base

            func flush() throws {
                guard !batch.isEmpty else { return }
                defer { batch.removeAll(keepingCapacity: true) }
                var paths: [String?] = Array(repeating: nil, count: batch.count)
                defer { for path in paths { if let path { unlink(path) } } }
                var frames: [DetectorFrame] = []
                for (k, frame) in batch.enumerated() {
                    let w = fullRGB ? frame.pictures[1].width : (template.width ?? frame.pictures[0].width)
                    let h = fullRGB ? frame.pictures[1].height : (template.height ?? frame.pictures[0].height)
                    if detector.needsImageFiles {
                        let path = options.scratchDirectory + "/frame-\(UInt64.random(in: 0...UInt64.max)).jpg"
                        try writeFile(path, try JPEG.encode(frame.pictures[1]))
                        paths[k] = path
                    }
                    frames.append(DetectorFrame(name: "\(item.key)#\(frame.index)", analysis: frame.pictures[0],
                                                imagePath: paths[k], width: w, height: h))
                }
                let results: [FrameDetections]
                do { results = try sequence.detect(frames) } catch {
                    base.errors.append("frames \(batch.first!.index)…\(batch.last!.index): \(Self.describe(error))")
                    return
                }
                for (k, result) in results.enumerated() {
                    let frame = batch[k]
                    let (kept, dropped) = options.filter.apply(result.detections, width: frames[k].width,
                                                               height: frames[k].height)
                    for (_, reason) in dropped { summary.detectionsDropped[reason.rawValue, default: 0] += 1 }
                    summary.detectionsKept += kept.count
                    guard !kept.isEmpty || result.error != nil else { continue }
                    var record = template
                    record.errors = result.error.map { [$0] } ?? []
                    record.frameTime = (frame.time * 1000).rounded() / 1000
                    record.frameNumber = frame.index
                    record.width = frames[k].width
                    record.height = frames[k].height
                    record.timestamp = start.map { iso8601UTC($0 + frame.time) }
                    if let start { localize(&record, utc: start + frame.time) }
                    record.detections = kept
                    if options.cropsEnabled && !kept.isEmpty {
                        do {
                            record.detections = try writeCrops(kept, of: frame.pictures[1], run: run, key: item.key,
                                                               frame: frame.index, summary: &summary)
                        } catch { record.errors.append("crops: " + Self.describe(error)) }
                    }
                    if options.thumbnailsEnabled && !kept.isEmpty {
                        do {
                            record.detections = try writeThumbnails(record.detections, of: frame.pictures[1],
                                                                    run: run, key: item.key, frame: frame.index,
                                                                    summary: &summary)
                        } catch { record.errors.append("thumbnails: " + Self.describe(error)) }
                    }
                    records.append(record)
                }
            }

            let sampling = FrameSampling(interval: options.samplingInterval, keyframesOnly: options.keyframesOnly,
                                         maxFrames: options.maxFramesPerVideo, timeRange: range,
                                         threads: Self.decoderThreads(concurrency: options.concurrency))
            let report = try file.sampleFrames(sampling, outputs: outputs) { frame in
                summary.framesSampled += 1
                batch.append(frame)
                if batch.count >= options.batchSize { try flush() }
                return true
            }
            try flush()
            base.errors += report.warnings
            if report.framesDelivered == 0 {
                base.errors.append("no frame sampled" + (range.map { " in \($0.lowerBound)…\($0.upperBound) s" } ?? ""))
            }
        } catch {
            base.errors.append(Self.describe(error))
        }
        if !base.errors.isEmpty || records.isEmpty { records.insert(base, at: 0) }
        return (records, summary)
    }

    static func decoderThreads(concurrency: Int) -> Int {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, cores / max(1, concurrency))
    }

    // MARK: - Crops

    /// Writes one JPEG per detection (box padded by `cropPadding` per side) and returns the detections with their
    /// crop keys: `runs/<run>/stage1/crops/<media key>/<still|f<frame>>-<i>.jpg` (a rerun overwrites the same keys).
    func writeCrops(_ detections: [Detection], of picture: Picture, run: String, key: String, frame: Int?,
                    summary: inout ChunkSummary) throws -> [Detection]
    {
        var result = detections
        for (i, detection) in detections.enumerated() {
            guard let crop = paddedBox(detection, of: picture) else { continue }
            let cropKey = StoreLayout.stage1Prefix(run: run) + "crops/" + key + "/"
                + (frame.map { "f\($0)" } ?? "still") + "-\(i).jpg"
            try store.put(cropKey, bytes: try JPEG.encode(crop))
            result[i].crop = cropKey
            summary.cropsWritten += 1
        }
        return result
    }

    /// The detection's box padded by `cropPadding` per side, clamped to the picture; nil when it is under 2 pixels.
    func paddedBox(_ detection: Detection, of picture: Picture) -> Picture? {
        guard detection.bbox.count == 4, detection.bbox.allSatisfy(\.isFinite) else { return nil }
        let (x, y, w, h) = (detection.bbox[0], detection.bbox[1], detection.bbox[2], detection.bbox[3])
        let pad = options.cropPadding
        let px = Int(((x - w * pad) * Double(picture.width)).rounded(.down))
        let py = Int(((y - h * pad) * Double(picture.height)).rounded(.down))
        let pw = Int((w * (1 + 2 * pad) * Double(picture.width)).rounded(.up))
        let ph = Int((h * (1 + 2 * pad) * Double(picture.height)).rounded(.up))
        let crop = picture.cropped(x: px, y: py, width: pw, height: ph)
        return crop.width >= 2 && crop.height >= 2 ? crop : nil
    }

    /// Longer side of the RGB picture sampled from videos when only thumbnails need it: a box a sixth of the frame
    /// wide still gives a full-size thumbnail.
    static let thumbnailSourceSize = 960

    /// The longer side to decode a `width × height` still at so that the smallest padded box of `detections` is still
    /// about `thumbnailSize` pixels long (nil: full size). JPEG decoders scale by 1/2, 1/4, 1/8 almost for free.
    func thumbnailDecodeSize(_ detections: [Detection], width: Int, height: Int) -> Int? {
        let longer = Double(max(width, height))
        guard longer > 0 else { return nil }
        var needed = Double(options.thumbnailSize)
        for d in detections where d.bbox.count == 4 && d.bbox.allSatisfy(\.isFinite) {
            let pad = 1 + 2 * options.cropPadding
            let box = max(d.bbox[2] * pad * Double(width), d.bbox[3] * pad * Double(height))
            if box > 0 { needed = max(needed, Double(options.thumbnailSize) * longer / box) }
        }
        return needed >= longer ? nil : Int(needed.rounded(.up))
    }

    /// Writes one thumbnail per species label (its best-confidence detection's padded box, scaled so the longer side
    /// is at most `thumbnailSize`) to `StoreLayout.thumbnailKey`, and returns the detections with that detection's
    /// `thumbnail` set. A rerun writes the same keys and bytes.
    func writeThumbnails(_ detections: [Detection], of picture: Picture, run: String, key: String, frame: Int?,
                         summary: inout ChunkSummary) throws -> [Detection]
    {
        var best: [String: Int] = [:]
        for (i, d) in detections.enumerated() where best[d.speciesName].map({ d.conf > detections[$0].conf }) ?? true {
            best[d.speciesName] = i
        }
        var result = detections
        for (species, i) in best.sorted(by: { $0.value < $1.value }) {
            guard let box = paddedBox(detections[i], of: picture) else { continue }
            let thumbnailKey = StoreLayout.thumbnailKey(stage1Prefix: StoreLayout.stage1Prefix(run: run), media: key,
                                                        frame: frame, species: species)
            try store.put(thumbnailKey, bytes: try JPEG.encode(box, quality: options.thumbnailQuality,
                                                                maxDimension: options.thumbnailSize))
            result[i].thumbnail = thumbnailKey
            summary.thumbnailsWritten += 1
        }
        return result
    }

    /// Error text for a record. Media errors drop their input name: the record's `path` already names the object,
    /// and a local or scratch path would differ between bindings.
    static func describe(_ error: any Error) -> String {
        if let media = error as? MediaError {
            return MediaError(media.kind, operation: media.operation, code: media.code, message: media.message)
                .description
        }
        if let error = error as? CustomStringConvertible { return error.description }
        return "\(error)"
    }
}

/// Parses ISO 6709 `±DD.DDDD±DDD.DDDD[±AAA.A]/` (MP4/MOV location) into latitude and longitude.
public func parseISO6709(_ text: String) -> (Double, Double)? {
    var numbers: [Double] = []
    var current = ""
    for ch in text {
        if ch == "+" || ch == "-" {
            if !current.isEmpty { numbers.append(Double(current) ?? .nan) }
            current = String(ch)
        } else if ch.isNumber || ch == "." {
            current.append(ch)
        } else if ch == "/" {
            break
        } else {
            return nil
        }
    }
    if !current.isEmpty { numbers.append(Double(current) ?? .nan) }
    guard numbers.count >= 2, abs(numbers[0]) <= 90, abs(numbers[1]) <= 180 else { return nil }
    return (numbers[0], numbers[1])
}
