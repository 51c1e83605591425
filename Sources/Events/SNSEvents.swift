import OdinBasics

/// A Lambda SNS event: `Records[].Sns{Subject, Message, TopicArn, Timestamp}`.
public struct SNSEvent: Decodable, Sendable, Equatable {
    public struct Record: Decodable, Sendable, Equatable {
        public var eventSource: String?
        public var sns: Message
        enum CodingKeys: String, CodingKey {
            case eventSource = "EventSource"
            case sns = "Sns"
        }
    }

    public struct Message: Decodable, Sendable, Equatable {
        public var messageID: String?
        public var topicARN: String?
        public var subject: String?
        public var message: String
        public var timestamp: String?
        enum CodingKeys: String, CodingKey {
            case messageID = "MessageId"
            case topicARN = "TopicArn"
            case subject = "Subject"
            case message = "Message"
            case timestamp = "Timestamp"
        }
    }

    public var records: [Record]
    enum CodingKeys: String, CodingKey { case records = "Records" }

    public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> SNSEvent {
        let event = try EventJSON.decode(SNSEvent.self, from: bytes)
        guard !event.records.isEmpty else { throw EventDecodingError(field: "Records", "no records") }
        for (index, record) in event.records.enumerated() {
            if let error = record.sourceError(index: index) { throw error }
        }
        return event
    }

    /// Decodes each record on its own: the envelope (a non-empty `Records` array) must be an SNS event, but a record
    /// that is malformed comes back as its error (naming `Records[i]…`) and does not stop the others.
    public static func decodeRecords(_ bytes: some Collection<UInt8>) throws(EventDecodingError)
        -> [Result<Record, EventDecodingError>] {
        let envelope = try EventJSON.decode(LenientEnvelope.self, from: bytes)
        guard !envelope.records.isEmpty else { throw EventDecodingError(field: "Records", "no records") }
        return envelope.records.enumerated().map { index, slot in
            slot.result.flatMap { record in record.sourceError(index: index).map { .failure($0) } ?? .success(record) }
        }
    }

    /// `Records[]` whose entries decode one by one (a bad entry keeps its error, with its full JSON path).
    struct LenientEnvelope: Decodable {
        var records: [Slot]
        enum CodingKeys: String, CodingKey { case records = "Records" }
    }

    struct Slot: Decodable {
        var result: Result<Record, EventDecodingError>
        init(from decoder: any Decoder) throws {
            do {
                result = .success(try Record(from: decoder))
            } catch let error as DecodingError {
                result = .failure(EventJSON.describe(error, prefix: ""))
            } catch {
                result = .failure(EventDecodingError(field: EventJSON.path(decoder.codingPath, prefix: ""), "\(error)"))
            }
        }
    }
}

extension SNSEvent.Record {
    /// An error when the record says it comes from another service than SNS.
    func sourceError(index: Int) -> EventDecodingError? {
        guard let source = eventSource, source != "aws:sns" else { return nil }
        return EventDecodingError(field: "Records[\(index)].EventSource", "expected \"aws:sns\", found \"\(source)\"")
    }
}

/// An AWS Budgets notification, parsed from its plain-text SNS message (aws-batch-facts.md §1.11). The raw text is kept.
public struct BudgetNotification: Sendable, Equatable {
    public var budgetName: String
    /// `ACTUAL` or `FORECASTED`.
    public var alertType: String?
    public var threshold: String?
    public var budgetedAmount: String?
    public var actualAmount: String?
    public var raw: String

    /// True when `subject` or `message` looks like an AWS Budgets notification.
    public static func matches(subject: String?, message: String) -> Bool {
        (subject?.hasPrefix("AWS Budgets:") ?? false) || message.containsUTF8("AWS Budget Notification")
    }

    /// Parses `Budget Name: …` and the other `Label: value` lines; the name may also come from the subject
    /// (`AWS Budgets: <name> has exceeded your alert threshold`).
    public static func parse(subject: String?, message: String,
                             field: String = "Records[0].Sns.Message") throws(EventDecodingError) -> BudgetNotification {
        var fields: [String: String] = [:]
        for line in message.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let label = trimmed(line[..<colon])
            let value = trimmed(line[line.index(after: colon)...])
            if fields[label] == nil { fields[label] = value }
        }
        var name = fields["Budget Name"]
        if name == nil, let subject, subject.hasPrefix("AWS Budgets:") {
            let rest = subject.dropFirst("AWS Budgets:".count)
            let words = rest.split(separator: " ")
            if let end = words.firstIndex(of: "has"), end > 0 {
                name = words[..<end].joined(separator: " ")
            }
        }
        guard let name, !name.isEmpty else {
            throw EventDecodingError(field: field,
                                     "AWS Budgets notification without a \"Budget Name:\" line or a subject naming it")
        }
        let actual = fields.first { $0.key.hasSuffix("Amount") && $0.key != "Budgeted Amount" }?.value
        return BudgetNotification(budgetName: name, alertType: fields["Alert Type"],
                                  threshold: fields["Alert Threshold"], budgetedAmount: fields["Budgeted Amount"],
                                  actualAmount: actual, raw: message)
    }

    /// True for a `FORECASTED` alert (spend predicted to cross the threshold, not spent yet).
    public var isForecast: Bool { alertType?.uppercased() == "FORECASTED" }

    /// The alert threshold as an amount in the budget's currency: `> $80.00` is 80; a percentage threshold
    /// (`> 80%`, `> 80.00%`) is that share of the budgeted amount. Nil when unreadable.
    public var thresholdAmount: Double? {
        guard let threshold, let number = Self.amount(threshold) else { return nil }
        guard threshold.contains("%") else { return number }
        return budgetedAmount.flatMap(Self.amount).map { $0 * number / 100 }
    }

    /// The ACTUAL (or FORECASTED) amount the notification reports, as a number. Nil when unreadable.
    public var reportedAmount: Double? { actualAmount.flatMap(Self.amount) }

    /// The first number in `text` (`$1,234.56`, `USD 83.41`, `83.41 EUR`): digits and one decimal point, thousands
    /// separators dropped. Nil when there is none.
    public static func amount(_ text: String) -> Double? {
        var digits = ""
        var started = false
        for character in text {
            if character.isASCII && character.isNumber {
                digits.append(character)
                started = true
            } else if started && character == "," {
                continue
            } else if started && character == "." && !digits.contains(".") {
                digits.append(character)
            } else if started {
                break
            }
        }
        if digits.hasSuffix(".") { digits.removeLast() }
        return digits.isEmpty ? nil : Double(digits)
    }
}

/// `text` without leading and trailing spaces and tabs.
func trimmed(_ text: Substring) -> String {
    var slice = text
    while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
    while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
    return String(slice)
}

/// A CloudWatch alarm state change as SNS delivers it (`Message` is a JSON string).
public struct CloudWatchAlarm: Decodable, Sendable, Equatable {
    public var alarmName: String
    public var alarmDescription: String?
    public var accountID: String?
    public var newStateValue: String
    public var newStateReason: String?
    public var stateChangeTime: String?
    public var oldStateValue: String?
    public var region: String?
    public var alarmARN: String?

    enum CodingKeys: String, CodingKey {
        case alarmName = "AlarmName"
        case alarmDescription = "AlarmDescription"
        case accountID = "AWSAccountId"
        case newStateValue = "NewStateValue"
        case newStateReason = "NewStateReason"
        case stateChangeTime = "StateChangeTime"
        case oldStateValue = "OldStateValue"
        case region = "Region"
        case alarmARN = "AlarmArn"
    }

    public var isAlarm: Bool { newStateValue == "ALARM" }

    /// Members that only a CloudWatch alarm notification has; a JSON message with any of them is read as one.
    public static let structuralKeys: Set<String> = ["AlarmName", "NewStateValue", "Trigger", "AlarmArn"]
}

/// What arrived on the budget topic.
public enum BudgetSignal: Sendable, Equatable {
    case budget(BudgetNotification)
    case alarm(CloudWatchAlarm)

    /// One SNS record of the budget topic: its position, SNS message id, and what it carried or why it could not be
    /// read (the error names the field, `Records[i].Sns.Message…`).
    public struct Record: Sendable, Equatable {
        public var index: Int
        public var messageID: String?
        public var signal: Result<BudgetSignal, EventDecodingError>

        public init(index: Int, messageID: String?, signal: Result<BudgetSignal, EventDecodingError>) {
            self.index = index
            self.messageID = messageID
            self.signal = signal
        }
    }

    /// Decodes every SNS record on its own: a record that is malformed or unrecognised comes back as its error and
    /// never hides the others. Throws only when the event itself is not an SNS event with records.
    public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> [Record] {
        try SNSEvent.decodeRecords(bytes).enumerated().map { index, record in
            switch record {
            case .failure(let error):
                return Record(index: index, messageID: nil, signal: .failure(error))
            case .success(let record):
                let signal: Result<BudgetSignal, EventDecodingError>
                do throws(EventDecodingError) {
                    signal = .success(try recognise(subject: record.sns.subject, message: record.sns.message,
                                                    field: "Records[\(index)].Sns.Message"))
                } catch { signal = .failure(error) }
                return Record(index: index, messageID: record.sns.messageID, signal: signal)
            }
        }
    }

    /// Recognises one message by its structure, never by words inside it: a JSON object with `AlarmName` and
    /// `NewStateValue` (and usually `Trigger`) is a CloudWatch alarm, whatever its `AlarmDescription` says; a JSON
    /// object without them is not a signal; plain text is an AWS Budgets notification when its subject starts with
    /// `AWS Budgets:` or it carries the `AWS Budget Notification` heading.
    public static func recognise(subject: String?, message: String,
                                 field: String) throws(EventDecodingError) -> BudgetSignal {
        let body = message.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        if body.hasPrefix("{") {
            let keys = EventJSON.topLevelKeys(of: Array(body.utf8))
            guard !keys.isDisjoint(with: CloudWatchAlarm.structuralKeys) else {
                throw EventDecodingError(field: field, keys.isEmpty
                    ? "starts with \"{\" but is not a JSON object"
                    : "JSON without AlarmName/NewStateValue/Trigger is not a CloudWatch alarm")
            }
            return .alarm(try EventJSON.decode(CloudWatchAlarm.self, from: Array(body.utf8), fieldPrefix: field + "."))
        }
        guard BudgetNotification.matches(subject: subject, message: message) else {
            throw EventDecodingError(field: field, "neither an AWS Budgets notification nor CloudWatch alarm JSON")
        }
        return .budget(try BudgetNotification.parse(subject: subject, message: message, field: field))
    }
}
