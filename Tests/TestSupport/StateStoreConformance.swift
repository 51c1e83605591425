import Odin

/// Semantics every `StateStore` binding (DynamoDB, the local files, in memory) must share, checked against each of
/// them by the tests. Returns what differed (empty when the binding agrees).
public enum StateStoreConformance {
    /// `WriteCondition.allOf`: `(c1) AND (c2) …` — every part must hold, a missing item fails `itemExists` and
    /// `equals`, an empty list is no condition; a failed condition writes nothing. The seal's lease is taken with
    /// `.allOf([.itemExists, .equals("leaseUntil", old)])`.
    public static func compoundConditions(_ store: any StateStore) -> [String] {
        var problems: [String] = []
        func fails(_ what: String, _ body: () throws -> Void) {
            do {
                try body()
                problems.append("\(what): the write succeeded, the condition does not hold")
            } catch let error as StateStoreError where error.isConditionFailure {
            } catch {
                problems.append("\(what): \(error)")
            }
        }
        func holds(_ what: String, _ body: () throws -> Void) {
            do { try body() } catch { problems.append("\(what): \(error)") }
        }
        let key = StateKey("active-runs", "cam01-20260609-101320")
        let taken: WriteCondition = .allOf([.itemExists, .attributeAbsent("leaseUntil")])
        fails("allOf(itemExists, attributeAbsent) on a missing item") {
            try store.update(key, set: ["leaseUntil": .int(5)], remove: [], expiresAt: nil, condition: taken)
        }
        holds("get after a failed compound condition") {
            if try store.get(key) != nil { problems.append("a failed compound condition created the item") }
        }
        holds("put") { try store.put(StateItem(key: key, attributes: ["since": .int(1)]), condition: .always) }
        holds("allOf(itemExists, attributeAbsent) on an item without the attribute") {
            try store.update(key, set: ["leaseUntil": .int(5)], remove: [], expiresAt: nil, condition: taken)
        }
        fails("allOf(itemExists, attributeAbsent) once the attribute exists") {
            try store.update(key, set: ["leaseUntil": .int(6)], remove: [], expiresAt: nil, condition: taken)
        }
        fails("allOf(itemExists, equals) with another value") {
            try store.update(key, set: ["leaseUntil": .int(7)], remove: [], expiresAt: nil,
                             condition: .allOf([.itemExists, .equals("leaseUntil", .int(4))]))
        }
        holds("allOf(itemExists, equals, absentOrEquals) all holding") {
            try store.update(key, set: ["leaseUntil": .int(8)], remove: [], expiresAt: nil,
                             condition: .allOf([.itemExists, .equals("leaseUntil", .int(5)),
                                                .absentOrEquals("since", .int(1))]))
        }
        holds("get") {
            let item = try store.get(key)
            if item?["leaseUntil"] != .int(8) { problems.append("leaseUntil is \(String(describing: item?["leaseUntil"])), not 8") }
        }
        fails("transaction whose put's allOf fails") {
            try store.transact([.put(StateItem(key: StateKey("p", "other")), .always),
                                .put(StateItem(key: key, attributes: ["since": .int(2)]),
                                     .allOf([.itemExists, .equals("since", .int(2))]))])
        }
        holds("get after a failed transaction") {
            if try store.get(StateKey("p", "other")) != nil { problems.append("a failed transaction wrote its other item") }
        }
        holds("delete with allOf([]) (no condition)") {
            if try store.delete(key, condition: .allOf([])) == nil { problems.append("delete returned no old item") }
        }
        return problems
    }
}
