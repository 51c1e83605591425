/// An IANA time zone read from a compiled TZif file (`/usr/share/zoneinfo/<name>`, RFC 8536), so Munin needs no
/// Foundation `TimeZone`. Covers every transition in the file (Debian ships "fat" files with transitions through
/// 2037); later instants use the last transition's offset unless the file's footer rule has DST, which is refused.
public struct ZoneRules: Sendable, Equatable {
    public let identifier: String
    /// Transition instants (seconds since 1970, UTC), ascending.
    let transitions: [Int64]
    /// UTC offset in seconds in force from each transition on.
    let offsets: [Int]
    /// Offset before the first transition.
    let initialOffset: Int
    /// The footer's POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"), if any.
    let footer: String?

    /// Zone `UTC` (no transitions).
    public static let utc = ZoneRules(identifier: "UTC", transitions: [], offsets: [], initialOffset: 0, footer: nil)

    init(identifier: String, transitions: [Int64], offsets: [Int], initialOffset: Int, footer: String?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.footer = footer
    }

    /// Loads zone `identifier` (e.g. `Europe/Stockholm`) from `directory`.
    public static func load(identifier: String, directory: String = "/usr/share/zoneinfo") throws(TimeError)
        -> ZoneRules
    {
        if identifier == "UTC" || identifier == "Etc/UTC" { return .utc }
        guard !identifier.isEmpty, !identifier.hasPrefix("/"), !identifier.split(separator: "/").contains("..") else {
            throw TimeError("'\(identifier)' is not an IANA zone name (like Europe/Stockholm)")
        }
        let path = directory + "/" + identifier
        guard let bytes = readFile(path) else {
            throw TimeError("unknown time zone '\(identifier)' (no \(path); is the tzdata package installed?)")
        }
        return try parse(bytes, identifier: identifier)
    }

    static func parse(_ b: [UInt8], identifier: String) throws(TimeError) -> ZoneRules {
        func bad(_ why: String) -> TimeError { TimeError("zone file for \(identifier) is malformed: \(why)") }
        func u32(_ at: Int) -> Int { Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3]) }
        func i32(_ at: Int) -> Int { Int(Int32(bitPattern: UInt32(u32(at)))) }
        func i64(_ at: Int) -> Int64 { Int64(bitPattern: UInt64(u32(at)) << 32 | UInt64(u32(at + 4))) }
        guard b.count >= 44, b[0..<4] == [0x54, 0x5A, 0x69, 0x66] else { throw bad("no TZif header") }
        func counts(_ at: Int) -> [Int] { (0..<6).map { u32(at + 20 + $0 * 4) } }
        var header = 0
        var c = counts(0)
        var timeSize = 4
        if b[4] >= 0x32 {  // version 2+: skip the 32-bit block, use the 64-bit one
            let v1 = c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]
            header = 44 + v1
            guard b.count >= header + 44 else { throw bad("truncated before the 64-bit header") }
            c = counts(header)
            timeSize = 8
        }
        let (isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt) = (c[0], c[1], c[2], c[3], c[4], c[5])
        var p = header + 44
        let end = p + timecnt * (timeSize + 1) + typecnt * 6 + charcnt + leapcnt * (timeSize + 4) + isstdcnt + isutcnt
        guard typecnt > 0, b.count >= end else { throw bad("truncated data block") }
        let times = (0..<timecnt).map { timeSize == 8 ? i64(p + $0 * 8) : Int64(i32(p + $0 * 4)) }
        p += timecnt * timeSize
        let indices = (0..<timecnt).map { Int(b[p + $0]) }
        p += timecnt
        var typeOffsets: [Int] = []
        var typeIsDST: [Bool] = []
        for t in 0..<typecnt {
            typeOffsets.append(i32(p + t * 6))
            typeIsDST.append(b[p + t * 6 + 4] != 0)
        }
        guard indices.allSatisfy({ $0 < typecnt }) else { throw bad("transition type index out of range") }
        var footer: String? = nil
        if timeSize == 8, end < b.count, b[end] == 0x0A {
            let rest = b[(end + 1)...].prefix { $0 != 0x0A }
            footer = String(decoding: rest, as: UTF8.self)
        }
        let initial = typeOffsets[typeIsDST.firstIndex(of: false) ?? 0]
        return ZoneRules(identifier: identifier, transitions: times, offsets: indices.map { typeOffsets[$0] },
                         initialOffset: initial, footer: footer)
    }

    /// UTC offset (seconds east) in force at `utc` (seconds since 1970).
    public func offset(atUTC utc: Int64) throws(TimeError) -> Int {
        guard let first = transitions.first, utc >= first else { return initialOffset }
        if utc >= transitions.last!, let footer, footer.contains(","), utc > transitions.last! + 366 * 86_400 {
            throw TimeError("\(identifier): \(LocalDateTime(naiveSeconds: utc)) is past the zone file's last "
                + "transition and its rule '\(footer)' is not evaluated; install 'fat' tzdata")
        }
        var low = 0, high = transitions.count - 1
        while low < high {  // last transition <= utc
            let mid = (low + high + 1) / 2
            if transitions[mid] <= utc { low = mid } else { high = mid - 1 }
        }
        return offsets[low]
    }

    /// How a wall-clock reading in this zone maps to UTC.
    public struct Resolution: Sendable, Equatable {
        public var utc: Int64
        public var offset: Int
        /// Set when the local time was skipped (spring forward) or happened twice (fall back), saying what was chosen.
        public var note: String?
    }

    /// Converts a wall-clock reading to UTC. A reading inside a DST gap is taken with the offset before the gap
    /// (it lands after the gap); a reading that happened twice is taken as the first (DST) occurrence. Both are noted.
    public func resolve(local: Int64) throws(TimeError) -> Resolution {
        let before = try offset(atUTC: local - 86_400), after = try offset(atUTC: local + 86_400)
        var valid: [Resolution] = []
        for candidate in Set([before, after]).sorted(by: >) {
            let utc = local - Int64(candidate)
            if try offset(atUTC: utc) == candidate { valid.append(Resolution(utc: utc, offset: candidate)) }
        }
        let text = LocalDateTime(naiveSeconds: local).description
        if valid.count == 1 { return valid[0] }
        if valid.count > 1 {
            var first = valid.min { $0.utc < $1.utc }!
            first.note = "local time \(text) happened twice in \(identifier) (clocks went back); took the first"
            return first
        }
        return Resolution(utc: local - Int64(before), offset: before,
                          note: "local time \(text) does not exist in \(identifier) (clocks went forward); "
                              + "read with the earlier offset")
    }
}

/// A time-correction problem: a bad CSV cell, an unknown zone, an unconvertible time.
public struct TimeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "time: \(message)" }
}
