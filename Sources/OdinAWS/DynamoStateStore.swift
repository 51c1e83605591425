import AWS
import Odin
import OdinBasics

/// The DynamoDB binding of `StateStore`: one table with `pk` (S) / `sk` (S) and the TTL attribute `expiresAt`
/// (epoch seconds, N), as `infra/stack.yaml` declares it. One call per port method (Query follows pages):
/// GetItem (ConsistentRead), PutItem/UpdateItem/DeleteItem with the condition's ConditionExpression, Query
/// `pk = :p AND begins_with(sk, :s)` (ConsistentRead). ConditionalCheckFailed → `StateStoreError(.conditionFailed)`.
public struct DynamoStateStore: StateStore {
    public let client: AWSClient
    public let table: String
    /// The table's TTL attribute (`TimeToLiveSpecification.AttributeName` in the stack).
    public static let ttlAttribute = "expiresAt"
    static let reserved: Set<String> = ["pk", "sk", ttlAttribute]

    public init(client: AWSClient, table: String) {
        self.client = client
        self.table = table
    }

    /// The deployed state table named by `ODIN_TABLE`, or nil when it is unset or empty (local mode).
    public static func fromEnvironment(_ environment: [String: String]) throws -> DynamoStateStore? {
        guard let table = environment["ODIN_TABLE"], !table.isEmpty else { return nil }
        return DynamoStateStore(client: try AWSBinding.makeClient(environment: environment), table: table)
    }

    // MARK: Expressions

    /// Placeholders collected while building one request's expressions.
    struct Expressions {
        var names: [String: String] = [:]
        var values: DynamoItem = [:]
        private var counter = 0

        mutating func name(_ attribute: String) -> String {
            if let existing = names.first(where: { $0.value == attribute }) { return existing.key }
            counter += 1
            let placeholder = "#n\(counter)"
            names[placeholder] = attribute
            return placeholder
        }

        mutating func value(_ value: DynamoValue) -> String {
            counter += 1
            let placeholder = ":v\(counter)"
            values[placeholder] = value
            return placeholder
        }

        mutating func condition(_ condition: WriteCondition) -> String? {
            switch condition {
            case .always: return nil
            case .itemAbsent: return "attribute_not_exists(\(name("pk")))"
            case .itemExists: return "attribute_exists(\(name("pk")))"
            case .attributeAbsent(let attribute): return "attribute_not_exists(\(name(attribute)))"
            case .equals(let attribute, let expected):
                return "\(name(attribute)) = \(value(DynamoStateStore.encode(expected)))"
            case .absentOrEquals(let attribute, let expected):
                let placeholder = name(attribute)
                return "attribute_not_exists(\(placeholder)) OR \(placeholder) = \(value(DynamoStateStore.encode(expected)))"
            case .allOf(let conditions):
                let parts = conditions.compactMap { self.condition($0) }
                return parts.isEmpty ? nil : parts.map { "(\($0))" }.joined(separator: " AND ")
            }
        }

        /// The placeholders collected so far, with `condition` as the ConditionExpression.
        func expression(condition: String? = nil) -> DynamoExpression {
            DynamoExpression(condition: condition, names: names, values: values)
        }
    }

    // MARK: Port

    public func get(_ key: StateKey) throws -> StateItem? {
        let item = try call("GetItem", key) { () throws(AWSError) in
            try client.getItem(table: table, key: Self.key(key), consistentRead: true)
        }
        return try item.map { try Self.decode($0, key: key) }
    }

    public func put(_ item: StateItem, condition: WriteCondition) throws {
        var expressions = Expressions()
        let conditionText = expressions.condition(condition)
        try call("PutItem", item.key) { () throws(AWSError) in
            try client.putItem(table: table, item: Self.encodeItem(item),
                               expression: expressions.expression(condition: conditionText))
        }
    }

    @discardableResult
    public func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                       condition: WriteCondition) throws -> StateItem {
        var expressions = Expressions()
        var assignments: [String] = []
        for (name, value) in set.sorted(by: { $0.key < $1.key }) where !Self.reserved.contains(name) {
            assignments.append("\(expressions.name(name)) = \(expressions.value(Self.encode(value)))")
        }
        if let expiresAt {
            assignments.append("\(expressions.name(Self.ttlAttribute)) = \(expressions.value(.number(String(expiresAt))))")
        }
        let removals = remove.filter { !Self.reserved.contains($0) && set[$0] == nil }.sorted().map { expressions.name($0) }
        var clauses: [String] = []
        if !assignments.isEmpty { clauses.append("SET " + assignments.joined(separator: ", ")) }
        if !removals.isEmpty { clauses.append("REMOVE " + removals.joined(separator: ", ")) }
        let conditionText = expressions.condition(condition)
        var attributes = try call("UpdateItem", key) { () throws(AWSError) in
            try client.updateItem(table: table, key: Self.key(key),
                                  updateExpression: clauses.isEmpty ? nil : clauses.joined(separator: " "),
                                  expression: expressions.expression(condition: conditionText), returnValues: "ALL_NEW",
                                  isIdempotent: condition == .always)
        }
        if attributes.isEmpty { attributes = Self.key(key) }
        return try Self.decode(attributes, key: key)
    }

    @discardableResult
    public func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
        var expressions = Expressions()
        let update = Self.addExpression(counters: counters, set: set, &expressions)
        let attributes = try call("UpdateItem", key) { () throws(AWSError) in
            try client.updateItem(table: table, key: Self.key(key), updateExpression: update.isEmpty ? nil : update,
                                  expression: expressions.expression(), returnValues: "ALL_NEW",
                                  isIdempotent: counters.isEmpty)
        }
        let item = try Self.decode(attributes, key: key)
        var result: [String: Int64] = [:]
        for (name, value) in item.attributes {
            if case .int(let number) = value { result[name] = number }
        }
        for name in counters.keys where result[name] == nil { result[name] = 0 }
        return result
    }

    @discardableResult
    public func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
        var expressions = Expressions()
        let conditionText = expressions.condition(condition)
        let old = try call("DeleteItem", key) { () throws(AWSError) in
            try client.deleteItem(table: table, key: Self.key(key),
                                  expression: expressions.expression(condition: conditionText), returnOldItem: true)
        }
        return try old.map { try Self.decode($0, key: key) }
    }

    public func query(partition: String, sortPrefix: String) throws -> [StateItem] {
        var expressions = Expressions()
        var keyCondition = "\(expressions.name("pk")) = \(expressions.value(.string(partition)))"
        if !sortPrefix.isEmpty {
            keyCondition += " AND begins_with(\(expressions.name("sk")), \(expressions.value(.string(sortPrefix))))"
        }
        var items: [StateItem] = []
        var start: DynamoItem?
        let context = StateKey(partition, sortPrefix + "*")
        repeat {
            let page = try call("Query", context) { () throws(AWSError) in
                try client.query(table: table, keyCondition: keyCondition, names: expressions.names,
                                 values: expressions.values, exclusiveStartKey: start, consistentRead: true)
            }
            for raw in page.items {
                guard let sort = raw["sk"]?.stringValue else {
                    throw StateStoreError(.corrupt, key: context.description, "query returned an item without sk")
                }
                items.append(try Self.decode(raw, key: StateKey(partition, sort)))
            }
            start = page.lastEvaluatedKey
        } while start != nil
        return items.sorted { Bytes.less($0.key.sort, $1.key.sort) }
    }

    /// TransactWriteItems: a put/delete carries its ConditionExpression, an add is an UpdateItem `ADD … SET …`. A
    /// cancellation with a ConditionalCheckFailed reason → `.conditionFailed` (nothing was written).
    public func transact(_ writes: [StateWrite]) throws {
        guard !writes.isEmpty else { return }
        let elements = writes.map { write -> DynamoDB.TransactWrite in
            var expressions = Expressions()
            switch write {
            case .put(let item, let condition):
                let conditionText = expressions.condition(condition)
                return .put(table: table, item: Self.encodeItem(item),
                            expression: DynamoExpression(condition: conditionText, names: expressions.names,
                                                         values: expressions.values))
            case .add(let key, let counters, let set):
                let update = Self.addExpression(counters: counters, set: set, &expressions)
                return .update(table: table, key: Self.key(key), updateExpression: update,
                               expression: DynamoExpression(names: expressions.names, values: expressions.values))
            case .delete(let key, let condition):
                let conditionText = expressions.condition(condition)
                return .delete(table: table, key: Self.key(key),
                               expression: DynamoExpression(condition: conditionText, names: expressions.names,
                                                            values: expressions.values))
            }
        }
        let context = writes[0].key
        do throws(AWSError) {
            try client.transactWriteItems(elements)
        } catch {
            if error.code == "TransactionCanceledException" && error.cancellationReasons.contains("ConditionalCheckFailed") {
                throw StateStoreError(.conditionFailed, key: context.description,
                                      "condition does not hold (TransactWriteItems: \(error.cancellationReasons.joined(separator: ", ")))")
            }
            throw StateStoreError(.io, key: context.description, "table \(table): \(error.description)")
        }
    }

    static func encodeItem(_ item: StateItem) -> DynamoItem {
        var encoded = key(item.key)
        for (name, value) in item.attributes where !reserved.contains(name) { encoded[name] = encode(value) }
        if let expiresAt = item.expiresAt { encoded[ttlAttribute] = .number(String(expiresAt)) }
        return encoded
    }

    static func addExpression(counters: [String: Int64], set: [String: StateValue],
                              _ expressions: inout Expressions) -> String {
        let additions = counters.sorted(by: { $0.key < $1.key }).filter { !reserved.contains($0.key) }
            .map { "\(expressions.name($0.key)) \(expressions.value(.number(String($0.value))))" }
        let assignments = set.sorted(by: { $0.key < $1.key })
            .filter { !reserved.contains($0.key) && counters[$0.key] == nil }
            .map { "\(expressions.name($0.key)) = \(expressions.value(encode($0.value)))" }
        var clauses: [String] = []
        if !additions.isEmpty { clauses.append("ADD " + additions.joined(separator: ", ")) }
        if !assignments.isEmpty { clauses.append("SET " + assignments.joined(separator: ", ")) }
        return clauses.joined(separator: " ")
    }

    // MARK: Helpers

    /// One item call; ConditionalCheckFailed → `.conditionFailed`, any other failure → `.io` naming the table.
    @discardableResult
    func call<Result>(_ target: String, _ key: StateKey, _ body: () throws(AWSError) -> Result) throws -> Result {
        do throws(AWSError) {
            return try body()
        } catch {
            if error.code == "ConditionalCheckFailedException" {
                throw StateStoreError(.conditionFailed, key: key.description, "condition does not hold (\(target))")
            }
            throw StateStoreError(.io, key: key.description, "table \(table): \(error.description)")
        }
    }

    static func key(_ key: StateKey) -> DynamoItem { ["pk": .string(key.partition), "sk": .string(key.sort)] }

    static func encode(_ value: StateValue) -> DynamoValue {
        switch value {
        case .string(let text): .string(text)
        case .int(let number): .number(String(number))
        case .double(let number): .number(number.isFinite ? String(number) : "0")
        case .bool(let flag): .bool(flag)
        case .list(let values): .list(values.map(encode))
        case .map(let values): .map(values.mapValues(encode))
        case .null: .null
        }
    }

    static func decodeValue(_ value: DynamoValue) -> StateValue {
        switch value {
        case .string(let text): return .string(text)
        case .number(let text):
            if let number = Int64(text) { return .int(number) }
            return .double(Double(text) ?? 0)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .map(let values): return .map(values.mapValues(decodeValue))
        case .list(let values): return .list(values.map(decodeValue))
        case .stringSet(let values): return .list(values.map { .string($0) })
        case .numberSet(let values): return .list(values.map { decodeValue(.number($0)) })
        case .binary(let bytes): return .string(Base64.encode(bytes))
        }
    }

    static func decode(_ raw: DynamoItem, key: StateKey) throws -> StateItem {
        var item = StateItem(key: key)
        for (name, value) in raw {
            switch name {
            case "pk", "sk": continue
            case ttlAttribute:
                if case .number(let text) = value, let seconds = Int64(text) { item.expiresAt = seconds }
            default: item.attributes[name] = decodeValue(value)
            }
        }
        return item
    }
}
