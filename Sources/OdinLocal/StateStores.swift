import FoundationEssentials
import Odin
import OdinKit
import OdinBasics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The transitions every state-store binding applies, given the current item (shared by the local bindings so the
/// condition semantics are identical to the DynamoDB expressions documented on `StateStore`).
enum StateTransitions {
    /// DynamoDB rejects a partition key over 2,048 bytes or a sort key over 1,024 bytes (ValidationException); the
    /// local stores do too, so a key the table would refuse fails here as well.
    static func checkLimits(_ key: StateKey) throws {
        if key.partition.utf8.count > Schema.partitionKeyLimit || key.sort.utf8.count > Schema.sortKeyLimit {
            throw StateStoreError(.io, key: String(key.description.prefix(80)) + "…",
                                  "key exceeds DynamoDB's limits (partition key \(key.partition.utf8.count) of \(Schema.partitionKeyLimit) bytes, sort key \(key.sort.utf8.count) of \(Schema.sortKeyLimit))")
        }
    }

    static func put(_ current: StateItem?, _ item: StateItem, _ condition: WriteCondition) throws -> StateItem {
        try checkLimits(item.key)
        guard condition.holds(for: current) else { throw failed(item.key, condition) }
        return item
    }

    static func update(_ current: StateItem?, key: StateKey, set: [String: StateValue], remove: [String],
                       expiresAt: Int64?, condition: WriteCondition) throws -> StateItem {
        try checkLimits(key)
        guard condition.holds(for: current) else { throw failed(key, condition) }
        var item = current ?? StateItem(key: key)
        for (name, value) in set { item.attributes[name] = value }
        for name in remove { item.attributes[name] = nil }
        if let expiresAt { item.expiresAt = expiresAt }
        return item
    }

    static func add(_ current: StateItem?, key: StateKey, counters: [String: Int64],
                    set: [String: StateValue]) throws -> (StateItem, [String: Int64]) {
        try checkLimits(key)
        var item = current ?? StateItem(key: key)
        var result: [String: Int64] = [:]
        for (name, delta) in counters {
            let old = item.attributes[name]?.intValue ?? 0
            item.attributes[name] = .int(old + delta)
            result[name] = old + delta
        }
        for (name, value) in set { item.attributes[name] = value }
        for (name, value) in item.attributes where result[name] == nil {
            if case .int(let number) = value { result[name] = number }
        }
        return (item, result)
    }

    /// The items a transaction leaves (nil: deleted), in `writes` order, given the current ones; throws
    /// `.conditionFailed` (nothing applied) when a condition does not hold.
    static func transact(_ writes: [StateWrite], current: (StateKey) throws -> StateItem?) throws -> [(StateKey, StateItem?)] {
        var seen = Set<StateKey>()
        for write in writes where !seen.insert(write.key).inserted {
            throw StateStoreError(.io, key: write.key.description, "a transaction writes the item twice")
        }
        return try writes.map { write -> (StateKey, StateItem?) in
            let item = try current(write.key)
            switch write {
            case .put(let next, let condition): return (next.key, try put(item, next, condition))
            case .add(let key, let counters, let set): return (key, try add(item, key: key, counters: counters, set: set).0)
            case .delete(let key, let condition):
                guard condition.holds(for: item) else { throw failed(key, condition) }
                return (key, nil)
            }
        }
    }

    static func failed(_ key: StateKey, _ condition: WriteCondition) -> StateStoreError {
        StateStoreError(.conditionFailed, key: key.description, "condition \(condition) does not hold")
    }

    static func live(_ item: StateItem?, now: Int64) -> StateItem? {
        guard let item else { return nil }
        if let expires = item.expiresAt, expires <= now { return nil }
        return item
    }
}

/// An in-memory state store (tests, the simulator, benchmarks). Thread-safe; same semantics as the others.
public final class InMemoryStateStore: StateStore {
    /// One partition: its items by sort key, and the sort keys in byte order for `query`. Keys mostly arrive in
    /// ascending order (object keys of a dump, padded chunk markers), so the order is kept by appending; an insert
    /// out of order or a delete before the end only marks it stale, and the next query sorts once (instead of every
    /// query sorting the partition, which dominated the simulator's sealing).
    struct Partition {
        var items: [Bytes: StateItem] = [:]
        /// When `ordered`: every key of `items` ascending by bytes, plus up to `stale` keys deleted since (left in
        /// place and dropped by the next query, so deleting a partition front to back costs no re-sort).
        var order: [Bytes] = []
        var ordered = true
        var stale = 0

        mutating func set(_ sort: Bytes, _ item: StateItem) {
            guard items.updateValue(item, forKey: sort) == nil, ordered else { return }
            // A key above the last one is not in `order` (not even as a stale entry): append it.
            if let last = order.last, !(last < sort) { ordered = false } else { order.append(sort) }
        }

        mutating func remove(_ sort: Bytes) {
            guard items.removeValue(forKey: sort) != nil else { return }
            if items.isEmpty {
                order.removeAll(keepingCapacity: true)
                ordered = true
                stale = 0
            } else if ordered {
                stale += 1
            }
        }

        /// The items whose sort key starts with `prefix`, in byte order (expired ones left out).
        mutating func query(prefix: String, now: Int64) -> [StateItem] {
            if !ordered {
                order = items.keys.sorted()
                ordered = true
                stale = 0
            } else if stale > 0 {
                order.removeAll { items[$0] == nil }
                stale = 0
            }
            // First key not below the prefix (binary search), then every key that starts with it.
            var low = 0, high = order.count
            while low < high {
                let middle = (low + high) / 2
                if Bytes.less(order[middle].text, prefix) { low = middle + 1 } else { high = middle }
            }
            var result: [StateItem] = []
            while low < order.count, Bytes.hasPrefix(order[low].text, prefix) {
                if let item = StateTransitions.live(items[order[low]], now: now) { result.append(item) }
                low += 1
            }
            return result
        }
    }

    private let partitions = Mutex<[Bytes: Partition]>([:])
    private let clock: any WallClock

    public init(clock: any WallClock = SystemClock()) { self.clock = clock }

    private var now: Int64 { Int64(clock.now().timeIntervalSince1970) }

    private static func current(_ parts: [Bytes: Partition], _ key: StateKey, now: Int64) -> StateItem? {
        StateTransitions.live(parts[Bytes(key.partition)]?.items[Bytes(key.sort)], now: now)
    }

    private static func store(_ parts: inout [Bytes: Partition], _ key: StateKey, _ item: StateItem?) {
        if let item {
            parts[Bytes(key.partition), default: Partition()].set(Bytes(key.sort), item)
        } else {
            parts[Bytes(key.partition)]?.remove(Bytes(key.sort))
        }
    }

    public func get(_ key: StateKey) throws -> StateItem? {
        let now = now
        return partitions.withLock { Self.current($0, key, now: now) }
    }

    public func put(_ item: StateItem, condition: WriteCondition) throws {
        let now = now
        try partitions.withLock { parts in
            let current = Self.current(parts, item.key, now: now)
            Self.store(&parts, item.key, try StateTransitions.put(current, item, condition))
        }
    }

    public func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                       condition: WriteCondition) throws -> StateItem {
        let now = now
        return try partitions.withLock { parts in
            let current = Self.current(parts, key, now: now)
            let item = try StateTransitions.update(current, key: key, set: set, remove: remove, expiresAt: expiresAt,
                                                   condition: condition)
            Self.store(&parts, key, item)
            return item
        }
    }

    @discardableResult
    public func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
        let now = now
        return try partitions.withLock { parts in
            let current = Self.current(parts, key, now: now)
            let (item, values) = try StateTransitions.add(current, key: key, counters: counters, set: set)
            Self.store(&parts, key, item)
            return values
        }
    }

    public func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
        let now = now
        return try partitions.withLock { parts in
            let current = Self.current(parts, key, now: now)
            guard condition.holds(for: current) else { throw StateTransitions.failed(key, condition) }
            Self.store(&parts, key, nil)
            return current
        }
    }

    public func query(partition: String, sortPrefix: String) throws -> [StateItem] {
        let now = now
        return partitions.withLock { parts in
            parts[Bytes(partition)]?.query(prefix: sortPrefix, now: now) ?? []
        }
    }

    public func transact(_ writes: [StateWrite]) throws {
        let now = now
        try partitions.withLock { parts in
            let results = try StateTransitions.transact(writes) { Self.current(parts, $0, now: now) }
            for (key, item) in results { Self.store(&parts, key, item) }
        }
    }

    /// Every item (for inspection in tests and the CLI's status).
    public func snapshot() -> [StateItem] {
        partitions.withLock {
            $0.values.flatMap(\.items.values).sorted { Bytes.less($0.key.description, $1.key.description) }
        }
    }
}

/// The local binding's state store: one JSON file per item under `root/<partition>/`, written to a temporary file
/// and renamed into place; conditional writes and counters hold an exclusive `flock` on the partition's lock file, so
/// they are atomic across processes (the local compute's workers, the CLI, several `odin` invocations).
public final class LocalStateStore: StateStore {
    public let root: String
    private let clock: any WallClock

    public init(root: String, clock: any WallClock = SystemClock()) throws {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.clock = clock
        do {
            try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        } catch {
            throw StateStoreError(.io, key: root, "cannot create the state folder: \(error)")
        }
        try recoverJournals()
    }

    private var now: Int64 { Int64(clock.now().timeIntervalSince1970) }

    // MARK: - Paths

    static func fnv(_ text: String) -> String { FNV1a.hex(text) }

    static func safe(_ text: String) -> String {
        String(text.unicodeScalars.prefix(40).map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": Character(scalar)
            default: "_"
            }
        })
    }

    func partitionPath(_ partition: String) -> String { "\(root)/\(Self.safe(partition))-\(Self.fnv(partition))" }
    func itemPath(_ key: StateKey) -> String {
        "\(partitionPath(key.partition))/\(Self.safe(key.sort))-\(Self.fnv(key.sort)).json"
    }

    // MARK: - File primitives

    private func read(_ path: String, key: StateKey?) throws -> StateItem? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            let item = try JSONDecoder().decode(StateItem.self, from: data)
            if let key, item.key != key {
                throw StateStoreError(.corrupt, key: key.description, "file \(path) holds \(item.key) (hash collision)")
            }
            return item
        } catch let error as StateStoreError {
            throw error
        } catch {
            throw StateStoreError(.corrupt, key: key?.description ?? path, "cannot decode \(path): \(error)")
        }
    }

    private func write(_ item: StateItem) throws {
        let folder = partitionPath(item.key.partition)
        if mkdir(folder, 0o755) != 0 && errno != EEXIST {
            throw StateStoreError(.io, key: item.key.description, "cannot create \(folder): errno \(errno)")
        }
        try writeFile(itemPath(item.key), Array(try JSONEncoder().encode(item)), key: item.key.description)
    }

    /// Writes `bytes` to a temporary file and renames it to `path` (readers see the old or the new file).
    private func writeFile(_ path: String, _ bytes: [UInt8], key: String) throws {
        let temp = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let descriptor = open(temp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StateStoreError(.io, key: key, "cannot create \(temp): errno \(errno)")
        }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count else {
            unlink(temp)
            throw StateStoreError(.io, key: key, "short write to \(temp)")
        }
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw StateStoreError(.io, key: key, "cannot rename into \(path): errno \(errno)")
        }
    }

    /// Runs `body` holding an exclusive lock on the partition (created when missing).
    private func locked<T>(_ partition: String, _ body: () throws -> T) throws -> T {
        let folder = partitionPath(partition)
        if mkdir(folder, 0o755) != 0 && errno != EEXIST {
            throw StateStoreError(.io, key: partition, "cannot create \(folder): errno \(errno)")
        }
        let descriptor = open(folder + "/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StateStoreError(.io, key: partition, "cannot open lock: errno \(errno)") }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno != EINTR { throw StateStoreError(.io, key: partition, "cannot lock: errno \(errno)") }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    // MARK: - StateStore

    public func get(_ key: StateKey) throws -> StateItem? {
        StateTransitions.live(try read(itemPath(key), key: key), now: now)
    }

    public func put(_ item: StateItem, condition: WriteCondition) throws {
        let now = now
        try locked(item.key.partition) {
            let current = StateTransitions.live(try read(itemPath(item.key), key: item.key), now: now)
            try write(try StateTransitions.put(current, item, condition))
        }
    }

    public func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                       condition: WriteCondition) throws -> StateItem {
        let now = now
        return try locked(key.partition) {
            let current = StateTransitions.live(try read(itemPath(key), key: key), now: now)
            let item = try StateTransitions.update(current, key: key, set: set, remove: remove, expiresAt: expiresAt,
                                                   condition: condition)
            try write(item)
            return item
        }
    }

    @discardableResult
    public func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
        let now = now
        return try locked(key.partition) {
            let current = StateTransitions.live(try read(itemPath(key), key: key), now: now)
            let (item, values) = try StateTransitions.add(current, key: key, counters: counters, set: set)
            try write(item)
            return values
        }
    }

    public func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
        let now = now
        return try locked(key.partition) {
            let current = StateTransitions.live(try read(itemPath(key), key: key), now: now)
            guard condition.holds(for: current) else { throw StateTransitions.failed(key, condition) }
            if unlink(itemPath(key)) != 0 && errno != ENOENT {
                throw StateStoreError(.io, key: key.description, "cannot delete: errno \(errno)")
            }
            return current
        }
    }

    public func query(partition: String, sortPrefix: String) throws -> [StateItem] {
        let folder = partitionPath(partition)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        let now = now
        var items: [StateItem] = []
        for name in names where name.hasSuffix(".json") {
            guard let item = StateTransitions.live(try read(folder + "/" + name, key: nil), now: now) else { continue }
            if Bytes.equal(item.key.partition, partition) && Bytes.hasPrefix(item.key.sort, sortPrefix) {
                items.append(item)
            }
        }
        return items.sorted { Bytes.less($0.key.sort, $1.key.sort) }
    }

    /// Holds every partition's lock (in byte order, so two transactions never deadlock), writes the resulting items
    /// to a journal file, renames each into place and removes the journal. A process killed between the renames
    /// leaves the journal; the next transaction or `recoverJournals()` (run at open) re-applies it under the same locks.
    public func transact(_ writes: [StateWrite]) throws {
        let partitions = Set(writes.map { Bytes($0.key.partition) }).sorted()
        let now = now
        try lockedAll(partitions[...]) {
            let results = try StateTransitions.transact(writes) {
                StateTransitions.live(try read(itemPath($0), key: $0), now: now)
            }
            let journal = Journal(partitions: partitions.map(\.text),
                                  writes: results.map { Journal.Entry(key: $0.0, item: $0.1) })
            let path = "\(root)/.journal-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).json"
            try writeFile(path, Array(try JSONEncoder().encode(journal)), key: writes.first?.key.description ?? "")
            try apply(journal)
            unlink(path)
        }
    }

    struct Journal: Codable {
        struct Entry: Codable {
            var key: StateKey
            var item: StateItem?
        }
        var partitions: [String]
        var writes: [Entry]
    }

    private func apply(_ journal: Journal) throws {
        for entry in journal.writes {
            if let item = entry.item { try write(item) } else if unlink(itemPath(entry.key)) != 0 && errno != ENOENT {
                throw StateStoreError(.io, key: entry.key.description, "cannot delete: errno \(errno)")
            }
        }
    }

    /// Re-applies transactions a killed process left half-done (their journal files).
    public func recoverJournals() throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        for name in names where name.hasPrefix(".journal-") && name.hasSuffix(".json") {
            let path = root + "/" + name
            guard let data = FileManager.default.contents(atPath: path),
                  let journal = try? JSONDecoder().decode(Journal.self, from: data) else {
                continue  // being written (its writer holds the locks), or torn by a kill before it was complete
            }
            try lockedAll(journal.partitions.map(Bytes.init).sorted()[...]) {
                // Still there once the locks are held: its writer is gone.
                if FileManager.default.fileExists(atPath: path) {
                    try apply(journal)
                    unlink(path)
                }
            }
        }
    }

    private func lockedAll(_ partitions: ArraySlice<Bytes>, _ body: () throws -> Void) throws {
        guard let first = partitions.first else { return try body() }
        try locked(first.text) { try lockedAll(partitions.dropFirst(), body) }
    }
}
