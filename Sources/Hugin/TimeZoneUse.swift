import OdinKit

/// Which zone one camera's media times were made with, and how Munin found it (Stage 1 `time_zone`,
/// `time_zone_source`): `report.json` `time_zones`, the report's "Time zones" table, Camtrap DP media comments.
public struct TimeZoneUse: Codable, Sendable, Equatable {
    public var cameraID: String
    /// IANA name or EXIF offset; nil when unknown (for a video: no zone found for its camera; its `creation_time`
    /// is UTC either way).
    public var zone: String?
    /// Stage 1 `time_zone_source` (`time_corrections`, `exif_offset`, `gps_lookup`, `camera_gps`, `default_zone`,
    /// `container_utc`, `unknown`); nil for records written before Munin recorded it.
    public var source: String?
    /// True when the zone was inferred rather than read (GPS lookup, default zone).
    public var inferred: Bool
    public var mediaFiles: Int

    enum CodingKeys: String, CodingKey {
        case cameraID = "camera_id"
        case zone, source, inferred
        case mediaFiles = "media_files"
    }

    static let unknownSource = "unknown"
    static let inferredSources: Set<String> = ["gps_lookup", "camera_gps", "default_zone"]
    static let unknownZoneComment = "time zone unknown (no time-corrections row, EXIF offset, GPS position or "
        + "default zone): camera local time written as if UTC; add a time-corrections row or set "
        + "pipeline.time.default_timezone to fix"

    struct Key: Hashable {
        var camera: String
        var zone: String?
        var source: String?
    }

    static func list(_ counts: [Key: Int]) -> [TimeZoneUse] {
        counts.map { key, count in
            TimeZoneUse(cameraID: key.camera, zone: key.zone, source: key.source,
                        inferred: key.source.map(inferredSources.contains) ?? false, mediaFiles: count)
        }.sorted { ($0.cameraID, $0.source ?? "", $0.zone ?? "") < ($1.cameraID, $1.source ?? "", $1.zone ?? "") }
    }

    /// How the zone was found, for people.
    var explanation: String {
        switch source {
        case "time_corrections": return "time-corrections row"
        case "exif_offset": return "EXIF offset in the file"
        case "gps_lookup": return "inferred from the GPS position (offline zone table, DST of the date)"
        case "camera_gps": return "inferred from the GPS positions of the camera's other files (this file has none)"
        case "default_zone": return "inferred: worker default zone (--default-timezone)"
        case "container_utc": return "video creation_time (UTC); no zone found for the camera, local time unknown"
        case "unknown": return "unknown: local camera time, written as if UTC (add a time-corrections row, or set "
            + "pipeline.time.default_timezone)"
        case let other?: return other
        case nil: return "not recorded"
        }
    }

    /// Camtrap DP `mediaComments` for a media file whose zone was inferred or is unknown; nil otherwise. A video's
    /// timestamp is its container's UTC `creation_time`: an inferred zone gave only its local time.
    static func mediaComment(_ record: Stage1Record, isVideo: Bool = false) -> String? {
        switch record.timeZoneSource {
        case "gps_lookup"?, "camera_gps"?, "default_zone"?:
            let how = record.timeZoneSource == "gps_lookup" ? "from the GPS position"
                : record.timeZoneSource == "camera_gps" ? "from the camera's other files' GPS positions"
                : "from the default zone"
            if isVideo {
                return "local time zone inferred \(how): \(record.timeZone ?? "?") (UTC\(record.utcOffset ?? "?")), "
                    + "local time \(record.localTime ?? "?"); the timestamp is the video's UTC creation_time"
            }
            return "timestamp offset inferred \(how): \(record.timeZone ?? "?") (UTC\(record.utcOffset ?? "?")) "
                + "applied to local time \(record.localTime ?? "?")"
        case unknownSource?: return unknownZoneComment
        default: return nil
        }
    }
}
