import Synchronization

/// One camera's clock correction (a row of the time-corrections CSV).
///
/// **Sign convention.** `offsetSeconds` is how far the camera clock is *ahead* of true local time at `reference`
/// (positive: the camera is fast; negative: slow). `clockDriftPPM` is how many microseconds per second the camera
/// clock *gains* after `reference` (positive: it runs fast). A camera reading `c` (naive seconds) therefore satisfies
/// `c = t + offset + drift·1e-6·(t − reference)` for true local time `t`, and the correction inverts that:
/// `t = reference + (c − reference − offset) / (1 + drift·1e-6)`; with no drift, simply `t = c − offset`.
/// Example: a camera 120 s fast that shows 12:02:00 took the picture at 12:00:00 local time.
/// True local time then goes to UTC with `zone` (its DST rules applied).
public struct CameraTimeCorrection: Sendable, Equatable {
    public var cameraID: String
    public var location: String
    /// The IANA zone the camera's local time is in.
    public var zone: ZoneRules
    public var offsetSeconds: Double
    public var clockDriftPPM: Double
    /// The local time at which `offsetSeconds` was measured (the clock set or checked); drift accrues from here,
    /// not from 1970. Required when `clockDriftPPM` is not zero.
    public var reference: LocalDateTime?
    public var notes: String

    /// True local time (naive seconds) for a camera reading (naive seconds).
    public func trueLocalSeconds(cameraSeconds: Double) -> Double {
        guard clockDriftPPM != 0, let reference else { return cameraSeconds - offsetSeconds }
        let ref = Double(reference.naiveSeconds)
        return ref + (cameraSeconds - ref - offsetSeconds) / (1 + clockDriftPPM * 1e-6)
    }
}

/// The per-camera time corrections CSV: `camera_id,location,timezone,offset_seconds,clock_drift_ppm,notes`, plus an
/// optional `reference_time` column (camera-local `YYYY-MM-DD[THH:MM:SS]`) needed when drift is not zero.
/// Columns are found by header name; cells may be quoted (`"a, b"`). Empty offset/drift cells mean 0.
public struct TimeCorrections: Sendable {
    public private(set) var cameras: [String: CameraTimeCorrection] = [:]

    public static let requiredColumns = ["camera_id", "timezone", "offset_seconds", "clock_drift_ppm"]

    public init() {}

    /// Parses CSV text. Errors name the line and the column.
    public init(csv: String, zoneDirectory: String = "/usr/share/zoneinfo", source: String = "time corrections")
        throws(TimeError)
    {
        var lines = csv.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" })
            .map { String($0).trimmingCharacters(in: "\r") }
        while let last = lines.last, last.trimmingSpaces.isEmpty { lines.removeLast() }
        guard let headerLine = lines.first else { throw TimeError("\(source): empty file, expected a header line") }
        let header = Self.cells(headerLine).map { $0.trimmingSpaces.lowercased() }
        for column in Self.requiredColumns where !header.contains(column) {
            throw TimeError("\(source): header lacks column '\(column)' (expected "
                + "camera_id,location,timezone,offset_seconds,clock_drift_ppm,notes[,reference_time])")
        }
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        var zones: [String: ZoneRules] = [:]
        for (lineIndex, line) in lines.enumerated().dropFirst() where !line.trimmingSpaces.isEmpty {
            let row = Self.cells(line)
            let at = "\(source) line \(lineIndex + 1)"
            func cell(_ name: String) -> String {
                guard let i = column(name), i < row.count else { return "" }
                return row[i].trimmingSpaces
            }
            func number(_ name: String) throws(TimeError) -> Double {
                let text = cell(name)
                if text.isEmpty { return 0 }
                guard let value = Double(text), value.isFinite else {
                    throw TimeError("\(at): \(name) '\(text)' is not a number")
                }
                return value
            }
            let camera = cell("camera_id")
            guard !camera.isEmpty else { throw TimeError("\(at): camera_id is empty") }
            guard cameras[camera] == nil else { throw TimeError("\(at): camera_id '\(camera)' appears twice") }
            let zoneName = cell("timezone")
            guard !zoneName.isEmpty else {
                throw TimeError("\(at): timezone is empty for camera '\(camera)'; write an IANA name such as "
                    + "Europe/Stockholm, or UTC")
            }
            let zone: ZoneRules
            if let cached = zones[zoneName] {
                zone = cached
            } else {
                do { zone = try ZoneRules.load(identifier: zoneName, directory: zoneDirectory) } catch {
                    throw TimeError("\(at): timezone: \(error.message)")
                }
                zones[zoneName] = zone
            }
            let drift = try number("clock_drift_ppm")
            var reference: LocalDateTime? = nil
            let referenceText = cell("reference_time")
            if !referenceText.isEmpty {
                guard let parsed = LocalDateTime(parsing: referenceText) else {
                    throw TimeError("\(at): reference_time '\(referenceText)' is not YYYY-MM-DD[THH:MM:SS]")
                }
                reference = parsed
            }
            if drift != 0 && reference == nil {
                throw TimeError("\(at): clock_drift_ppm is \(drift) for camera '\(camera)' but reference_time is "
                    + "empty; add the local time the clock was set or checked (drift accrues from it)")
            }
            cameras[camera] = CameraTimeCorrection(
                cameraID: camera, location: cell("location"), zone: zone, offsetSeconds: try number("offset_seconds"),
                clockDriftPPM: drift, reference: reference, notes: cell("notes"))
        }
    }

    /// Reads and parses the CSV file at `path`. Blocking file I/O.
    public static func load(path: String, zoneDirectory: String = "/usr/share/zoneinfo") throws(TimeError)
        -> TimeCorrections
    {
        guard let bytes = readFile(path) else { throw TimeError("cannot open time corrections file \(path)") }
        return try TimeCorrections(csv: String(decoding: bytes, as: UTF8.self), zoneDirectory: zoneDirectory,
                                   source: path)
    }

    /// Splits one CSV line into cells (RFC 4180 quoting within the line).
    static func cells(_ line: String) -> [String] {
        var result: [String] = []
        var current = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character? = nil
        while let ch = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if ch == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { current.append(ch) }
            } else if ch == "\"" {
                quoted = true
            } else if ch == "," {
                result.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        result.append(current)
        return result
    }

    /// The corrected UTC instant of a camera-local reading, and where its zone came from. The zone is taken, in
    /// this order, from: the camera's time-corrections row; the file's EXIF offset; the zone at the file's GPS
    /// position (`zones`, offline table, DST of the capture date applied); `defaultZone`; else the zone is unknown
    /// and the result keeps the local time with no UTC instant (naive local time is never passed off as UTC).
    /// - Parameters:
    ///   - local: the camera's wall-clock reading (EXIF `DateTimeOriginal`…).
    ///   - exifOffset: the EXIF `OffsetTime*` value.
    ///   - position: the file's GPS position (latitude, longitude), when it has one.
    ///   - zones: the GPS → zone rules (nil: no GPS lookup).
    ///   - defaultZone: used when none of the above gives a zone.
    public func resolve(local: LocalDateTime, cameraID: String, exifOffset: String?,
                        position: (latitude: Double, longitude: Double)? = nil, zones: GPSZones? = nil,
                        defaultZone: ZoneRules?) throws(TimeError) -> CaptureTime
    {
        let camera = Double(local.naiveSeconds)
        if let correction = cameras[cameraID] {
            let trueLocal = correction.trueLocalSeconds(cameraSeconds: camera)
            let whole = Int64(trueLocal.rounded(.down))
            let resolution = try correction.zone.resolve(local: whole)
            return CaptureTime(local: local, utc: Double(resolution.utc) + (trueLocal - Double(whole)),
                               zone: correction.zone.identifier, offset: resolution.offset, source: .timeCorrections,
                               notes: resolution.note.map { [$0] } ?? [])
        }
        if let exifOffset, let offset = parseUTCOffset(exifOffset) {
            return CaptureTime(local: local, utc: camera - Double(offset), zone: formatUTCOffset(offset),
                               offset: offset, source: .exifOffset, notes: [])
        }
        var notes: [String] = []
        if let position, let zones {
            do {
                if let zone = try zones.zone(latitude: position.latitude, longitude: position.longitude) {
                    let resolution = try zone.resolve(local: local.naiveSeconds)
                    return CaptureTime(local: local, utc: Double(resolution.utc), zone: zone.identifier,
                                       offset: resolution.offset, source: .gpsLookup,
                                       notes: resolution.note.map { [$0] } ?? [])
                }
            } catch { notes.append("GPS time zone not used: \(error.message)") }
        }
        if let defaultZone {
            let resolution = try defaultZone.resolve(local: local.naiveSeconds)
            return CaptureTime(local: local, utc: Double(resolution.utc), zone: defaultZone.identifier,
                               offset: resolution.offset, source: .defaultZone,
                               notes: notes + (resolution.note.map { [$0] } ?? []))
        }
        return CaptureTime(local: local, utc: nil, zone: nil, offset: nil, source: .unknown, notes: notes)
    }

    /// The zone of a video's camera, whose capture instant is already UTC (MP4/MOV `creation_time`): only the local
    /// time is derived from it; the instant never changes. The zone is taken, in the stills' order less the EXIF
    /// offset (a container has none), from: the camera's time-corrections row; the zone at the container's GPS
    /// position (`zones`); `cameraZone`, the zone the camera's stills in the chunk got from their GPS positions;
    /// `defaultZone`; else none (`rules` nil, source `container_utc`: the UTC instant is known, the local time not).
    public func videoZone(cameraID: String, position: (latitude: Double, longitude: Double)? = nil,
                          zones: GPSZones? = nil, cameraZone: String? = nil, defaultZone: ZoneRules?)
        -> (rules: ZoneRules?, source: ZoneSource, notes: [String])
    {
        if let correction = cameras[cameraID] { return (correction.zone, .timeCorrections, []) }
        var notes: [String] = []
        if let position, let zones {
            do {
                if let zone = try zones.zone(latitude: position.latitude, longitude: position.longitude) {
                    return (zone, .gpsLookup, [])
                }
            } catch { notes.append("GPS time zone not used: \(error.message)") }
        }
        if let cameraZone, let zones {
            do { return (try zones.rules(named: cameraZone), .cameraGPS, notes) } catch {
                notes.append("the camera's GPS zone \(cameraZone) not used: \(error.message)")
            }
        }
        if let defaultZone { return (defaultZone, .defaultZone, notes) }
        return (nil, .containerUTC, notes)
    }

    /// Corrects an instant that is already UTC (MP4 `creation_time`) for the camera's clock error. The zone is not
    /// applied: MP4/MOV store creation time in UTC by specification.
    public func correctUTC(_ seconds: Double, cameraID: String) -> Double {
        guard let correction = cameras[cameraID] else { return seconds }
        guard correction.clockDriftPPM != 0, let reference = correction.reference else {
            return seconds - correction.offsetSeconds
        }
        // Drift elapsed is measured in the camera's local frame; the zone offset at the reference converts it.
        let referenceUTC = Double(reference.naiveSeconds) - Double((try? correction.zone.offset(
            atUTC: reference.naiveSeconds)) ?? 0)
        return referenceUTC + (seconds - referenceUTC - correction.offsetSeconds)
            / (1 + correction.clockDriftPPM * 1e-6)
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

/// Where the zone of a capture time came from: Stage 1's `time_zone_source`.
public enum ZoneSource: String, Sendable, Codable, CaseIterable {
    /// The camera's row in the time-corrections CSV.
    case timeCorrections = "time_corrections"
    /// The file's EXIF `OffsetTime*` tag.
    case exifOffset = "exif_offset"
    /// Inferred: the zone at the file's GPS position (offline table), DST of the capture date applied.
    case gpsLookup = "gps_lookup"
    /// Inferred: the file has no GPS position; the camera's other stills in the chunk have, all in this zone.
    case cameraGPS = "camera_gps"
    /// Inferred: the worker's `--default-timezone`.
    case defaultZone = "default_zone"
    /// A video container's `creation_time`, UTC by specification, with no zone found for its camera (the local time
    /// is unknown). A video whose camera's zone is found records that zone's source instead.
    case containerUTC = "container_utc"
    /// Nothing said which zone: the local time is kept, with no UTC instant.
    case unknown
}

/// A capture time read from a camera: the wall-clock reading, its UTC instant when the zone is known, and how the
/// zone was found.
public struct CaptureTime: Sendable, Equatable {
    /// The camera's wall-clock reading as written in the file.
    public var local: LocalDateTime
    /// Seconds since 1970 (UTC); nil when the zone is unknown.
    public var utc: Double?
    /// IANA name (`Europe/Oslo`) or, for an EXIF offset, the offset (`+02:00`); nil when unknown.
    public var zone: String?
    /// Seconds east of UTC in force at the capture.
    public var offset: Int?
    public var source: ZoneSource
    /// DST gap/overlap notes and why a zone rule was skipped.
    public var notes: [String]
}

/// GPS position → zone rules: the offline zone table plus the compiled zones of `zoneDirectory`, loaded once per
/// zone. Shared by the worker's threads.
public final class GPSZones: Sendable {
    private let table: ZoneLookup?
    /// The zone table: the one given, else the linked one (parsed on first use, so workers whose files all carry
    /// offsets never parse it).
    public var lookup: ZoneLookup { table ?? .embedded }
    public let zoneDirectory: String
    private let loaded = Mutex<[String: ZoneRules]>([:])

    public init(lookup: ZoneLookup? = nil, zoneDirectory: String = "/usr/share/zoneinfo") {
        self.table = lookup
        self.zoneDirectory = zoneDirectory
    }

    /// The zone at a position; nil for an invalid position. Throws when the zone's rules cannot be loaded.
    public func zone(latitude: Double, longitude: Double) throws(TimeError) -> ZoneRules? {
        guard let name = lookup.zone(latitude: latitude, longitude: longitude) else { return nil }
        return try rules(named: name)
    }

    /// The rules of zone `name`, loaded once.
    public func rules(named name: String) throws(TimeError) -> ZoneRules {
        if let rules = loaded.withLock({ $0[name] }) { return rules }
        let rules = try ZoneRules.load(identifier: name, directory: zoneDirectory)
        loaded.withLock { $0[name] = rules }
        return rules
    }
}

/// Seconds east of UTC as `+HH:MM`.
public func formatUTCOffset(_ seconds: Int) -> String {
    let a = abs(seconds)
    return (seconds < 0 ? "-" : "+") + pad(a / 3600) + ":" + pad(a / 60 % 60)
}
