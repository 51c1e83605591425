import OdinBasics

/// The outcome of placing one run's GPS locations into the registry's sites.
public struct SiteAssignment: Sendable, Equatable {
    /// Site id for each input location, in input order.
    public var siteIDs: [String]
    /// Ids created by this run.
    public var newSiteIDs: [String]
    /// Groups of registered sites that this run's points connect (each group sorted). They are **not** merged: each
    /// point joins the site with the nearest anchor, and the report asks a person to merge them explicitly.
    public var mergeCandidates: [[String]]
}

/// Places GPS locations into sites, keeping the registry's ids: run points and the registry's anchors are clustered
/// together (order-independent, `SiteClustering`); a component holding one registered site's anchors joins that site,
/// a component without anchors becomes a new site, and a component touching several registered sites is split by
/// nearest anchor and reported as a merge candidate.
public enum SiteAssigner {
    public static func assign(_ points: [GeoPoint], registry: inout SiteRegistry, run: String,
                              now: String) -> SiteAssignment {
        let active = registry.activeSites
        var combined = points
        var anchorSite: [Int] = []  // index into `active` for every anchor appended
        for (s, site) in active.enumerated() {
            for anchor in site.anchorPoints {
                combined.append(anchor)
                anchorSite.append(s)
            }
        }
        let roots = SiteClustering.components(combined, radius: registry.radiusMeters)

        var sitesOfRoot: [Int: Set<Int>] = [:]
        for (k, s) in anchorSite.enumerated() { sitesOfRoot[roots[points.count + k], default: []].insert(s) }
        var pointsOfRoot: [Int: [Int]] = [:]
        for i in 0..<points.count { pointsOfRoot[roots[i], default: []].append(i) }

        var siteIDs = [String](repeating: "", count: points.count)
        var newIDs: [String] = []
        var candidates: [[String]] = []
        var taken = Set(registry.sites.map(\.id))
        var gained: [String: [GeoPoint]] = [:]

        // Visit components in a canonical order (by smallest member) so new ids never depend on input order.
        let ordered = pointsOfRoot.values.map { members -> (GeoPoint, [Int]) in
            (members.map { points[$0] }.min(by: SiteClustering.less)!, members)
        }.sorted { SiteClustering.less($0.0, $1.0) }
        for (smallest, members) in ordered {
            let registered = sitesOfRoot[roots[members[0]]] ?? []
            if registered.count == 1 {
                let id = active[registered.first!].id
                for i in members { siteIDs[i] = id }
                gained[id, default: []].append(contentsOf: members.map { points[$0] })
            } else if registered.isEmpty {
                let id = makeSiteID(smallest, taken: taken)
                taken.insert(id)
                newIDs.append(id)
                for i in members { siteIDs[i] = id }
                gained[id, default: []].append(contentsOf: members.map { points[$0] })
            } else {
                let choices = registered.map { active[$0] }.sorted { $0.id < $1.id }
                candidates.append(choices.map(\.id))
                for i in members {
                    var best = choices[0].id
                    var bestDistance = Double.infinity
                    for site in choices {
                        for anchor in site.anchorPoints {
                            let d = Haversine.distance(points[i], anchor)
                            if d < bestDistance { bestDistance = d; best = site.id }
                        }
                    }
                    siteIDs[i] = best
                    gained[best, default: []].append(points[i])
                }
            }
        }

        for (id, members) in gained {
            if let index = registry.sites.firstIndex(where: { $0.id == id }) {
                var site = registry.sites[index]
                site.anchors = SiteAnchors.merge(site.anchorPoints + members, radius: registry.radiusMeters)
                site.pointsSeen += members.count
                site.firstRun = site.firstRun ?? run
                site.lastRun = run
                site.updatedAt = now
                if let c = Haversine.centroid(site.anchorPoints) { site.latitude = c.latitude; site.longitude = c.longitude }
                registry.sites[index] = site
            } else {
                let anchors = SiteAnchors.merge(members, radius: registry.radiusMeters)
                let c = Haversine.centroid(anchors.map { GeoPoint(latitude: $0[1], longitude: $0[0]) }) ?? members[0]
                registry.sites.append(RegisteredSite(
                    id: id, name: nil, latitude: c.latitude, longitude: c.longitude, pointsSeen: members.count,
                    anchors: anchors, firstRun: run, lastRun: run, createdAt: now, updatedAt: now, mergedInto: nil))
            }
        }
        registry.sites.sort { $0.id < $1.id }
        return SiteAssignment(siteIDs: siteIDs, newSiteIDs: newIDs.sorted(), mergeCandidates: candidates.sorted {
            $0.lexicographicallyPrecedes($1)
        })
    }

    /// `site-` + 8 hex digits of a hash of the site's first smallest point (7 decimals), re-hashed on collision.
    static func makeSiteID(_ p: GeoPoint, taken: Set<String>) -> String {
        var seed = Fixed.format(p.latitude, 7) + "," + Fixed.format(p.longitude, 7)
        while true {
            let hash = FNV1a.hash(seed)
            let hex = String(hash >> 32, radix: 16)
            let id = "site-" + String(repeating: "0", count: 8 - hex.count) + hex
            if !taken.contains(id) { return id }
            seed += "#"
        }
    }
}

/// Fixed-point decimal formatting without a locale (coordinates, confidences, durations).
public enum Fixed {
    public static func format(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let n = UInt64(scaled)
        let p = UInt64(scale)
        let whole = n / p
        var text = (value < 0 && n != 0 ? "-" : "") + "\(whole)"
        if digits > 0 {
            let frac = String(n % p)
            text += "." + String(repeating: "0", count: digits - frac.count) + frac
        }
        return text
    }

    /// Like `format`, without trailing zeros (JSON-friendly).
    public static func trimmed(_ value: Double, _ digits: Int) -> String {
        var s = format(value, digits)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and carriage returns.
    func trimmedSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
