#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value in the state store; maps 1:1 onto DynamoDB attribute values (S, N, BOOL, L, M, NULL).
public indirect enum StateValue: Sendable, Equatable, Codable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case list([StateValue])
    case map([String: StateValue])
    case null

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var intValue: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d): Int64(exactly: d)
        default: nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var listValue: [StateValue]? { if case .list(let l) = self { l } else { nil } }
}

/// The primary key: DynamoDB partition key `pk` and sort key `sk`. Keys are compared, hashed and ordered as UTF-8
/// bytes, as DynamoDB does: Swift's `String ==` would merge canonically equivalent spellings (NFC `é` and NFD
/// `e\u{301}`), which are different items in the table.
public struct StateKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var partition: String
    public var sort: String
    public init(_ partition: String, _ sort: String) {
        self.partition = partition
        self.sort = sort
    }
    public var description: String { "\(partition)|\(sort)" }

    public static func == (a: StateKey, b: StateKey) -> Bool {
        Bytes.equal(a.partition, b.partition) && Bytes.equal(a.sort, b.sort)
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(Bytes(partition))
        hasher.combine(Bytes(sort))
    }
}

/// A string compared, hashed and ordered by its UTF-8 bytes (never by canonical equivalence). Dictionary key for
/// state keys, camera names and object keys.
public struct Bytes: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }

    public static func == (a: Bytes, b: Bytes) -> Bool { equal(a.text, b.text) }
    public static func < (a: Bytes, b: Bytes) -> Bool { less(a.text, b.text) }
    public func hash(into hasher: inout Hasher) {
        // One block per key instead of one `combine` per byte (the state stores hash every key they touch).
        if text.utf8.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            for byte in text.utf8 { hasher.combine(byte) }
        }
        hasher.combine(0xFF as UInt8)  // never a UTF-8 byte: separates concatenations
    }

    public static func equal(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return compare(a, b) { $0.elementsEqual($1) ? 0 : 1 } == 0
    }
    /// DynamoDB's sort-key order: unsigned UTF-8 bytes.
    public static func less(_ a: String, _ b: String) -> Bool {
        compare(a, b) { $0.lexicographicallyPrecedes($1) ? -1 : 0 } < 0
    }
    public static func hasPrefix(_ text: String, _ prefix: String) -> Bool { text.utf8.starts(with: prefix.utf8) }

    /// Three-way comparison of the UTF-8 bytes: memcmp over contiguous (native) strings, else `slow` over the views.
    static func compare(_ a: String, _ b: String, slow: (String.UTF8View, String.UTF8View) -> Int) -> Int {
        let fast = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb -> Int in
                let common = min(pa.count, pb.count)
                if common > 0, let x = pa.baseAddress, let y = pb.baseAddress {
                    let order = memcmp(x, y, common)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
            }
        }
        if let result = fast ?? nil { return result }
        return slow(a.utf8, b.utf8)
    }
}

/// One item. `expiresAt` (epoch seconds) is the DynamoDB TTL attribute `expiresAt` (infra/stack.yaml).
public struct StateItem: Sendable, Equatable, Codable {
    public var key: StateKey
    public var attributes: [String: StateValue]
    public var expiresAt: Int64?

    public init(key: StateKey, attributes: [String: StateValue] = [:], expiresAt: Int64? = nil) {
        self.key = key
        self.attributes = attributes
        self.expiresAt = expiresAt
    }

    public subscript(name: String) -> StateValue? { attributes[name] }
}

/// A write condition; each case is one DynamoDB ConditionExpression.
public enum WriteCondition: Sendable, Equatable {
    /// No condition.
    case always
    /// `attribute_not_exists(pk)`: create-if-absent.
    case itemAbsent
    /// `attribute_exists(pk)`.
    case itemExists
    /// `attribute_not_exists(#a)` (true when the item is missing).
    case attributeAbsent(String)
    /// `#a = :v` (false when the item or attribute is missing).
    case equals(String, StateValue)
    /// `attribute_not_exists(#a) OR #a = :v` (true when the item is missing).
    case absentOrEquals(String, StateValue)
    /// `(c1) AND (c2) …`: every one of `conditions` holds (true when empty). E.g. take a lease only while its item
    /// exists: `.allOf([.itemExists, .attributeAbsent("leaseUntil")])`.
    case allOf([WriteCondition])

    /// Evaluates the condition against the current item (the local bindings use this).
    public func holds(for item: StateItem?) -> Bool {
        switch self {
        case .always: true
        case .itemAbsent: item == nil
        case .itemExists: item != nil
        case .attributeAbsent(let name): item?.attributes[name] == nil
        case .equals(let name, let value): item?.attributes[name] == value
        case .absentOrEquals(let name, let value):
            item?.attributes[name] == nil || item?.attributes[name] == value
        case .allOf(let conditions): conditions.allSatisfy { $0.holds(for: item) }
        }
    }
}

/// One write of a `StateStore.transact` call (each on a different item).
public enum StateWrite: Sendable, Equatable {
    /// Writes the whole item when `condition` holds.
    case put(StateItem, WriteCondition)
    /// Adds `counters` (created at 0 when missing) and sets `set`.
    case add(StateKey, counters: [String: Int64], set: [String: StateValue])
    /// Deletes the item when `condition` holds.
    case delete(StateKey, WriteCondition)

    public var key: StateKey {
        switch self {
        case .put(let item, _): item.key
        case .add(let key, _, _), .delete(let key, _): key
        }
    }
}

/// A state-store failure: a lost conditional write, or the store itself failing.
public struct StateStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// ConditionalCheckFailedException.
        case conditionFailed
        case io
        case corrupt
    }
    public let kind: Kind
    public let key: String
    public let message: String

    public init(_ kind: Kind, key: String, _ message: String) {
        self.kind = kind
        self.key = key
        self.message = message
    }

    public var description: String { "state store: \(key): \(message)" }
    public var isConditionFailure: Bool { kind == .conditionFailed }
}

/// The state-store port. Every method is one DynamoDB call on a table with `pk` (S) / `sk` (S) and TTL on `expiresAt`:
/// - `get` → GetItem (ConsistentRead).
/// - `put` → PutItem with the condition's ConditionExpression.
/// - `update` → UpdateItem `SET a = :a … REMOVE r …` with the condition (creates the item when absent and allowed).
/// - `add` → UpdateItem `ADD c :n …` (+ `SET`), ReturnValues UPDATED_NEW: an atomic counter returning new values.
/// - `delete` → DeleteItem with the condition, ReturnValues ALL_OLD.
/// - `query` → Query `pk = :p AND begins_with(sk, :s)` (ConsistentRead, paginated by the binding).
/// Items whose TTL has passed may still be returned (DynamoDB deletes them lazily); callers treat them as live.
public protocol StateStore: Sendable {
    func get(_ key: StateKey) throws -> StateItem?
    /// Writes the whole item. Throws `.conditionFailed` when `condition` does not hold.
    func put(_ item: StateItem, condition: WriteCondition) throws
    /// Sets and removes attributes (creating the item when absent and `condition` allows); returns the new item.
    @discardableResult
    func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                condition: WriteCondition) throws -> StateItem
    /// Adds `counters` atomically (missing counters start at 0, the item is created when absent) and sets `set`;
    /// returns every counter's new value.
    @discardableResult
    func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64]
    /// Deletes the item when `condition` holds; returns the old item (nil when there was none).
    @discardableResult
    func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem?
    /// Items of `partition` whose sort key starts with `sortPrefix` (bytes), in sort-key (byte) order.
    func query(partition: String, sortPrefix: String) throws -> [StateItem]
    /// All of `writes` or none (DynamoDB TransactWriteItems, ≤ 100 distinct items): throws `.conditionFailed` when
    /// any condition does not hold, and then nothing is written. How a marker and its effects commit together.
    func transact(_ writes: [StateWrite]) throws
}

extension StateStore {
    /// Create-if-absent; returns false (instead of throwing) when the item already exists.
    public func create(_ item: StateItem) throws -> Bool {
        do {
            try put(item, condition: .itemAbsent)
            return true
        } catch let error as StateStoreError where error.isConditionFailure {
            return false
        }
    }

    @discardableResult
    public func update(_ key: StateKey, set: [String: StateValue], condition: WriteCondition = .always) throws -> StateItem {
        try update(key, set: set, remove: [], expiresAt: nil, condition: condition)
    }
}
