
/// One S3 object that was created, whatever envelope carried it (S3 notification, SQS, EventBridge).
public struct ObjectCreated: Sendable, Equatable {
    public var bucket: String
    /// The decoded key (`+` → space, `%XX` → byte): what GetObject needs.
    public var key: String
    public var size: Int64
    public var eTag: String?
    public var versionID: String?
    /// Hex sequencer (orders events for one key only).
    public var sequencer: String?
    public var eventTime: String?

    public init(bucket: String, key: String, size: Int64, eTag: String? = nil, versionID: String? = nil,
                sequencer: String? = nil, eventTime: String? = nil) {
        self.bucket = bucket
        self.key = key
        self.size = size
        self.eTag = eTag
        self.versionID = versionID
        self.sequencer = sequencer
        self.eventTime = eventTime
    }

    /// The de-duplication identity: bucket + key + (versionId | eTag).
    public var identity: String { "\(bucket)/\(key)#\(versionID ?? eTag.map { "etag:" + $0 } ?? "size:\(size)")" }
}

/// An S3 event notification (`Records[]`), or the `s3:TestEvent` sent when the notification is configured.
public struct S3Notification: Decodable, Sendable, Equatable {
    public struct Record: Decodable, Sendable, Equatable {
        public var eventVersion: String?
        public var eventSource: String?
        public var eventTime: String?
        public var eventName: String
        public var s3: Entity
    }

    public struct Entity: Decodable, Sendable, Equatable {
        public var bucket: Bucket
        public var object: Object
    }

    public struct Bucket: Decodable, Sendable, Equatable {
        public var name: String
        public var arn: String?
    }

    public struct Object: Decodable, Sendable, Equatable {
        public var key: String
        public var size: Int64?
        public var eTag: String?
        public var versionId: String?
        public var sequencer: String?
    }

    public var records: [Record]
    /// Set for `{"Service":"Amazon S3","Event":"s3:TestEvent",…}`.
    public var testEvent: String?

    enum CodingKeys: String, CodingKey {
        case records = "Records"
        case testEvent = "Event"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        testEvent = try container.decodeIfPresent(String.self, forKey: .testEvent)
        if testEvent != nil {
            records = try container.decodeIfPresent([Record].self, forKey: .records) ?? []
        } else {
            records = try container.decode([Record].self, forKey: .records)
        }
    }

    public var isTestEvent: Bool { testEvent == "s3:TestEvent" }

    /// The created objects, with keys decoded. Records that are not `ObjectCreated:*` are left out (and counted by
    /// the caller from `records.count`).
    public func createdObjects(fieldPrefix: String = "") throws(EventDecodingError) -> [ObjectCreated] {
        var result: [ObjectCreated] = []
        for (index, record) in records.enumerated() {
            if let version = record.eventVersion, !version.hasPrefix("2.") {
                throw EventDecodingError(field: "\(fieldPrefix)Records[\(index)].eventVersion",
                                         "major version \(version) is not supported (expected 2.x)")
            }
        }
        for (index, record) in records.enumerated() where record.eventName.hasPrefix("ObjectCreated:") {
            if let source = record.eventSource, source != "aws:s3" {
                throw EventDecodingError(field: "\(fieldPrefix)Records[\(index)].eventSource",
                                         "expected \"aws:s3\", found \"\(source)\"")
            }
            guard let key = S3Key.decode(record.s3.object.key) else {
                throw EventDecodingError(field: "\(fieldPrefix)Records[\(index)].s3.object.key",
                                         "not a valid form-URL-encoded key: \(record.s3.object.key)")
            }
            result.append(ObjectCreated(bucket: record.s3.bucket.name, key: key, size: record.s3.object.size ?? 0,
                                        eTag: record.s3.object.eTag, versionID: record.s3.object.versionId,
                                        sequencer: record.s3.object.sequencer, eventTime: record.eventTime))
        }
        return result
    }
}

/// S3 notification keys are form-URL-encoded: `+` is a space, `%XX` a byte.
public enum S3Key {
    /// Decodes a notification key; nil when a `%` escape is malformed or the bytes are not UTF-8.
    public static func decode(_ encoded: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.utf8.count)
        var iterator = encoded.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue)
                else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The S3 "Object Created" event as EventBridge delivers it (keys are NOT URL-encoded there).
public struct EventBridgeObjectCreated: Decodable, Sendable, Equatable {
    public struct Detail: Decodable, Sendable, Equatable {
        public struct Bucket: Decodable, Sendable, Equatable { public var name: String }
        public struct Object: Decodable, Sendable, Equatable {
            public var key: String
            public var size: Int64?
            public var etag: String?
            public var versionID: String?
            public var sequencer: String?
            enum CodingKeys: String, CodingKey {
                case key, size, etag, sequencer
                case versionID = "version-id"
            }
        }
        public var bucket: Bucket
        public var object: Object
    }

    public var header: EventBridgeHeader
    public var detail: Detail

    enum CodingKeys: String, CodingKey { case detail }

    public init(from decoder: any Decoder) throws {
        header = try EventBridgeHeader(from: decoder)
        detail = try decoder.container(keyedBy: CodingKeys.self).decode(Detail.self, forKey: .detail)
    }

    public var object: ObjectCreated {
        ObjectCreated(bucket: detail.bucket.name, key: detail.object.key, size: detail.object.size ?? 0,
                      eTag: detail.object.etag, versionID: detail.object.versionID,
                      sequencer: detail.object.sequencer, eventTime: header.time)
    }
}

/// An SQS event (`Records[].body`), each body one S3 notification (or an S3 test event).
public struct SQSEvent: Decodable, Sendable, Equatable {
    public struct Message: Decodable, Sendable, Equatable {
        public var messageId: String
        public var body: String
        public var eventSource: String?
    }
    public var records: [Message]
    enum CodingKeys: String, CodingKey { case records = "Records" }
}

/// What the ingest function receives, recognised by shape.
public enum IngestEvent: Sendable, Equatable {
    case objects([ObjectCreated], testEvents: Int, otherRecords: Int)

    /// Decodes a direct S3 notification, an SQS batch of S3 notifications, or an EventBridge "Object Created".
    public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> IngestEvent {
        let keys = try EventJSON.decode(AnyKeys.self, from: bytes).keys
        if keys.contains("detail-type") {
            let header = try EventJSON.decode(EventBridgeHeader.self, from: bytes)
            guard header.source == "aws.s3", header.detailType == "Object Created" else {
                throw EventDecodingError(field: "detail-type",
                                         "expected an aws.s3 \"Object Created\" event, found \(header.source) \"\(header.detailType)\"")
            }
            let event = try EventJSON.decode(EventBridgeObjectCreated.self, from: bytes)
            return .objects([event.object], testEvents: 0, otherRecords: 0)
        }
        if keys.contains("Event") && !keys.contains("Records") {
            let note = try EventJSON.decode(S3Notification.self, from: bytes)
            guard note.isTestEvent else {
                throw EventDecodingError(field: "Event", "expected \"s3:TestEvent\", found \"\(note.testEvent ?? "")\"")
            }
            return .objects([], testEvents: 1, otherRecords: 0)
        }
        guard keys.contains("Records") else {
            throw EventDecodingError(field: "Records", "required field is missing (not an S3, SQS or EventBridge event)")
        }
        if let sqs = try? EventJSON.decode(SQSEvent.self, from: bytes), sqs.records.allSatisfy({ $0.eventSource == nil || $0.eventSource == "aws:sqs" }),
           !sqs.records.isEmpty {
            var objects: [ObjectCreated] = []
            var tests = 0
            var other = 0
            for (index, message) in sqs.records.enumerated() {
                let prefix = "Records[\(index)].body."
                let note = try EventJSON.decode(S3Notification.self, from: Array(message.body.utf8),
                                                fieldPrefix: prefix)
                if note.isTestEvent { tests += 1; continue }
                let created = try note.createdObjects(fieldPrefix: prefix)
                other += note.records.count - created.count
                objects += created
            }
            return .objects(objects, testEvents: tests, otherRecords: other)
        }
        let note = try EventJSON.decode(S3Notification.self, from: bytes)
        if note.isTestEvent { return .objects([], testEvents: 1, otherRecords: 0) }
        let created = try note.createdObjects()
        return .objects(created, testEvents: 0, otherRecords: note.records.count - created.count)
    }
}
