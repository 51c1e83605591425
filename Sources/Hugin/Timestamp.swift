import OdinBasics

/// ISO 8601 timestamps as seconds since the Unix epoch, parsed and formatted by hand (fast, no locale, no Foundation
/// formatter): Stage 1 writes `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
public enum Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z, or nil when `text` is not an ISO 8601 date-time with a zone designator.
    public static func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Double? {
        guard b.count >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            var value = 0
            for k in at..<(at + count) {
                let c = b[k]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45, let day = digits(8, 2),
              b[10] == 84 || b[10] == 32, let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2),
              b[16] == 58, let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count && (b[i] == 46 || b[i] == 44) {
            i += 1
            var scale = 0.1
            let begin = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > begin else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {  // Z
            i += 1
        } else if b[i] == 43 || b[i] == 45 {  // + or -
            let sign = b[i] == 45 ? -1 : 1
            guard i + 3 <= b.count, let oh = digits(i + 1, 2) else { return nil }
            i += 3
            var om = 0
            if i < b.count && b[i] == 58 { i += 1 }
            if i + 2 <= b.count, let m = digits(i, 2) { om = m; i += 2 }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Double(seconds) + fraction
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` when the time has a sub-second part.
    public static func format(_ seconds: Double) -> String {
        var whole = seconds.rounded(.down)
        var millis = Int(((seconds - whole) * 1000).rounded())
        if millis == 1000 { whole += 1; millis = 0 }
        let total = Int(whole)
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let rest = total - days * 86_400
        let (y, m, d) = civilFromDays(days)
        guard (1000...9999).contains(y) else {
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            var text = "\(y)-\(two(m))-\(two(d))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
            if millis > 0 {
                text += "." + (millis < 10 ? "00" : millis < 100 ? "0" : "") + "\(millis)"
            }
            return text + "Z"
        }
        // The same text, built in place (one call per visit and per media file on large runs).
        return String(unsafeUninitializedCapacity: 24) { b in
            var n = 0
            func digit(_ v: Int) { b[n] = UInt8(truncatingIfNeeded: v) + 0x30; n += 1 }
            func two(_ v: Int) { digit(v / 10); digit(v % 10) }
            func byte(_ c: UInt8) { b[n] = c; n += 1 }
            two(y / 100); two(y % 100); byte(0x2D); two(m); byte(0x2D); two(d); byte(0x54)
            two(rest / 3600); byte(0x3A); two(rest / 60 % 60); byte(0x3A); two(rest % 60)
            if millis > 0 { byte(0x2E); digit(millis / 100); two(millis % 100) }
            byte(0x5A)
            return n
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        CivilCalendar.days(year: year, month: month, day: day)
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) { CivilCalendar.date(days: days) }
}
