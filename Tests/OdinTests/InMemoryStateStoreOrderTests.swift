import FoundationEssentials
import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Testing

/// `InMemoryStateStore` keeps each partition's sort keys in order between queries (appends in order, a re-sort only
/// after an out-of-order insert, deleted keys dropped lazily). Its queries must equal a straightforward reference —
/// filter the live items by prefix, sort by bytes — after any mix of writes, deletes, re-inserts and expiries.
@Suite struct InMemoryStateStoreOrderTests {
    /// A small deterministic generator (the test needs no real randomness, only many orders).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func queriesEqualTheReferenceAfterAnyWrites(seed: UInt64) throws {
        let clock = ManualClock()
        let store = InMemoryStateStore(clock: clock)
        var reference: [StateKey: StateItem] = [:]
        var random = Generator(state: seed)
        // Sort keys with shared prefixes, unpadded numbers (out of byte order when inserted ascending) and non-ASCII
        // spellings (NFC "é" and NFD "e\u{301}" are different keys).
        let stems = ["done#", "fbpending#", "a", "é", "e\u{301}", ""]
        func sortKey() -> String { stems[random.next(stems.count)] + String(random.next(40)) }
        let partitions = ["p", "q"]
        let prefixes = ["", "done#", "fbpending#", "d", "é", "e", "done#1", "zzz"]
        for step in 0..<3_000 {
            let key = StateKey(partitions[random.next(partitions.count)], sortKey())
            let now = Int64(clock.now().timeIntervalSince1970)
            switch random.next(10) {
            case 0..<4:
                let expires: Int64? = random.next(8) == 0 ? now + Int64(random.next(30)) : nil
                let item = StateItem(key: key, attributes: ["v": .int(Int64(step))], expiresAt: expires)
                try store.put(item, condition: .always)
                reference[key] = item
            case 4..<6:
                reference[key] = try store.update(key, set: ["u": .int(Int64(step))], remove: [], expiresAt: nil,
                                                  condition: .always)
            case 6..<8:
                try store.delete(key, condition: .always)
                reference[key] = nil
            case 8:
                let other = StateKey(key.partition, sortKey())
                guard other != key else { continue }
                try store.transact([.put(StateItem(key: key, attributes: ["t": .int(1)]), .always),
                                    .delete(other, .always)])
                reference[key] = StateItem(key: key, attributes: ["t": .int(1)])
                reference[other] = nil
            default:
                clock.advance(seconds: Double(random.next(5)))
            }
            if step % 7 == 0 {
                let now = Int64(clock.now().timeIntervalSince1970)
                for partition in partitions {
                    for prefix in prefixes {
                        let expected = reference.values
                            .filter { Bytes.equal($0.key.partition, partition) && Bytes.hasPrefix($0.key.sort, prefix) }
                            .filter { item in item.expiresAt.map { $0 > now } ?? true }
                            .sorted { Bytes.less($0.key.sort, $1.key.sort) }
                        let actual = try store.query(partition: partition, sortPrefix: prefix)
                        #expect(actual == expected, "step \(step), partition \(partition), prefix \(prefix)")
                    }
                }
            }
        }
    }

    /// The simulator's pattern: a partition filled in key order, queried, emptied front to back, refilled.
    @Test func fillQueryDrainRefill() throws {
        let store = InMemoryStateStore(clock: ManualClock())
        for round in 0..<3 {
            let keys = (0..<500).map { "raw/cam/d\(round)/IMG_\(String(1_000_000 + $0).dropFirst()).JPG" }
            for key in keys { try store.put(StateItem(key: StateKey("pending#cam", key)), condition: .always) }
            #expect(try store.query(partition: "pending#cam", sortPrefix: "").map(\.key.sort) == keys)
            for key in keys.prefix(250) { try store.delete(StateKey("pending#cam", key), condition: .always) }
            #expect(try store.query(partition: "pending#cam", sortPrefix: "").map(\.key.sort) == Array(keys.dropFirst(250)))
            try store.put(StateItem(key: StateKey("pending#cam", keys[0])), condition: .always)
            #expect(try store.query(partition: "pending#cam", sortPrefix: "raw/").map(\.key.sort)
                == [keys[0]] + keys.dropFirst(250))
            for key in keys { try store.delete(StateKey("pending#cam", key), condition: .always) }
            #expect(try store.query(partition: "pending#cam", sortPrefix: "").isEmpty)
        }
    }
}
