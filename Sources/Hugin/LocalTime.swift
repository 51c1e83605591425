import OdinKit

/// The camera's local time beside UTC, for the report. Detections carry the UTC offset in force at their capture
/// (Stage 1 `utc_offset`, DST included) or one of two markers: `unknown` (no zone: videos, whose `creation_time` is
/// UTC, when Munin found no zone for their camera) and `floating` (the zone is unknown but the camera's local time is: the detection's
/// time is that local time written as if UTC, so UTC is what is unknown).
enum LocalTime {
    static let unknown = Int32.min
    static let floating = Int32.max

    /// Minutes east of UTC from `+02:00`, `-03:30`, `Z` or `+0200`; nil when it is none of these.
    static func offsetMinutes(_ text: String) -> Int32? {
        if text == "Z" { return 0 }
        let bytes = Array(text.utf8)
        guard let sign = bytes.first, sign == 0x2B || sign == 0x2D else { return nil }
        let digits = bytes.dropFirst().filter { $0 != 0x3A }
        guard digits.count == 4, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              bytes.count == 5 || (bytes.count == 6 && bytes[3] == 0x3A) else { return nil }
        let d = digits.map { Int32($0 - 0x30) }
        let hours = d[0] * 10 + d[1], minutes = d[2] * 10 + d[3]
        guard hours <= 18, minutes < 60 else { return nil }
        return (sign == 0x2D ? -1 : 1) * (hours * 60 + minutes)
    }

    /// The offset for a Stage 1 record: floating when its zone is unknown (local time only), else its `utc_offset`.
    static func offset(of record: Stage1Record, floating: Bool) -> Int32 {
        if floating { return Self.floating }
        return record.utcOffset.flatMap(offsetMinutes) ?? unknown
    }

    /// `UTC+02:00`, `UTC−03:30`, `UTC`.
    static func label(_ minutes: Int32) -> String {
        guard minutes != 0 else { return "UTC" }
        let a = abs(Int(minutes))
        return "UTC" + (minutes < 0 ? "−" : "+") + two(a / 60) + ":" + two(a % 60)
    }

    /// `+02:00`, `-03:30`, `+00:00` (ISO 8601).
    static func isoOffset(_ minutes: Int32) -> String {
        let a = abs(Int(minutes))
        return (minutes < 0 ? "-" : "+") + two(a / 60) + ":" + two(a % 60)
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// `2026-05-01 06:00:00` (no zone suffix).
    static func wallClock(_ seconds: Double) -> String {
        let text = Timestamp.format(seconds)  // 2026-05-01T06:00:00Z or with fractions
        var out = String(text.dropLast())  // drop Z
        if let t = out.firstIndex(of: "T") { out.replaceSubrange(t...t, with: " ") }
        return out
    }

    /// The two cells a report shows for a time: UTC and the camera's local time.
    static func cells(_ time: Double, offset: Int32) -> (utc: String, local: String) {
        switch offset {
        case unknown: return (wallClock(time), "unknown (no time zone)")
        case floating: return ("unknown (no time zone)", wallClock(time) + " (camera clock)")
        default: return (wallClock(time), wallClock(time + Double(offset) * 60) + " " + label(offset))
        }
    }

    /// Local hour of day (0…23) of a time, nil when the local time is unknown.
    static func hour(_ time: Double, offset: Int32) -> Int? {
        guard offset != unknown else { return nil }
        let local = offset == floating ? time : time + Double(offset) * 60
        let seconds = local - 86_400 * (local / 86_400).rounded(.down)
        return min(23, max(0, Int(seconds / 3600)))
    }
}

