import OdinBasics

/// A wall-clock date and time with no zone (what a camera writes into EXIF).
public struct LocalDateTime: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// Parses EXIF `YYYY:MM:DD HH:MM:SS`, ISO `YYYY-MM-DD[THH:MM[:SS]]` (a space also separates date and time).
    /// Nil for anything else, for out-of-range fields, and for the all-zero "unset" EXIF date.
    public init?(parsing text: String) {
        let digits = text.trimmingSpaces.split(whereSeparator: { ":- T".contains($0) }).map { Int($0) }
        guard digits.count == 3 || digits.count == 5 || digits.count == 6, digits.allSatisfy({ $0 != nil }) else {
            return nil
        }
        let v = digits.map { $0! }
        self.init(year: v[0], month: v[1], day: v[2], hour: v.count > 3 ? v[3] : 0, minute: v.count > 4 ? v[4] : 0,
                  second: v.count > 5 ? v[5] : 0)
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...LocalDateTime.daysIn(month: month, year: year)).contains(day), (0...23).contains(hour),
              (0...59).contains(minute), (0...60).contains(second) else { return nil }
    }

    /// Seconds since 1970-01-01T00:00:00 of this wall-clock reading, as if it were UTC.
    public var naiveSeconds: Int64 {
        Int64(Self.daysFromCivil(year, month, day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The wall-clock reading `seconds` after 1970-01-01T00:00:00.
    public init(naiveSeconds seconds: Int64) {
        let days = Int(seconds.floorDiv(86_400))
        let rest = Int(seconds - Int64(days) * 86_400)
        let (y, m, d) = Self.civilFromDays(days)
        self.init(year: y, month: m, day: d, hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
    }

    public var description: String {
        "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int { CivilCalendar.days(year: y, month: m, day: d) }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) { CivilCalendar.date(days: days) }
}

/// ISO 8601 UTC text for seconds since 1970: `2024-05-01T10:00:00Z`, with milliseconds only when not whole.
public func iso8601UTC(_ seconds: Double) -> String {
    let whole = Int64(seconds.rounded(.down))
    let millis = Int(((seconds - Double(whole)) * 1000).rounded())
    let (base, ms) = millis >= 1000 ? (whole + 1, 0) : (whole, millis)
    let text = LocalDateTime(naiveSeconds: base).description
    return ms == 0 ? text + "Z" : text + "." + pad(ms, 3) + "Z"
}

/// Parses ISO 8601 with `Z` or `±HH:MM` (MP4 `creation_time`: `2024-05-01T10:00:00.000000Z`) to seconds since 1970.
public func parseISO8601(_ text: String) -> Double? {
    var body = Substring(text.trimmingSpaces)
    var offset = 0
    if body.hasSuffix("Z") || body.hasSuffix("z") {
        body = body.dropLast()
    } else if body.count > 6, let sign = body.dropLast(5).last, sign == "+" || sign == "-",
              let parsed = parseUTCOffset(String(body.suffix(6)))
    {
        offset = parsed
        body = body.dropLast(6)
    } else {
        return nil
    }
    var fraction = 0.0
    if let dot = body.firstIndex(of: ".") {
        fraction = Double("0" + body[dot...]) ?? 0
        body = body[..<dot]
    }
    guard let local = LocalDateTime(parsing: String(body)) else { return nil }
    return Double(local.naiveSeconds - Int64(offset)) + fraction
}

/// `+01:00`, `-0530`, `+01` → seconds east of UTC.
public func parseUTCOffset(_ text: String) -> Int? {
    let t = text.trimmingSpaces
    guard let sign = t.first, sign == "+" || sign == "-" else { return nil }
    let digits = t.dropFirst().filter { $0 != ":" }
    guard digits.allSatisfy(\.isNumber), digits.count == 2 || digits.count == 4 else { return nil }
    let hours = Int(digits.prefix(2))!, minutes = digits.count == 4 ? Int(digits.suffix(2))! : 0
    guard hours <= 18, minutes < 60 else { return nil }
    return (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
}

func pad(_ value: Int, _ width: Int = 2) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

extension Int64 {
    func floorDiv(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
