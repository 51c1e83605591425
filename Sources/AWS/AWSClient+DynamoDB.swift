import OdinBasics

/// A DynamoDB attribute value (the JSON wire form `{"S": "…"}`, `{"N": "42"}`, …).
public indirect enum DynamoValue: Sendable, Equatable, Codable {
    case string(String)
    /// Numbers travel as strings to keep their exact decimal form.
    case number(String)
    case binary([UInt8])
    case bool(Bool)
    case null
    case map([String: DynamoValue])
    case list([DynamoValue])
    case stringSet([String])
    case numberSet([String])

    public static func number(_ value: Int) -> DynamoValue { .number(String(value)) }

    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var intValue: Int? { if case .number(let value) = self { Int(value) } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var mapValue: [String: DynamoValue]? { if case .map(let value) = self { value } else { nil } }
    public var listValue: [DynamoValue]? { if case .list(let value) = self { value } else { nil } }

    private enum Key: String, CodingKey { case S, N, B, BOOL, NULL, M, L, SS, NS }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let value = try container.decodeIfPresent(String.self, forKey: .S) { self = .string(value) }
        else if let value = try container.decodeIfPresent(String.self, forKey: .N) { self = .number(value) }
        else if let value = try container.decodeIfPresent(String.self, forKey: .B) {
            self = .binary(Base64.decode(value) ?? [])
        } else if let value = try container.decodeIfPresent(Bool.self, forKey: .BOOL) { self = .bool(value) }
        else if container.contains(.NULL) { self = .null }
        else if let value = try container.decodeIfPresent([String: DynamoValue].self, forKey: .M) { self = .map(value) }
        else if let value = try container.decodeIfPresent([DynamoValue].self, forKey: .L) { self = .list(value) }
        else if let value = try container.decodeIfPresent([String].self, forKey: .SS) { self = .stringSet(value) }
        else if let value = try container.decodeIfPresent([String].self, forKey: .NS) { self = .numberSet(value) }
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unsupported DynamoDB attribute value"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .string(let value): try container.encode(value, forKey: .S)
        case .number(let value): try container.encode(value, forKey: .N)
        case .binary(let value): try container.encode(Base64.encode(value), forKey: .B)
        case .bool(let value): try container.encode(value, forKey: .BOOL)
        case .null: try container.encode(true, forKey: .NULL)
        case .map(let value): try container.encode(value, forKey: .M)
        case .list(let value): try container.encode(value, forKey: .L)
        case .stringSet(let value): try container.encode(value, forKey: .SS)
        case .numberSet(let value): try container.encode(value, forKey: .NS)
        }
    }
}

public typealias DynamoItem = [String: DynamoValue]

/// Condition/projection expression parts shared by the write calls.
public struct DynamoExpression: Sendable, Equatable {
    public var condition: String?
    /// `#name` placeholders.
    public var names: [String: String]
    /// `:value` placeholders.
    public var values: DynamoItem

    public init(condition: String? = nil, names: [String: String] = [:], values: DynamoItem = [:]) {
        self.condition = condition
        self.names = names
        self.values = values
    }
}

/// DynamoDB (JSON 1.0, `DynamoDB_20120810`).
public enum DynamoDB {
    public struct QueryPage: Sendable {
        public var items: [DynamoItem]
        public var lastEvaluatedKey: DynamoItem?
    }

    /// One element of TransactWriteItems.
    public enum TransactWrite: Sendable {
        case put(table: String, item: DynamoItem, expression: DynamoExpression = DynamoExpression())
        case update(table: String, key: DynamoItem, updateExpression: String,
                    expression: DynamoExpression = DynamoExpression())
        case delete(table: String, key: DynamoItem, expression: DynamoExpression = DynamoExpression())
        case conditionCheck(table: String, key: DynamoItem, expression: DynamoExpression)
    }

    struct ItemBody: Encodable {
        var TableName: String
        var Key: DynamoItem?
        var Item: DynamoItem?
        var UpdateExpression: String?
        var ConditionExpression: String?
        var ExpressionAttributeNames: [String: String]?
        var ExpressionAttributeValues: DynamoItem?
        var ConsistentRead: Bool?
        var ReturnValues: String?

        init(table: String, key: DynamoItem? = nil, item: DynamoItem? = nil, update: String? = nil,
             expression: DynamoExpression = DynamoExpression(), consistentRead: Bool? = nil,
             returnValues: String? = nil) {
            TableName = table
            Key = key
            Item = item
            UpdateExpression = update
            ConditionExpression = expression.condition
            ExpressionAttributeNames = expression.names.isEmpty ? nil : expression.names
            ExpressionAttributeValues = expression.values.isEmpty ? nil : expression.values
            ConsistentRead = consistentRead
            ReturnValues = returnValues
        }
    }

    struct ItemOutput: Decodable {
        var Item: DynamoItem?
        var Attributes: DynamoItem?
    }

    struct QueryInput: Encodable {
        var TableName: String
        var IndexName: String?
        var KeyConditionExpression: String
        var FilterExpression: String?
        var ExpressionAttributeNames: [String: String]?
        var ExpressionAttributeValues: DynamoItem?
        var Limit: Int?
        var ExclusiveStartKey: DynamoItem?
        var ScanIndexForward: Bool?
        var ConsistentRead: Bool?
    }

    struct QueryOutput: Decodable {
        var Items: [DynamoItem]?
        var LastEvaluatedKey: DynamoItem?
    }

    struct TransactInput: Encodable {
        var TransactItems: [Element]
        var ClientRequestToken: String

        struct Element: Encodable {
            var Put: ItemBody?
            var Update: ItemBody?
            var Delete: ItemBody?
            var ConditionCheck: ItemBody?
        }
    }

    struct CreateTableInput: Encodable {
        var TableName: String
        var AttributeDefinitions: [[String: String]]
        var KeySchema: [[String: String]]
        var BillingMode = "PAY_PER_REQUEST"
    }
}

extension AWSClient {
    /// GetItem; nil when there is no such item.
    public func getItem(table: String, key: DynamoItem, consistentRead: Bool = false) throws(AWSError) -> DynamoItem? {
        try jsonCall(.dynamoDB, target: "GetItem",
                     input: DynamoDB.ItemBody(table: table, key: key, consistentRead: consistentRead ? true : nil),
                     as: DynamoDB.ItemOutput.self).Item
    }

    /// PutItem, optionally conditional (`attribute_not_exists(pk)` makes it a create-once write). A failed
    /// condition throws `ConditionalCheckFailedException` (`AWSError.isConditionFailure`). A conditional put is not
    /// retried after ambiguous failures (its retry could fail its own condition).
    public func putItem(table: String, item: DynamoItem, expression: DynamoExpression = DynamoExpression())
        throws(AWSError)
    {
        _ = try jsonCall(.dynamoDB, target: "PutItem",
                         input: DynamoDB.ItemBody(table: table, item: item, expression: expression),
                         isIdempotent: expression.condition == nil, as: EmptyJSON.self)
    }

    /// UpdateItem; returns the attributes selected by `returnValues` (`ALL_NEW`, `UPDATED_NEW`, …, or `NONE`).
    /// Without an update expression the call only creates the item when it is absent (key attributes alone).
    /// Counter updates (`ADD n :one`) are not idempotent: pass `isIdempotent: false` (the default) and they are
    /// retried only after failures that prove nothing was written.
    @discardableResult
    public func updateItem(
        table: String, key: DynamoItem, updateExpression: String?, expression: DynamoExpression = DynamoExpression(),
        returnValues: String = "ALL_NEW", isIdempotent: Bool = false
    ) throws(AWSError) -> DynamoItem {
        try jsonCall(.dynamoDB, target: "UpdateItem",
                     input: DynamoDB.ItemBody(table: table, key: key, update: updateExpression,
                                              expression: expression, returnValues: returnValues),
                     isIdempotent: isIdempotent, as: DynamoDB.ItemOutput.self).Attributes ?? [:]
    }

    /// DeleteItem, optionally conditional. With `returnOldItem` the deleted item's attributes come back (nil when
    /// there was no such item); otherwise nil.
    @discardableResult
    public func deleteItem(table: String, key: DynamoItem, expression: DynamoExpression = DynamoExpression(),
                           returnOldItem: Bool = false) throws(AWSError) -> DynamoItem?
    {
        let attributes = try jsonCall(
            .dynamoDB, target: "DeleteItem",
            input: DynamoDB.ItemBody(table: table, key: key, expression: expression,
                                     returnValues: returnOldItem ? "ALL_OLD" : nil),
            isIdempotent: expression.condition == nil, as: DynamoDB.ItemOutput.self).Attributes
        guard let attributes, !attributes.isEmpty else { return nil }
        return attributes
    }

    /// One Query page.
    public func query(
        table: String, indexName: String? = nil, keyCondition: String, filter: String? = nil,
        names: [String: String] = [:], values: DynamoItem = [:], limit: Int? = nil,
        exclusiveStartKey: DynamoItem? = nil, scanForward: Bool = true, consistentRead: Bool = false
    ) throws(AWSError) -> DynamoDB.QueryPage {
        let output = try jsonCall(
            .dynamoDB, target: "Query",
            input: DynamoDB.QueryInput(
                TableName: table, IndexName: indexName, KeyConditionExpression: keyCondition, FilterExpression: filter,
                ExpressionAttributeNames: names.isEmpty ? nil : names,
                ExpressionAttributeValues: values.isEmpty ? nil : values, Limit: limit,
                ExclusiveStartKey: exclusiveStartKey, ScanIndexForward: scanForward ? nil : false,
                ConsistentRead: consistentRead ? true : nil),
            as: DynamoDB.QueryOutput.self)
        return DynamoDB.QueryPage(items: output.Items ?? [], lastEvaluatedKey: output.LastEvaluatedKey)
    }

    /// Query following `LastEvaluatedKey` to the end.
    public func queryAll(table: String, indexName: String? = nil, keyCondition: String, filter: String? = nil,
                         names: [String: String] = [:], values: DynamoItem = [:], pageSize: Int? = nil)
        throws(AWSError) -> [DynamoItem]
    {
        var items: [DynamoItem] = []
        var start: DynamoItem?
        repeat {
            let page = try query(table: table, indexName: indexName, keyCondition: keyCondition, filter: filter,
                                 names: names, values: values, limit: pageSize, exclusiveStartKey: start)
            items += page.items
            start = page.lastEvaluatedKey
        } while start != nil
        return items
    }

    /// TransactWriteItems (≤ 100 items). A client request token makes retries idempotent for 10 minutes, so the
    /// call is retried normally; a cancelled transaction throws `TransactionCanceledException` with
    /// `AWSError.cancellationReasons`.
    public func transactWriteItems(_ items: [DynamoDB.TransactWrite], clientRequestToken: String = RandomID.uuidString())
        throws(AWSError)
    {
        let elements = items.map { item -> DynamoDB.TransactInput.Element in
            switch item {
            case .put(let table, let value, let expression):
                DynamoDB.TransactInput.Element(Put: .init(table: table, item: value, expression: expression))
            case .update(let table, let key, let update, let expression):
                DynamoDB.TransactInput.Element(Update: .init(table: table, key: key, update: update,
                                                             expression: expression))
            case .delete(let table, let key, let expression):
                DynamoDB.TransactInput.Element(Delete: .init(table: table, key: key, expression: expression))
            case .conditionCheck(let table, let key, let expression):
                DynamoDB.TransactInput.Element(ConditionCheck: .init(table: table, key: key, expression: expression))
            }
        }
        _ = try jsonCall(.dynamoDB, target: "TransactWriteItems",
                         input: DynamoDB.TransactInput(TransactItems: elements, ClientRequestToken: clientRequestToken),
                         as: EmptyJSON.self)
    }

    /// CreateTable (on-demand billing) with a string partition key and optional string sort key; used by deploy
    /// tooling and tests.
    public func createTable(_ table: String, partitionKey: String, sortKey: String? = nil) throws(AWSError) {
        var definitions = [["AttributeName": partitionKey, "AttributeType": "S"]]
        var schema = [["AttributeName": partitionKey, "KeyType": "HASH"]]
        if let sortKey {
            definitions.append(["AttributeName": sortKey, "AttributeType": "S"])
            schema.append(["AttributeName": sortKey, "KeyType": "RANGE"])
        }
        _ = try jsonCall(.dynamoDB, target: "CreateTable",
                         input: DynamoDB.CreateTableInput(TableName: table, AttributeDefinitions: definitions,
                                                          KeySchema: schema),
                         isIdempotent: false, as: EmptyJSON.self)
    }
}
