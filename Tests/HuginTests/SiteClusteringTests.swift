import OdinBasics
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import Hugin

@Suite struct SiteClusteringTests {
    /// A point `meters` east of `p` along its parallel (small distances).
    func east(_ p: GeoPoint, _ meters: Double) -> GeoPoint {
        let dLon = meters / (Haversine.earthRadiusMeters * cos(p.latitude * .pi / 180)) * 180 / .pi
        var lon = p.longitude + dLon
        if lon > 180 { lon -= 360 }
        return GeoPoint(latitude: p.latitude, longitude: lon)
    }

    func jittered(sites: Int, perSite: Int, jitterMeters: Double, seed: UInt64) -> [GeoPoint] {
        var rng = SplitMix64(seed: seed)
        var points: [GeoPoint] = []
        for s in 0..<sites {
            let center = GeoPoint(latitude: 55 + Double(s % 20) * 0.01, longitude: 12 + Double(s / 20) * 0.01)
            for _ in 0..<perSite {
                let dx = (rng.unit() * 2 - 1) * jitterMeters, dy = (rng.unit() * 2 - 1) * jitterMeters
                let p = east(center, dx)
                points.append(GeoPoint(latitude: p.latitude + dy / Haversine.earthRadiusMeters * 180 / .pi,
                                       longitude: p.longitude))
            }
        }
        return points
    }

    /// All-pairs reference: connected components with `<=` radius.
    func bruteForce(_ points: [GeoPoint], radius: Double) -> [Int] {
        var sets = UnionFind(count: points.count)
        for i in 0..<points.count {
            for j in (i + 1)..<points.count where Haversine.distance(points[i], points[j]) <= radius {
                sets.union(i, j)
            }
        }
        return SiteClustering.canonicalLabels(points: points, roots: (0..<points.count).map { sets.find($0) })
    }

    @Test func shuffledInputGivesIdenticalSites() {
        let points = jittered(sites: 12, perSite: 40, jitterMeters: 3, seed: 7)
        let reference = SiteClustering.labels(for: points, radius: 5)
        var byPoint: [GeoPoint: Int] = [:]
        for (p, l) in zip(points, reference) { byPoint[p] = l }
        var rng = SplitMix64(seed: 99)
        for _ in 0..<20 {
            var shuffled = points
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
                shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            let labels = SiteClustering.labels(for: shuffled, radius: 5)
            for (p, l) in zip(shuffled, labels) { #expect(byPoint[p] == l) }
        }
    }

    @Test func matchesAllPairsReference() {
        for (seed, jitter) in [(1 as UInt64, 2.0), (2, 4.0), (3, 8.0), (4, 15.0)] {
            let points = jittered(sites: 6, perSite: 60, jitterMeters: jitter, seed: seed)
            #expect(SiteClustering.labels(for: points, radius: 5) == bruteForce(points, radius: 5))
        }
    }

    @Test func pointsExactlyAtTheRadiusJoin() {
        let a = GeoPoint(latitude: 0, longitude: 10)
        let b = GeoPoint(latitude: 0, longitude: 10.00004)
        let d = Haversine.distance(a, b)
        #expect(SiteClustering.labels(for: [a, b], radius: d) == [0, 0])
        #expect(SiteClustering.labels(for: [a, b], radius: d.nextDown) == [0, 1])
    }

    @Test func chainsJoinTransitively() {
        var chain = [GeoPoint(latitude: 59, longitude: 18)]
        for _ in 0..<30 { chain.append(east(chain.last!, 4.5)) }
        #expect(Set(SiteClustering.labels(for: chain, radius: 5)) == [0])
        var spaced = [GeoPoint(latitude: 59, longitude: 18)]
        for _ in 0..<10 { spaced.append(east(spaced.last!, 5.5)) }
        #expect(SiteClustering.labels(for: spaced, radius: 5) == Array(0...10))
    }

    @Test func antimeridianAndPoles() {
        // 1.1 m apart across the antimeridian.
        let west = GeoPoint(latitude: 0, longitude: 179.999995), eastSide = GeoPoint(latitude: 0, longitude: -179.999995)
        #expect(Haversine.distance(west, eastSide) < 2)
        #expect(SiteClustering.labels(for: [west, eastSide], radius: 5) == [0, 0])
        // Near the north pole, opposite longitudes are about 2.2 m apart.
        let p1 = GeoPoint(latitude: 89.99999, longitude: 0), p2 = GeoPoint(latitude: 89.99999, longitude: 180)
        let p3 = GeoPoint(latitude: 89.99999, longitude: 90)
        #expect(SiteClustering.labels(for: [p1, p2, p3], radius: 5) == [0, 0, 0])
        // And the pole itself with a point 3 m away on any meridian.
        let pole = GeoPoint(latitude: 90, longitude: 0)
        let near = GeoPoint(latitude: 90 - 3 / Haversine.earthRadiusMeters * 180 / .pi, longitude: -123)
        #expect(SiteClustering.labels(for: [pole, near], radius: 5) == [0, 0])
        let south = GeoPoint(latitude: -89.99999, longitude: 45), south2 = GeoPoint(latitude: -89.99999, longitude: -135)
        #expect(SiteClustering.labels(for: [south, south2, west], radius: 5) == [0, 0, 1])
    }

    @Test func emptyAndSingle() {
        #expect(SiteClustering.labels(for: [], radius: 5) == [])
        #expect(SiteClustering.labels(for: [GeoPoint(latitude: 1, longitude: 2)], radius: 5) == [0])
    }

    @Test func pointsCSVParsingNamesBadLines() throws {
        let points = try PointClustering.parse("id,Latitude,Longitude\na,59.1,18.2\r\nb,\"59.2\",18.3\n\n")
        #expect(points == [GeoPoint(latitude: 59.1, longitude: 18.2), GeoPoint(latitude: 59.2, longitude: 18.3)])
        #expect(throws: HuginError.self) { try PointClustering.parse("lat,lon\n59.1,abc\n") }
        do {
            _ = try PointClustering.parse("lat,lon\n1,2\n95,2\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("line 3"))
        }
        #expect(throws: HuginError.self) { try PointClustering.parse("x,y\n1,2\n") }
        let result = try PointClustering.cluster(points, radius: 5)
        #expect(PointClustering.labelsCSV(result) == "site\n0\n1\n")
    }
}
