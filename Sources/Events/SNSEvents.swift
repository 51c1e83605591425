import FoundationEssentials

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
            if let source = record.eventSource, source != "aws:sns" {
                throw EventDecodingError(field: "Records[\(index)].EventSource",
                                         "expected \"aws:sns\", found \"\(source)\"")
            }
        }
        return event
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
        (subject?.hasPrefix("AWS Budgets:") ?? false) || message.contains("AWS Budget Notification")
    }

    /// Parses `Budget Name: …` and the other `Label: value` lines; the name may also come from the subject
    /// (`AWS Budgets: <name> has exceeded your alert threshold`).
    public static func parse(subject: String?, message: String) throws(EventDecodingError) -> BudgetNotification {
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
            throw EventDecodingError(field: "Records[0].Sns.Message",
                                     "AWS Budgets notification without a \"Budget Name:\" line or a subject naming it")
        }
        let actual = fields.first { $0.key.hasSuffix("Amount") && $0.key != "Budgeted Amount" }?.value
        return BudgetNotification(budgetName: name, alertType: fields["Alert Type"],
                                  threshold: fields["Alert Threshold"], budgetedAmount: fields["Budgeted Amount"],
                                  actualAmount: actual, raw: message)
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
}

/// What arrived on the budget topic.
public enum BudgetSignal: Sendable, Equatable {
    case budget(BudgetNotification)
    case alarm(CloudWatchAlarm)

    /// Recognises each SNS record's message: Budgets plain text or CloudWatch alarm JSON.
    public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> [BudgetSignal] {
        let event = try SNSEvent.decode(bytes)
        var signals: [BudgetSignal] = []
        for (index, record) in event.records.enumerated() {
            let message = record.sns.message
            if BudgetNotification.matches(subject: record.sns.subject, message: message) {
                do {
                    signals.append(.budget(try BudgetNotification.parse(subject: record.sns.subject, message: message)))
                } catch {
                    throw EventDecodingError(field: "Records[\(index)].Sns.Message", error.message)
                }
            } else if message.hasPrefix("{") {
                signals.append(.alarm(try EventJSON.decode(CloudWatchAlarm.self, from: Array(message.utf8),
                                                           fieldPrefix: "Records[\(index)].Sns.Message.")))
            } else {
                throw EventDecodingError(field: "Records[\(index)].Sns.Message",
                                         "neither an AWS Budgets notification nor CloudWatch alarm JSON")
            }
        }
        return signals
    }
}
