/// Order-independent clustering of GPS points into sites: the connected components of the graph whose edges join
/// points at most `radius` metres apart (Haversine, `<=` joins). This equals DBSCAN with `min_samples = 1`.
///
/// How it stays fast without comparing all pairs:
/// - points are placed on the Earth-centred 3-D grid (`Haversine.cartesian`), so longitude scaling, the antimeridian
///   and the poles need no special cases;
/// - the cell side is the chord for `radius` divided by √3 (slightly shrunk), so any two points in one cell are
///   certainly within `radius`: every cell is united without distance checks;
/// - a pair within `radius` is at most two cells apart on each axis, so only the 5×5×5 neighbourhood is scanned, and a
///   neighbouring cell already in the same component is skipped; otherwise pairs are tested with the exact Haversine
///   distance and the scan of that cell pair stops at the first joining pair.
/// The partition depends only on the set of points, never on their order (components of a fixed graph).
public enum SiteClustering {
    /// Cluster labels, one per input point, in input order. Labels are `0..<k`, numbered in a canonical order
    /// (clusters ordered by their smallest member, comparing latitude then longitude), so the same set of points
    /// always gets the same labels whatever the input order.
    /// - Precondition: `radius > 0` and every point `isValid` (callers validate input and report bad rows).
    public static func labels(for points: [GeoPoint], radius: Double) -> [Int] {
        let roots = components(points, radius: radius)
        return canonicalLabels(points: points, roots: roots)
    }

    /// The component root of every point (an index into `points`).
    public static func components(_ points: [GeoPoint], radius: Double) -> [Int] {
        precondition(radius > 0, "radius must be positive")
        let n = points.count
        var sets = UnionFind(count: n)
        guard n > 1 else { return (0..<n).map { _ in 0 } }

        let chord = Haversine.chord(forDistance: radius)
        let side = chord / 3.0.squareRoot() * (1 - 1e-9)
        let xyz = points.map { Haversine.cartesian($0) }

        // Sort point indices by cell so each cell is a contiguous range.
        var cellOf = [Cell](repeating: Cell(x: 0, y: 0, z: 0), count: n)
        for i in 0..<n {
            let v = xyz[i] / side
            cellOf[i] = Cell(x: Int32(v.x.rounded(.down)), y: Int32(v.y.rounded(.down)), z: Int32(v.z.rounded(.down)))
        }
        var order = Array(0..<n)
        order.sort { cellOf[$0] < cellOf[$1] }
        var ranges: [Cell: Range<Int>] = [:]
        var start = 0
        while start < n {
            let cell = cellOf[order[start]]
            var end = start + 1
            while end < n && cellOf[order[end]] == cell { end += 1 }
            ranges[cell] = start..<end
            // Everything in one cell is within radius: unite without measuring.
            for k in (start + 1)..<end { sets.union(order[start], order[k]) }
            start = end
        }

        // Forward half of the 5×5×5 neighbourhood (each unordered cell pair is visited once).
        var offsets: [(Int32, Int32, Int32)] = []
        for dx in Int32(-2)...2 {
            for dy in Int32(-2)...2 {
                for dz in Int32(-2)...2 where (dx, dy, dz) > (0, 0, 0) {
                    offsets.append((dx, dy, dz))
                }
            }
        }
        let prune = chord * chord * (1 + 1e-9)
        for (cell, range) in ranges {
            for (dx, dy, dz) in offsets {
                let other = Cell(x: cell.x &+ dx, y: cell.y &+ dy, z: cell.z &+ dz)
                guard let otherRange = ranges[other] else { continue }
                if sets.find(order[range.lowerBound]) == sets.find(order[otherRange.lowerBound]) { continue }
                search: for a in range {
                    let i = order[a]
                    for b in otherRange {
                        let j = order[b]
                        let d = xyz[i] - xyz[j]
                        guard (d * d).sum() <= prune else { continue }
                        if Haversine.distance(points[i], points[j]) <= radius {
                            sets.union(i, j)
                            break search
                        }
                    }
                }
            }
        }
        return (0..<n).map { sets.find($0) }
    }

    /// Numbers components `0..<k` by their smallest member (latitude, then longitude).
    static func canonicalLabels(points: [GeoPoint], roots: [Int]) -> [Int] {
        var smallest: [Int: Int] = [:]
        for (i, root) in roots.enumerated() {
            if let current = smallest[root] {
                if less(points[i], points[current]) { smallest[root] = i }
            } else {
                smallest[root] = i
            }
        }
        let ordered = smallest.sorted { less(points[$0.value], points[$1.value]) }
        var label: [Int: Int] = [:]
        for (k, entry) in ordered.enumerated() { label[entry.key] = k }
        return roots.map { label[$0]! }
    }

    @inline(__always)
    static func less(_ a: GeoPoint, _ b: GeoPoint) -> Bool {
        a.latitude != b.latitude ? a.latitude < b.latitude : a.longitude < b.longitude
    }
}

struct Cell: Hashable, Comparable {
    var x: Int32, y: Int32, z: Int32
    static func < (a: Cell, b: Cell) -> Bool { (a.x, a.y, a.z) < (b.x, b.y, b.z) }
}

/// Disjoint sets with path halving and union by size.
struct UnionFind {
    private var parent: [Int]
    private var size: [Int]

    init(count: Int) {
        parent = Array(0..<count)
        size = Array(repeating: 1, count: count)
    }

    mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }

    mutating func union(_ a: Int, _ b: Int) {
        var ra = find(a), rb = find(b)
        guard ra != rb else { return }
        if size[ra] < size[rb] { swap(&ra, &rb) }
        parent[rb] = ra
        size[ra] += size[rb]
    }
}
