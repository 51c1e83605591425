import FoundationEssentials
import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Synchronization

/// The simulator's state-store binding: `InMemoryStateStore` for everything, except that object-version dedup items
/// (`obj#…` partitions — one per uploaded object, only ever created and read by the ingest logic) are kept compactly
/// as a 128-bit key hash → (seenAt, expiresAt), so a season of millions of uploads fits in memory. Same semantics
/// (conditions, TTL) as the other bindings; any other operation on such an item moves it to the general store first.
public final class SimulationStateStore: StateStore {
    struct Hash: Hashable {
        var a: UInt64
        var b: UInt64
    }

    public let base: InMemoryStateStore
    private let clock: any WallClock
    private let dedup: Mutex<[Hash: (seenAt: Int64, expiresAt: Int64?)]>
    /// Set once any dedup item moved to the general store (then puts must look there too).
    private let anyMaterialized = Mutex(false)

    /// - Parameter expectedObjects: uploads the season will make (sizes the dedup table once instead of regrowing).
    public init(clock: any WallClock, expectedObjects: Int = 1 << 16) {
        self.clock = clock
        base = InMemoryStateStore(clock: clock)
        var table: [Hash: (seenAt: Int64, expiresAt: Int64?)] = [:]
        table.reserveCapacity(min(max(expectedObjects, 1 << 16), 1 << 26))
        dedup = Mutex(table)
    }

    static func isDedup(_ key: StateKey) -> Bool {
        var bytes = key.partition.utf8.makeIterator()
        return bytes.next() == UInt8(ascii: "o") && bytes.next() == UInt8(ascii: "b") &&
            bytes.next() == UInt8(ascii: "j") && bytes.next() == UInt8(ascii: "#")
    }

    static func hash(_ key: StateKey) -> Hash {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x84222325_cbf29ce4
        func mix(_ byte: UInt8) {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 ^ (b >> 29)
        }
        for byte in key.partition.utf8 { mix(byte) }
        mix(0)
        for byte in key.sort.utf8 { mix(byte) }
        return Hash(a: a, b: b)
    }

    private var now: Int64 { Int64(clock.now().timeIntervalSince1970) }

    /// A compact item as a StateItem (nil when absent or expired).
    private func compact(_ key: StateKey, hash: Hash? = nil) -> StateItem? {
        let now = now
        let hash = hash ?? Self.hash(key)
        guard let entry = dedup.withLock({ $0[hash] }) else { return nil }
        if let expires = entry.expiresAt, expires <= now { return nil }
        return StateItem(key: key, attributes: ["seenAt": .int(entry.seenAt)], expiresAt: entry.expiresAt)
    }

    /// Moves a compact item into the general store (before an operation the compact form cannot express).
    private func materialize(_ key: StateKey) throws {
        guard Self.isDedup(key) else { return }
        if let item = compact(key) {
            anyMaterialized.withLock { $0 = true }
            try base.put(item, condition: .always)
        }
        _ = dedup.withLock { $0.removeValue(forKey: Self.hash(key)) }
    }

    public func get(_ key: StateKey) throws -> StateItem? {
        if Self.isDedup(key), let item = compact(key) { return item }
        return try base.get(key)
    }

    public func put(_ item: StateItem, condition: WriteCondition) throws {
        let key = item.key
        let materialized = anyMaterialized.withLock { $0 }
        let inBase = materialized ? try base.get(key) != nil : false
        guard Self.isDedup(key), item.attributes.count == 1, let seen = item.attributes["seenAt"]?.intValue,
              !inBase else {
            try materialize(key)
            try base.put(item, condition: condition)
            return
        }
        let hash = Self.hash(key)
        guard condition.holds(for: compact(key, hash: hash)) else {
            throw StateStoreError(.conditionFailed, key: key.description, "condition \(condition) does not hold")
        }
        dedup.withLock { $0[hash] = (seen, item.expiresAt) }
    }

    public func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                       condition: WriteCondition) throws -> StateItem {
        try materialize(key)
        return try base.update(key, set: set, remove: remove, expiresAt: expiresAt, condition: condition)
    }

    public func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
        try materialize(key)
        return try base.add(key, counters: counters, set: set)
    }

    public func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
        try materialize(key)
        return try base.delete(key, condition: condition)
    }

    public func query(partition: String, sortPrefix: String) throws -> [StateItem] {
        guard partition.hasPrefix("obj#") else { return try base.query(partition: partition, sortPrefix: sortPrefix) }
        // Compact items cannot be enumerated by partition; the control logic never queries dedup partitions.
        throw StateStoreError(.io, key: partition, "the simulator's state store does not enumerate dedup partitions")
    }

    /// Compact dedup puts are checked first, the rest is one transaction of the general store, then the compact items
    /// are recorded (the simulator drives the logic from one thread, so nothing interleaves between the steps).
    public func transact(_ writes: [StateWrite]) throws {
        var compacted: [(Hash, Int64, Int64?)] = []
        var rest: [StateWrite] = []
        let materialized = anyMaterialized.withLock { $0 }
        for write in writes {
            if case .put(let item, let condition) = write, Self.isDedup(item.key), !materialized,
               item.attributes.count == 1, let seen = item.attributes["seenAt"]?.intValue {
                let hash = Self.hash(item.key)
                guard condition.holds(for: compact(item.key, hash: hash)) else {
                    throw StateStoreError(.conditionFailed, key: item.key.description,
                                          "condition \(condition) does not hold")
                }
                compacted.append((hash, seen, item.expiresAt))
            } else {
                try materialize(write.key)
                rest.append(write)
            }
        }
        if rest.count == 1, case .put(let item, let condition) = rest[0] {
            // A transaction of one put is that put (ingest's pending item beside its compact dedup item).
            try base.put(item, condition: condition)
        } else if !rest.isEmpty {
            try base.transact(rest)
        }
        dedup.withLock { table in for (hash, seen, expires) in compacted { table[hash] = (seen, expires) } }
    }

    /// Number of compact dedup items (for tests).
    public var dedupCount: Int { dedup.withLock { $0.count } }

    /// Every item of the general store (compact dedup items are counted by `dedupCount`).
    public func snapshot() -> [StateItem] { base.snapshot() }
}
