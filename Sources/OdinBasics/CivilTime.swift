/// Proleptic Gregorian calendar arithmetic on day counts (Howard Hinnant's `days_from_civil` and `civil_from_days`,
/// https://howardhinnant.github.io/date_algorithms.html): exact for every representable year, no Foundation calendar,
/// no locale, no allocation.
package enum CivilCalendar {
    /// Days since 1970-01-01 of the date `year`-`month`-`day` (month 1…12, day 1…31).
    @inlinable
    package static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (negative: before).
    @inlinable
    package static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Calendar fields of a UTC instant in whole seconds (proleptic Gregorian, see `CivilCalendar`).
package struct CivilTime: Equatable, Sendable {
    package var year, month, day, hour, minute, second: Int

    package init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// The fields of `seconds` after 1970-01-01T00:00:00Z (floored, so negative instants work).
    package init(secondsSince1970 seconds: Int64) {
        var days = seconds / 86_400
        var remainder = seconds % 86_400
        if remainder < 0 {
            remainder += 86_400
            days -= 1
        }
        let date = CivilCalendar.date(days: Int(days))
        self.init(year: date.year, month: date.month, day: date.day, hour: Int(remainder / 3600),
                  minute: Int(remainder % 3600 / 60), second: Int(remainder % 60))
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    package var secondsSince1970: Int64 {
        Int64(CivilCalendar.days(year: year, month: month, day: day)) * 86_400 + Int64(hour) * 3600
            + Int64(minute) * 60 + Int64(second)
    }
}
