#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A WGS84 position in decimal degrees.
public struct GeoPoint: Sendable, Hashable, Codable {
    public var latitude: Double
    public var longitude: Double

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    /// True when both coordinates are finite and inside [-90, 90] × [-180, 180].
    public var isValid: Bool {
        latitude.isFinite && longitude.isFinite && abs(latitude) <= 90 && abs(longitude) <= 180
    }
}

/// Great-circle distances on a sphere of radius 6,371,000 m (the Haversine formula, as the original project used).
public enum Haversine {
    /// Mean Earth radius in metres.
    public static let earthRadiusMeters = 6_371_000.0

    /// Haversine distance in metres between two points.
    @inlinable
    public static func distance(_ a: GeoPoint, _ b: GeoPoint) -> Double {
        distance(lat1: a.latitude, lon1: a.longitude, lat2: b.latitude, lon2: b.longitude)
    }

    @inlinable
    public static func distance(lat1: Double, lon1: Double, lat2: Double, lon2: Double) -> Double {
        let radians = Double.pi / 180
        let phi1 = lat1 * radians, phi2 = lat2 * radians
        let dPhi = (lat2 - lat1) * radians
        let dLambda = (lon2 - lon1) * radians
        let s1 = sin(dPhi / 2), s2 = sin(dLambda / 2)
        let h = min(1, s1 * s1 + cos(phi1) * cos(phi2) * s2 * s2)
        return 2 * earthRadiusMeters * asin(h.squareRoot())
    }

    /// The straight-line (chord) length, in metres, through a sphere of radius R for a great-circle distance `d`.
    /// Chord length is monotonic in great-circle distance, so it can prune candidates in 3-D space.
    @inlinable
    public static func chord(forDistance d: Double) -> Double {
        2 * earthRadiusMeters * sin(min(d, Double.pi * earthRadiusMeters) / (2 * earthRadiusMeters))
    }

    /// The point on a sphere of radius R (metres, Earth-centred): longitude wrap-around, the antimeridian and the poles
    /// need no special cases in this space.
    @inlinable
    public static func cartesian(_ p: GeoPoint) -> SIMD3<Double> {
        let radians = Double.pi / 180
        let phi = p.latitude * radians, lambda = p.longitude * radians
        let c = cos(phi)
        return SIMD3(earthRadiusMeters * c * cos(lambda), earthRadiusMeters * c * sin(lambda),
                     earthRadiusMeters * sin(phi))
    }

    /// The latitude/longitude of a (non-zero) Earth-centred vector; used for centroids.
    public static func geoPoint(_ v: SIMD3<Double>) -> GeoPoint {
        let degrees = 180 / Double.pi
        let horizontal = (v.x * v.x + v.y * v.y).squareRoot()
        return GeoPoint(latitude: atan2(v.z, horizontal) * degrees, longitude: atan2(v.y, v.x) * degrees)
    }

    /// The spherical centroid of points (mean of their 3-D vectors, projected back): correct across the antimeridian,
    /// unlike an arithmetic mean of longitudes.
    public static func centroid(_ points: some Sequence<GeoPoint>) -> GeoPoint? {
        var sum = SIMD3<Double>(0, 0, 0)
        var count = 0
        for p in points {
            sum += cartesian(p)
            count += 1
        }
        guard count > 0, (sum * sum).sum() > 0 else { return nil }
        return geoPoint(sum)
    }
}
