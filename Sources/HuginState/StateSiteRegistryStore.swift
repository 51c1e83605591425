import FoundationEssentials
public import Hugin
public import Odin
public import OdinKit
import OdinAWS

/// The site registry as one item of the state store (DynamoDB on AWS: item `sites|registry` of the state table),
/// written with a conditional put on its version, so two condensations racing can never lose an update: the loser
/// gets a `.registry` error and runs again. The registry JSON is one string attribute; DynamoDB items are limited to
/// 400 KB, so a registry above 350 KB is refused with a message (use the object-store registry for such deployments).
public struct StateSiteRegistryStore: SiteRegistryStore {
    public static let key = StateKey("sites", "registry")
    public static let maxBytes = 350_000

    public let state: any StateStore

    public init(state: any StateStore) {
        self.state = state
    }

    public func load() throws -> (registry: SiteRegistry?, token: String?) {
        guard let item = try state.get(Self.key) else { return (nil, nil) }
        guard let json = item["json"]?.stringValue, let version = item["version"]?.intValue else {
            throw HuginError(.registry, "state item \(Self.key) has no json/version attributes; it was not written by hugin")
        }
        return (try SiteRegistry.decode(Array(json.utf8), source: "state \(Self.key)"), String(version))
    }

    public func save(_ registry: SiteRegistry, replacing token: String?) throws {
        let bytes = try registry.encoded()
        guard bytes.count <= Self.maxBytes else {
            throw HuginError(.registry, "the site registry is \(bytes.count) bytes, above the \(Self.maxBytes)-byte "
                             + "limit of one state item; keep it in the object store instead (--registry store)")
        }
        let previous = token.flatMap { Int64($0) }
        var item = StateItem(key: Self.key)
        item.attributes["json"] = .string(String(decoding: bytes, as: UTF8.self))
        item.attributes["version"] = .int((previous ?? 0) + 1)
        let condition: WriteCondition = previous.map { .equals("version", .int($0)) } ?? .itemAbsent
        do {
            try state.put(item, condition: condition)
        } catch let error as StateStoreError where error.kind == .conditionFailed {
            throw HuginError(.registry, "the site registry changed while this command ran (another writer won); "
                             + "run it again")
        }
    }
}

/// Where a command finds the site registry: the deployed state table when there is one (`state`: the state store of
/// `ODIN_TABLE`, which the Hugin job definition and the functions get; set it for `odin sites` against a stack), else
/// `state/sites.json` in the object store (a folder, `file://` or `s3://`; only opened when there is no table).
public enum SiteRegistries {
    public static func open(state: (any StateStore)?, store: () throws -> any ObjectStore) throws
        -> any SiteRegistryStore
    {
        if let state { return StateSiteRegistryStore(state: state) }
        return ObjectStoreSiteRegistryStore(store: try store())
    }

    /// The site registry as the Hugin job and the `hugin` and `odin` commands open it: the state table when
    /// `ODIN_TABLE` is set in `environment`, else `state/sites.json` in the store at `storeURI` (a folder, `file://`
    /// or `s3://BUCKET[/prefix]`, opened through the AWS binding with the environment's region and credentials).
    public static func open(storeURI: String, environment: [String: String]) throws -> any SiteRegistryStore {
        try open(state: try DynamoStateStore.fromEnvironment(environment)) {
            try ObjectStores.open(uri: storeURI, environment: environment)
        }
    }
}
