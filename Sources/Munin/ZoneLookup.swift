import CTimeZoneTable
import Compression

/// The IANA time zone of a GPS position, offline: a compact table built by `scripts/tz/build_table.py` from the
/// timezone-boundary-builder polygons (ODbL, see `Sources/CTimeZoneTable/README.md`) and linked into the binary.
///
/// The table is a 1/64° grid (≈1.7 km north–south) stored as one quadtree per 1°×1° cell; a pixel holds the zone of
/// its centre, so answers equal the polygons' except within about 0.9 km of a zone boundary (the measured agreement is
/// in the README). Sea within ≈14 km of land answers the nearest land zone (a shore camera whose fix lands in the
/// water keeps its land clock); open sea answers the nautical `Etc/GMT±N` zone.
public struct ZoneLookup: Sendable {
    /// Zone names, indexed by the table's zone numbers.
    public let names: [String]
    /// Where the table came from (data set, version, licence, resolution).
    public let source: String
    let cellsPerDegree: Int
    /// Offset into `nodes` of each 1° cell's quadtree (rows from 90°N, columns from 180°W).
    let roots: [Int32]
    let nodes: [UInt16]

    /// The table linked into this binary, parsed once on first use.
    public static let embedded: ZoneLookup = {
        let bytes = Array(UnsafeBufferPointer(start: odin_tz_table_bytes(), count: Int(odin_tz_table_length())))
        do { return try ZoneLookup(table: bytes) } catch {
            fatalError("the linked time-zone table is unreadable (\(error)); rebuild it with scripts/tz/build_table.py")
        }
    }()

    /// Parses a table (optionally gzip-compressed) in the format `scripts/tz/build_table.py` writes.
    public init(table input: [UInt8]) throws(TimeError) {
        var b = input
        if b.count >= 2 && b[0] == 0x1F && b[1] == 0x8B {
            do { b = try Gzip.decompress(input) } catch { throw TimeError("zone table: \(error)") }
        }
        var p = 0
        func bad(_ why: String) -> TimeError { TimeError("zone table is malformed: \(why)") }
        func u16() throws(TimeError) -> Int {
            guard p + 2 <= b.count else { throw bad("truncated at byte \(p)") }
            defer { p += 2 }
            return Int(b[p]) | Int(b[p + 1]) << 8
        }
        func u32() throws(TimeError) -> Int { try u16() | (try u16()) << 16 }
        func text() throws(TimeError) -> String {
            let n = try u32()
            guard p + n <= b.count else { throw bad("truncated text at byte \(p)") }
            defer { p += n }
            return String(decoding: b[p..<(p + n)], as: UTF8.self)
        }
        guard b.count >= 4, b[0..<4] == [0x4F, 0x44, 0x54, 0x5A] else { throw bad("no ODTZ header") }
        p = 4
        guard try u16() == 1 else { throw bad("unknown version") }
        cellsPerDegree = try u16()
        guard cellsPerDegree > 0, cellsPerDegree & (cellsPerDegree - 1) == 0 else { throw bad("grid is not 2^k") }
        _ = try u16()  // sea fill distance (documentation only)
        let zoneCount = try u16()
        names = try text().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard names.count == zoneCount else { throw bad("\(names.count) names for \(zoneCount) zones") }
        source = try text()
        let nodeCount = try u32()
        guard p + nodeCount * 2 == b.count else { throw bad("node count \(nodeCount) does not match the size") }
        var nodes = [UInt16](repeating: 0, count: nodeCount)
        for i in 0..<nodeCount { nodes[i] = UInt16(b[p + 2 * i]) | UInt16(b[p + 2 * i + 1]) << 8 }
        // Each 1° cell's tree follows the previous one: walk them to find where each starts.
        var roots = [Int32](repeating: 0, count: 360 * 180)
        var at = 0
        for cell in 0..<roots.count {
            roots[cell] = Int32(at)
            var pending = 1
            while pending > 0 {
                guard at < nodeCount else { throw bad("quadtree of cell \(cell) runs past the end") }
                let node = nodes[at]
                at += 1
                pending -= 1
                if node == 0xFFFF { pending += 4 } else if Int(node) >= zoneCount {
                    throw bad("zone index \(node) out of range")
                }
            }
        }
        guard at == nodeCount else { throw bad("\(nodeCount - at) nodes after the last cell") }
        self.nodes = nodes
        self.roots = roots
    }

    /// The zone in force at a position (decimal degrees, north and east positive); nil for invalid coordinates.
    public func zone(latitude: Double, longitude: Double) -> String? {
        guard latitude.isFinite, longitude.isFinite, abs(latitude) <= 90, abs(longitude) <= 180 else { return nil }
        let n = cellsPerDegree
        let row = min(180 * n - 1, max(0, Int(((90 - latitude) * Double(n)).rounded(.down))))
        let column = min(360 * n - 1, max(0, Int(((longitude + 180) * Double(n)).rounded(.down))))
        var at = Int(roots[(row / n) * 360 + column / n])
        var (y, x, size) = (row % n, column % n, n)
        while nodes[at] == 0xFFFF {
            size /= 2
            let child = (y >= size ? 2 : 0) + (x >= size ? 1 : 0)
            if y >= size { y -= size }
            if x >= size { x -= size }
            at += 1
            for _ in 0..<child { at = skip(at) }
        }
        return names[Int(nodes[at])]
    }

    /// The index just past the subtree starting at `at`.
    private func skip(_ start: Int) -> Int {
        var at = start, pending = 1
        while pending > 0 {
            if nodes[at] == 0xFFFF { pending += 4 }
            pending -= 1
            at += 1
        }
        return at
    }
}
