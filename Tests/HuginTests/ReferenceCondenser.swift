import Compression
import FoundationEssentials
import OdinBasics
import OdinKit

@testable import Hugin

/// A straightforward condenser kept only as the yardstick for the optimised one (`ReferenceCondenserTests`): every
/// Stage 1 line is decoded by `JSONDecoder` (`Stage1Record`'s Codable conformance), all detections are held in one
/// array and sorted with one comparator, visits are grouped by a dictionary walk, and every per-detection,
/// per-media and per-visit output is built from `String`s (`CSV.row`, `Timestamp.format`, `Fixed.trimmed`) or as a
/// JSON value tree. No byte parser, no external sort, no streaming writer.
///
/// It reuses what is not on the optimised hot path: site assignment (`SiteAssigner`), deployment numbering
/// (`DeploymentPlan`), Camtrap DP's event-level row (`CamtrapDP.observationRow`) and the zone comments.
struct ReferenceCondenser {
    struct Input {
        var id: String
        /// Gzip-compressed chunk files, in chunk order.
        var chunks: [[UInt8]]
    }

    /// The outputs compared with the optimised condenser's.
    struct Output {
        var files: [String: [UInt8]] = [:]
        var compressedObservations: JSONValue = .array([])
        var megadetectorImages: JSONValue = .array([])
        var detectionCategories: JSONValue = .object([:])
        var classificationCategories: JSONValue? = nil
        var recordsRead = 0
        var mediaFiles = 0
        var malformedLines = 0
        var belowMin = 0
        var withoutTime = 0
        var invalidGPS = 0
        var mediaWithoutTime = 0
        var filesWithErrors = 0
        var visits = 0
        var needsReview = 0
        var detectionsUsed = 0
    }

    struct Kept {
        var time: Double
        var confidence: Double
        var frameTime: Double?
        var frameNumber: Int?
        var location: Int
        var camera: String
        var cameraIndex: Int32
        var species: String
        var detector: String
        var boxes: Int
        var path: String
        /// Corners (x0, y0, x1, y1) as Float, as the Stage 3 box is stored.
        var corners: [Float]?
    }

    let options = CondensationOptions()
    let mediaRoot: String
    let season: Bool
    let name: String
    /// report.json's generated_at for one run (a season derives its own).
    let now: String

    // swiftlint:disable:next function_body_length
    func condense(_ inputs: [Input]) throws -> Output {
        var out = Output()
        var cameras: [String] = []
        func cameraIndex(_ name: String) -> Int32 {
            // Told apart by bytes (NFC and NFD spellings are two cameras).
            if let i = cameras.firstIndex(where: { Array($0.utf8) == Array(name.utf8) }) { return Int32(i) }
            cameras.append(name)
            return Int32(cameras.count - 1)
        }
        var locations: [GeoPoint] = []
        var ranges: [DeploymentPlan.RangeKey: DeploymentPlan.Range] = [:]
        var mediaRows: [(location: Int, camera: Int32, path: String, start: Double, isVideo: Bool, comment: String?)] = []
        var kept: [Kept] = []
        var mediaInput: [String: Int] = [:]
        var md = MegadetectorReference()

        for (inputIndex, input) in inputs.enumerated() {
            var lastPath: String? = nil
            for chunk in input.chunks {
                let text = try Gzip.decompress(chunk)
                for line in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                    guard let r = try? JSONDecoder().decode(Stage1Record.self, from: Data(line)) else {
                        out.malformedLines += 1
                        continue
                    }
                    if season {
                        if let first = mediaInput[r.path] { if first != inputIndex { continue } }
                        else { mediaInput[r.path] = inputIndex }
                    }
                    out.recordsRead += 1
                    let camera = cameraIndex(r.cameraID)
                    let floating = r.timestamp == nil && r.timeZoneSource == "unknown"
                    let time = r.timestamp.flatMap(Timestamp.parse)
                        ?? (floating ? r.localTime.flatMap { Timestamp.parse($0 + "Z") } : nil)
                    if !r.errors.isEmpty { out.filesWithErrors += 1 }
                    var location = -1
                    if let lat = r.latitude, let lon = r.longitude {
                        let p = GeoPoint(latitude: lat, longitude: lon)
                        if p.isValid {
                            if let i = locations.firstIndex(of: p) { location = i }
                            else { locations.append(p); location = locations.count - 1 }
                        } else {
                            out.invalidGPS += 1
                        }
                    }
                    let isVideo = r.frameNumber != nil || r.frameTime != nil
                    let offset = LocalTime.offset(of: r, floating: floating)
                    let key = DeploymentPlan.RangeKey(location: Int32(location), camera: camera, run: Int32(inputIndex))
                    func extend(_ start: Double, _ end: Double, _ floating: Bool) {
                        var range = ranges[key] ?? .init(start: start, end: end, floating: floating,
                                                          startOffset: offset, endOffset: offset)
                        if start < range.start { (range.start, range.startOffset) = (start, offset) }
                        if end > range.end { (range.end, range.endOffset) = (end, offset) }
                        range.floating = range.floating || floating
                        ranges[key] = range
                    }
                    if lastPath != r.path {
                        lastPath = r.path
                        out.mediaFiles += 1
                        if let time {
                            let start = time - (r.frameTime ?? 0)
                            extend(start, time, floating)
                            mediaRows.append((location, camera, r.path, start, isVideo,
                                              TimeZoneUse.mediaComment(r, isVideo: isVideo)))
                        } else {
                            out.mediaWithoutTime += 1
                        }
                    } else if let time, ranges[key] != nil {
                        extend(time, time, false)
                    }
                    md.add(r)

                    // One kept detection per species per frame: best confidence, box count, box around the boxes.
                    var perSpecies: [Kept] = []
                    for d in r.detections {
                        if d.conf < options.minConfidence { out.belowMin += 1; continue }
                        let corners: [Float]? = d.bbox.count == 4 && d.bbox.allSatisfy(\.isFinite)
                            ? [Float(d.bbox[0]), Float(d.bbox[1]), Float(d.bbox[0] + d.bbox[2]),
                               Float(d.bbox[1] + d.bbox[3])] : nil
                        if let k = perSpecies.firstIndex(where: { $0.species == d.speciesName }) {
                            perSpecies[k].confidence = max(perSpecies[k].confidence, d.conf)
                            perSpecies[k].boxes += 1
                            if let c = corners {
                                if let u = perSpecies[k].corners {
                                    perSpecies[k].corners = [min(u[0], c[0]), min(u[1], c[1]), max(u[2], c[2]),
                                                             max(u[3], c[3])]
                                } else {
                                    perSpecies[k].corners = c
                                }
                            }
                        } else {
                            perSpecies.append(Kept(time: time ?? 0, confidence: d.conf, frameTime: r.frameTime,
                                                   frameNumber: r.frameNumber, location: location,
                                                   camera: r.cameraID, cameraIndex: camera, species: d.speciesName,
                                                   detector: r.detector, boxes: 1, path: r.path, corners: corners))
                        }
                    }
                    if time == nil { out.withoutTime += perSpecies.count; continue }
                    kept += perSpecies
                }
            }
        }
        md.finish()

        // Sites and deployments.
        var registry = SiteRegistry(radiusMeters: options.radiusMeters)
        let assignment = SiteAssigner.assign(locations, registry: &registry, run: name, now: now)
        let usedIDs = Array(Set(assignment.siteIDs)).sorted()
        let sites = usedIDs.map { id in registry.sites.first { $0.id == id }! }
        let siteOf = assignment.siteIDs.map { Int32(usedIDs.firstIndex(of: $0)!) }
        let plan = DeploymentPlan(ranges: ranges, siteOfLocation: siteOf, sites: sites, cameras: cameras)
        func site(_ location: Int) -> Int32 { location >= 0 ? siteOf[location] : -1 }
        func deployment(_ site: Int32, _ camera: Int32, _ time: Double) -> String {
            plan.deploymentID(site: site, camera: camera, time: time, cameras: cameras, sites: sites)
        }

        // Sort: time, then camera, species, location, path, frame.
        kept.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.camera != b.camera { return a.camera < b.camera }
            if a.species != b.species { return a.species < b.species }
            if a.location != b.location {
                if a.location < 0 || b.location < 0 { return a.location < b.location }
                return SiteClustering.less(locations[a.location], locations[b.location])
            }
            if a.path != b.path { return a.path < b.path }
            return (a.frameNumber ?? -1) < (b.frameNumber ?? -1)
        }

        // Visits: per (site, camera, species), a new one when the gap since the last detection is too long; in the
        // order they started.
        struct VisitKey: Hashable { var site: Int32; var camera: Int32; var species: String }
        var visits: [[Kept]] = []
        var openVisit: [VisitKey: Int] = [:]
        var visitOfDetection: [Int] = []
        for e in kept {
            let key = VisitKey(site: site(e.location), camera: e.cameraIndex, species: e.species)
            if let v = openVisit[key], e.time - visits[v].last!.time <= options.visitGapSeconds {
                visits[v].append(e)
                visitOfDetection.append(v)
            } else {
                visits.append([e])
                openVisit[key] = visits.count - 1
                visitOfDetection.append(visits.count - 1)
            }
        }

        var compressed: [JSONValue] = []
        var visitsCSV = CSV.row(Stage3Writer.visitsColumns)
        var eventRows = ""
        var visitIDs: [String] = []
        for detections in visits {
            let first = detections[0]
            let s = site(first.location)
            let registered = s >= 0 ? sites[Int(s)] : nil
            let start = first.time, end = detections.map(\.time).max()!
            let id = "v-" + FNV1a.hex((registered?.id ?? "-") + "|" + first.camera + "|" + first.species + "|"
                                      + Timestamp.format(start), digits: 16)
            visitIDs.append(id)
            var media: [String] = []
            for d in detections where !media.contains(d.path) { media.append(d.path) }
            var sum = 0.0
            for d in detections { sum += d.confidence }
            let mean = sum / Double(detections.count)
            let maxConfidence = detections.map(\.confidence).max()!
            let needsReview = maxConfidence < options.reviewThreshold
            let sourceVideo = detections.first { $0.frameNumber != nil || $0.frameTime != nil }?.path
            let dep = deployment(s, first.cameraIndex, start)
            out.visits += 1
            out.detectionsUsed += detections.count
            if needsReview { out.needsReview += 1 }
            var object: [String: JSONValue] = [
                "visit_id": .string(id), "site_id": registered.map { .string($0.id) } ?? .null,
                "site_name": registered?.name.map { .string($0) } ?? .null, "camera_id": .string(first.camera),
                "species": .string(first.species), "start_time": .string(Timestamp.format(start)),
                "end_time": .string(Timestamp.format(end)), "duration_seconds": .number(end - start),
                "max_confidence": .number(maxConfidence), "avg_confidence": .number(mean),
                "frame_count": .number(Double(detections.count)),
                "source_video": sourceVideo.map { .string($0) } ?? .null,
                "source_media": .array(media.map { .string($0) }), "needs_review": .bool(needsReview),
                "detector": .string(first.detector),
            ]
            object["detection_timeline"] = .array(detections.map { d in
                var item: [String: JSONValue] = [
                    "timestamp": .string(Timestamp.format(d.time)), "confidence": .number(d.confidence),
                    "frame_number": d.frameNumber.map { .number(Double($0)) } ?? .null, "crop_path": .string(d.path),
                ]
                if let t = d.frameTime { item["frame_time"] = .number(t) }
                return .object(item)
            })
            compressed.append(.object(object))
            visitsCSV += CSV.row([
                id, registered?.id ?? "", registered?.name ?? "", first.camera, first.species, Timestamp.format(start),
                Timestamp.format(end), Fixed.trimmed(end - start, 3), "\(detections.count)",
                Fixed.trimmed(maxConfidence, 4), Fixed.trimmed(mean, 4), "\(detections.map(\.boxes).max()!)",
                needsReview ? "true" : "false", "\(media.count)", media[0], sourceVideo ?? "", dep, first.detector,
            ])
            if registered != nil {
                let visit = Visit(id: id, siteID: registered?.id, cameraID: first.camera, species: first.species,
                                  detector: first.detector, start: start, end: end, frameCount: detections.count,
                                  maxConfidence: maxConfidence, meanConfidence: mean,
                                  maxBoxes: detections.map(\.boxes).max()!, timeline: [], media: media,
                                  needsReview: needsReview, hasVideo: sourceVideo != nil)
                eventRows += CSV.row(CamtrapDP.observationRow(visit, deploymentID: dep))
            }
        }

        // Media-level observations, in detection order, before the event-level ones.
        var mediaLevel = ""
        for (k, e) in kept.enumerated() where site(e.location) >= 0 {
            let type = CamtrapDP.observationType(e.species)
            var bbox = ["", "", "", ""]
            if let c = e.corners {
                let width = Double(c[2] - c[0]), height = Double(c[3] - c[1])
                let x = min(max(Double(c[0]), 0), 1), y = min(max(Double(c[1]), 0), 1)
                let w = min(width, 1 - x), h = min(height, 1 - y)
                if w > 0 && h > 0 {
                    bbox = [Fixed.trimmed(x, 4), Fixed.trimmed(y, 4), Fixed.trimmed(max(w, 0.0001), 4),
                            Fixed.trimmed(max(h, 0.0001), 4)]
                }
            }
            let second = Timestamp.format(e.time.rounded(.down))
            mediaLevel += CSV.row([
                "o-" + FNV1a.hex(e.path + "#" + (e.frameNumber.map(String.init) ?? "") + "#" + e.species, digits: 16),
                deployment(site(e.location), e.cameraIndex, e.time), "m-" + FNV1a.hex(e.path, digits: 16),
                visitIDs[visitOfDetection[k]], second, second, "media", type, "",
                CamtrapDP.scientificNames[e.species.lowercased()] ?? "",
                type == "animal" || type == "human" ? "\(max(1, e.boxes))" : "", "", "", "", "", "", "", "",
            ] + bbox + [
                "machine", e.detector, "", Fixed.trimmed(min(max(e.confidence, 0), 1), 4), "label:" + e.species,
                e.frameTime.map { "video frame at " + Fixed.trimmed($0, 3) + " s" } ?? "",
            ])
        }

        var mediaCSV = CSV.row(CamtrapDP.mediaColumns)
        for row in mediaRows where row.location >= 0 {
            let fileName = row.path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init)
                ?? row.path
            mediaCSV += CSV.row([
                "m-" + FNV1a.hex(row.path, digits: 16), deployment(site(row.location), row.camera, row.start),
                "activityDetection", Timestamp.format(row.start.rounded(.down)), mediaRoot + "/" + row.path, "false",
                fileName, Stage3Writer.mediaType(fileName: fileName, isVideo: row.isVideo), "", "", row.comment ?? "",
            ])
        }

        out.files[Stage3Files.visitsCSV] = Array(visitsCSV.utf8)
        out.files[Stage3Files.observations] = Array((CSV.row(CamtrapDP.observationsColumns) + mediaLevel
                                                     + eventRows).utf8)
        out.files[Stage3Files.media] = Array(mediaCSV.utf8)
        out.compressedObservations = .array(compressed)
        out.megadetectorImages = .array(md.images)
        out.detectionCategories = .object(md.categories.mapValues { .string($0) })
        out.classificationCategories = md.classifications.isEmpty ? nil
            : .object(md.classifications.mapValues { .string($0) })
        return out
    }
}

/// megadetector.json's `images` and category tables, built as values (format 1.4, see `MegadetectorBatch`).
struct MegadetectorReference {
    var images: [JSONValue] = []
    var categories: [String: String] = [:]
    var classifications: [String: String] = [:]
    var assigned: [String: String] = [:]
    var nextAssigned = 100
    var records: [Stage1Record] = []

    mutating func add(_ r: Stage1Record) {
        if let last = records.last, last.path != r.path { finish() }
        records.append(r)
    }

    /// The entry of the records gathered so far (one media file).
    mutating func finish() {
        guard let path = records.first?.path else { return }
        let ext = path.split(separator: ".").count > 1 ? String(path.split(separator: ".").last!).lowercased() : ""
        var isVideo = MegadetectorBatch.videoExtensions.contains(ext)
        var frameRate: Double? = nil
        var datetime: String? = nil
        var errors: [String] = []
        var detections: [JSONValue] = []
        var missingRate = false
        for r in records {
            let frameInfo = r.frameNumber != nil || r.frameTime != nil
            if frameInfo { isVideo = true }
            if let rate = r.frameRate, rate.isFinite, rate > 0 { frameRate = rate }
            if datetime == nil, let t = r.timestamp.flatMap(Timestamp.parse) {
                datetime = Timestamp.format(t - (r.frameTime ?? 0))
            }
            errors += r.errors
            for d in r.detections {
                let id: String
                if let n = Int(d.category), n >= 0 { id = String(n) }
                else if d.category == "motion" { id = "4" }
                else if let known = assigned[d.category] { id = known }
                else {
                    while categories[String(nextAssigned)] != nil { nextAssigned += 1 }
                    id = String(nextAssigned)
                    nextAssigned += 1
                    assigned[d.category] = id
                }
                if categories[id] == nil { categories[id] = d.label.isEmpty ? d.category : d.label }
                var item: [String: JSONValue] = [
                    "category": .string(id), "conf": .number(Double(Fixed.trimmed(d.conf, 4))!),
                    "bbox": .array(d.bbox.map { .number(Double(Fixed.trimmed($0, 4))!) }),
                ]
                if categories[id] != d.label && !d.label.isEmpty {
                    let cid: String
                    if let known = classifications.first(where: { $0.value == d.label })?.key { cid = known }
                    else { cid = String(classifications.count + 1); classifications[cid] = d.label }
                    item["classifications"] = .array([.array([.string(cid),
                                                              .number(Double(Fixed.trimmed(d.conf, 4))!)])])
                }
                if frameInfo {
                    if let rate = r.frameRate ?? frameRate, let t = r.frameTime {
                        item["frame_number"] = .number(Double(Int((t * rate).rounded())))
                    } else {
                        missingRate = true
                    }
                }
                detections.append(.object(item))
            }
        }
        var entry: [String: JSONValue] = ["file": .string(path)]
        var failure: String? = nil
        if detections.isEmpty && !errors.isEmpty {
            failure = errors.joined(separator: "; ")
        } else if isVideo && (frameRate == nil || missingRate) && !detections.isEmpty {
            failure = "the video's frame rate is not in Stage 1 (frame_rate), so its detections have no frame "
                + "numbers; re-run the worker to record it"
        }
        if let failure {
            entry["failure"] = .string(failure)
            entry["detections"] = .null
        } else {
            entry["detections"] = .array(detections)
        }
        if isVideo { entry["frame_rate"] = .number(frameRate.map { Double(Fixed.trimmed($0, 6))! } ?? -1) }
        if let datetime { entry["datetime"] = .string(datetime) }
        images.append(.object(entry))
        records = []
    }
}

/// A parsed JSON document, compared by value (numbers as Double, objects as dictionaries).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
            self = .array(items)
        } else if let object = try? decoder.container(keyedBy: AnyJSON.Key.self) {
            var dict: [String: JSONValue] = [:]
            for key in object.allKeys { dict[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(dict)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { self = .null }
            else if let b = try? single.decode(Bool.self) { self = .bool(b) }
            else if let d = try? single.decode(Double.self) { self = .number(d) }
            else { self = .string(try single.decode(String.self)) }
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }

    subscript(_ key: String) -> JSONValue? {
        if case .object(let d) = self { return d[key] }
        return nil
    }
}
