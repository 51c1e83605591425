import FoundationEssentials
import OdinBasics
import OdinKit

/// One site in the persistent registry. Ids never change once given; names are given by people.
public struct RegisteredSite: Codable, Sendable, Equatable {
    /// Stable id, derived once from the site's first content (`site-` + 8 hex digits) and then kept forever.
    public var id: String
    /// Human-given name (`odin sites name SITE NAME` or a names file); nil until named.
    public var name: String?
    /// Spherical centroid of the anchors (decimal degrees).
    public var latitude: Double
    public var longitude: Double
    /// Distinct GPS locations assigned to the site, summed over runs (a location seen in two runs counts twice).
    public var pointsSeen: Int
    /// Representative members, `[longitude, latitude]`: at most one per grid cell of side radius/√3, so the registry
    /// grows with the area a site covers, not with the number of detections. A new point joins the site when it is
    /// within the radius of an anchor (or chained to one through other new points).
    public var anchors: [[Double]]
    public var firstRun: String?
    public var lastRun: String?
    public var createdAt: String
    public var updatedAt: String
    /// Set when the site was merged into another (`odin sites merge`); the id keeps resolving to the target.
    public var mergedInto: String?

    enum CodingKeys: String, CodingKey {
        case id, name, latitude, longitude, anchors
        case pointsSeen = "points_seen"
        case firstRun = "first_run"
        case lastRun = "last_run"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case mergedInto = "merged_into"
    }

    /// The name to show: the human-given one, or a stable placeholder built from the id (never a list position).
    public var displayName: String { name ?? "Unnamed \(id)" }

    public var center: GeoPoint { GeoPoint(latitude: latitude, longitude: longitude) }

    var anchorPoints: [GeoPoint] { anchors.map { GeoPoint(latitude: $0[1], longitude: $0[0]) } }
}

/// The registry document (`StoreLayout.siteRegistryKey`, JSON).
public struct SiteRegistry: Codable, Sendable, Equatable {
    public var formatVersion = 1
    /// The radius the sites were built with; a run with another radius is refused (it would redefine sites).
    public var radiusMeters: Double
    /// Sorted by id.
    public var sites: [RegisteredSite]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case radiusMeters = "radius_meters"
        case sites
    }

    public init(radiusMeters: Double, sites: [RegisteredSite] = []) {
        self.radiusMeters = radiusMeters
        self.sites = sites.sorted { $0.id < $1.id }
    }

    /// The live site an id refers to, following merges.
    public func resolve(_ id: String) -> RegisteredSite? {
        var current = id
        for _ in 0...sites.count {
            guard let site = sites.first(where: { $0.id == current }) else { return nil }
            guard let next = site.mergedInto else { return site }
            current = next
        }
        return nil
    }

    /// Sites that have not been merged away.
    public var activeSites: [RegisteredSite] { sites.filter { $0.mergedInto == nil } }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8], source: String) throws(HuginError) -> SiteRegistry {
        do {
            return try JSONDecoder().decode(SiteRegistry.self, from: Data(bytes))
        } catch {
            throw HuginError(.registry, "site registry \(source) is not valid JSON of format_version 1: \(error)")
        }
    }
}

/// Where the registry lives. The object-store binding is `ObjectStoreSiteRegistryStore`; an AWS binding can keep
/// the same document in DynamoDB with a conditional write on `token`.
public protocol SiteRegistryStore: Sendable {
    /// The registry and an opaque version token (nil registry and token when none exists yet).
    func load() throws -> (registry: SiteRegistry?, token: String?)
    /// Saves `registry` if the stored version is still `token` (nil: only if none exists); otherwise throws a
    /// `HuginError` of kind `.registry` saying another writer won and the command should be retried.
    func save(_ registry: SiteRegistry, replacing token: String?) throws
}

/// The registry as one JSON object in an `ObjectStore` (`state/sites.json`).
/// The version check compares the object's ETag before writing; with S3 that check and the write are two calls, so
/// two writers racing within that window can still lose an update (condensations of one deployment run one at a time;
/// a DynamoDB binding closes the window with a conditional write).
public struct ObjectStoreSiteRegistryStore: SiteRegistryStore {
    public let store: any ObjectStore
    public let key: String

    public init(store: any ObjectStore, key: String = StoreLayout.siteRegistryKey) {
        self.store = store
        self.key = key
    }

    public func load() throws -> (registry: SiteRegistry?, token: String?) {
        // Listed first (as RunPriority.current does): S3 answers a HEAD of a missing key with 403, not 404, to a role
        // whose s3:ListBucket is limited by prefix (the Hugin job role's is), which would read as an error.
        guard try store.list(prefix: key).contains(where: { $0.key == key }),
              let info = try store.head(key) else { return (nil, nil) }
        let bytes = try store.get(key)
        return (try SiteRegistry.decode(bytes, source: "\(store.rootURI)/\(key)"), info.eTag ?? "\(info.size)")
    }

    public func save(_ registry: SiteRegistry, replacing token: String?) throws {
        let bytes = try registry.encoded()
        if let token {
            let current = try store.head(key)
            guard current.map({ $0.eTag ?? "\($0.size)" }) == token else {
                throw HuginError(.registry, "site registry \(store.rootURI)/\(key) changed while this command ran; "
                                 + "run it again")
            }
            try store.put(key, bytes: bytes, ifAbsent: false)
        } else {
            do {
                try store.put(key, bytes: bytes, ifAbsent: true)
            } catch let error as ObjectStoreError where error.kind == .preconditionFailed {
                throw HuginError(.registry, "site registry \(store.rootURI)/\(key) was created by another writer "
                                 + "while this command ran; run it again")
            }
        }
    }
}

// MARK: - Human operations (`odin sites list|name|merge`)

/// The registry operations people run. Every change is explicit and saved at once.
public struct SiteRegistryService: Sendable {
    public let store: any SiteRegistryStore
    public let clock: any WallClock

    public init(store: any SiteRegistryStore, clock: any WallClock = SystemClock()) {
        self.store = store
        self.clock = clock
    }

    /// Every site (merged ones too, with `mergedInto` set), sorted by id. Empty when no registry exists.
    public func list() throws -> [RegisteredSite] {
        try store.load().registry?.sites ?? []
    }

    /// Names a site (following merges); an empty name removes the name. Returns the updated site.
    @discardableResult
    public func name(site id: String, as name: String) throws -> RegisteredSite {
        try update { registry in
            guard let target = registry.resolve(id) else { throw Self.unknown(id, registry) }
            let index = registry.sites.firstIndex { $0.id == target.id }!
            let trimmed = name.trimmedSpaces()
            registry.sites[index].name = trimmed.isEmpty ? nil : trimmed
            registry.sites[index].updatedAt = Timestamp.format(clock.now().timeIntervalSince1970)
            return registry.sites[index]
        }
    }

    /// Applies a names file (`SiteNames.parse`): every id must exist, or nothing is changed.
    public func applyNames(_ names: [String: String]) throws {
        try update { registry in
            for id in names.keys.sorted() where registry.resolve(id) == nil { throw Self.unknown(id, registry) }
            let now = Timestamp.format(clock.now().timeIntervalSince1970)
            for (id, name) in names.sorted(by: { $0.key < $1.key }) {
                let target = registry.resolve(id)!.id
                let index = registry.sites.firstIndex { $0.id == target }!
                registry.sites[index].name = name.isEmpty ? nil : name
                registry.sites[index].updatedAt = now
            }
        }
    }

    /// Merges `source` into `target`: the target keeps its id and name (or takes the source's name when it has
    /// none), gains the source's anchors, and `source` becomes an alias of `target`. Returns the merged site.
    @discardableResult
    public func merge(_ source: String, into target: String) throws -> RegisteredSite {
        try update { registry in
            guard let from = registry.resolve(source) else { throw Self.unknown(source, registry) }
            guard let into = registry.resolve(target) else { throw Self.unknown(target, registry) }
            guard from.id != into.id else {
                throw HuginError(.invalidInput, "sites \(source) and \(target) are already the same site (\(into.id))")
            }
            let now = Timestamp.format(clock.now().timeIntervalSince1970)
            let fromIndex = registry.sites.firstIndex { $0.id == from.id }!
            let intoIndex = registry.sites.firstIndex { $0.id == into.id }!
            var merged = registry.sites[intoIndex]
            merged.name = merged.name ?? from.name
            merged.anchors = SiteAnchors.merge(merged.anchorPoints + from.anchorPoints,
                                               radius: registry.radiusMeters)
            merged.pointsSeen += from.pointsSeen
            if let c = Haversine.centroid(merged.anchorPoints) { merged.latitude = c.latitude; merged.longitude = c.longitude }
            merged.updatedAt = now
            registry.sites[intoIndex] = merged
            registry.sites[fromIndex].mergedInto = merged.id
            registry.sites[fromIndex].anchors = []
            registry.sites[fromIndex].updatedAt = now
            return merged
        }
    }

    private func update<T>(_ body: (inout SiteRegistry) throws -> T) throws -> T {
        let (loaded, token) = try store.load()
        guard var registry = loaded else {
            throw HuginError(.unknownSite, "no site registry exists yet; run a condensation first")
        }
        let result = try body(&registry)
        try store.save(registry, replacing: token)
        return result
    }

    static func unknown(_ id: String, _ registry: SiteRegistry) -> HuginError {
        let known = registry.activeSites.prefix(5).map(\.id).joined(separator: ", ")
        return HuginError(.unknownSite, "unknown site id '\(id)'; `sites list` shows the ids"
                          + (known.isEmpty ? "" : " (e.g. \(known))"))
    }
}

/// Reads a names file: a YAML mapping of site id to name, optionally under a `site_names:` (or the original
/// project's `cluster_names:`) key. Only this flat shape is accepted; anything else is an error naming the line.
public enum SiteNames {
    public static func parse(_ text: String) throws(HuginError) -> [String: String] {
        var names: [String: String] = [:]
        var nested = false
        for (number, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") && !line[..<hash].contains("'") {
                line = line[..<hash]
            }
            let indented = line.first == " " || line.first == "\t"
            let content = line.trimmedSpaces()
            if content.isEmpty || content == "---" { continue }
            if !indented && (content == "site_names:" || content == "cluster_names:") {
                nested = true
                continue
            }
            if nested && !indented {
                throw HuginError(.invalidInput, "names file line \(number + 1): expected an indented `site-id: name`")
            }
            guard let colon = content.firstIndex(of: ":") else {
                throw HuginError(.invalidInput, "names file line \(number + 1): expected `site-id: name`, got \(content)")
            }
            let key = unquote(content[..<colon].trimmedSpaces())
            let value = unquote(content[content.index(after: colon)...].trimmedSpaces())
            guard !key.isEmpty else {
                throw HuginError(.invalidInput, "names file line \(number + 1): empty site id")
            }
            names[key] = value
        }
        return names
    }

    static func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, let l = s.last, f == l, f == "\"" || f == "'" {
            return String(s.dropFirst().dropLast())
        }
        return s
    }
}

/// Anchor thinning: keeps one representative per grid cell (side radius/√3 on the Earth-centred grid).
enum SiteAnchors {
    static func merge(_ points: [GeoPoint], radius: Double) -> [[Double]] {
        let side = Haversine.chord(forDistance: radius) / 3.0.squareRoot()
        var best: [Cell: GeoPoint] = [:]
        for p in points {
            let v = Haversine.cartesian(p) / side
            let cell = Cell(x: Int32(v.x.rounded(.down)), y: Int32(v.y.rounded(.down)), z: Int32(v.z.rounded(.down)))
            if let current = best[cell], !SiteClustering.less(p, current) { continue }
            best[cell] = p
        }
        return best.values.sorted(by: SiteClustering.less).map { [$0.longitude, $0.latitude] }
    }
}
