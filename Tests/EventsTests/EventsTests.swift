import Events
import FoundationEssentials
import Testing

/// The shared `events/` samples.
func sample(_ name: String) throws -> [UInt8] {
    let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    guard let data = FileManager.default.contents(atPath: "/\(root)/events/\(name)") else {
        throw EventDecodingError(field: name, "sample file missing")
    }
    return [UInt8](data)
}

@Suite struct S3EventTests {
    @Test func putWithPlusEncodedKeyIsDecoded() throws {
        guard case .objects(let objects, let tests, let other) = try IngestEvent.decode(try sample("s3-put.json")) else {
            Issue.record("not objects"); return
        }
        #expect(tests == 0 && other == 0)
        #expect(objects.count == 1)
        #expect(objects[0].key == "raw/cam01/DCIM/100MEDIA/Roe deer at dusk (burst) 0001.JPG")
        #expect(objects[0].bucket == "odin-prod-data-123456789012")
        #expect(objects[0].versionID == "096fKKXTRTtl3on89fVO.nfljtsv6qko")
        #expect(objects[0].size == 3_145_728)
    }

    @Test func testEventIsAccepted() throws {
        #expect(try IngestEvent.decode(try sample("s3-test-event.json")) == .objects([], testEvents: 1, otherRecords: 0))
    }

    @Test func sqsWrappedNotificationsAndTestEvent() throws {
        guard case .objects(let objects, let tests, _) = try IngestEvent.decode(try sample("sqs-s3.json")) else {
            Issue.record("not objects"); return
        }
        #expect(tests == 1)
        #expect(objects.map(\.key) == ["raw/cam01/DCIM/100MEDIA/Roe deer at dusk (burst) 0001.JPG",
                                       "raw/cam02/clip 0007.MP4"])
    }

    @Test func eventBridgeObjectCreatedKeepsKeyVerbatim() throws {
        guard case .objects(let objects, _, _) = try IngestEvent.decode(try sample("eventbridge-s3.json")) else {
            Issue.record("not objects"); return
        }
        #expect(objects.map(\.key) == ["raw/cam03/IMG 0042.JPG"])
        #expect(objects[0].eTag == "b1946ac92492d2347c6235b4d2611184")
    }

    @Test func keyDecoding() {
        #expect(S3Key.decode("a+b%2Bc%C3%A5") == "a b+cå")
        #expect(S3Key.decode("bad%2") == nil)
        #expect(S3Key.decode("bad%zz") == nil)
    }

    @Test func errorsNameTheField() {
        let missingKey = #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"size":1}}}]}"#
        #expect(throws: EventDecodingError(field: "Records[0].s3.object.key", "required field is missing")) {
            try IngestEvent.decode(Array(missingKey.utf8))
        }
        let wrongType = #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":"x"}}}]}"#
        do {
            _ = try IngestEvent.decode(Array(wrongType.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "Records[0].s3.object.size")
        }
        #expect(throws: EventDecodingError.self) { try IngestEvent.decode(Array("{}".utf8)) }
        do {
            _ = try IngestEvent.decode(Array("not json".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "$")
        }
        let v3 = #"{"Records":[{"eventVersion":"3.0","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#
        do { _ = try IngestEvent.decode(Array(v3.utf8)) } catch { #expect(error.field == "Records[0].eventVersion") }
        do {
            _ = try IngestEvent.decode(Array(#"{"hello":1}"#.utf8))
        } catch {
            #expect(error.field == "Records")
        }
    }
}

@Suite struct BatchEventTests {
    @Test func succeededChild() throws {
        let event = try BatchJobStateChange.decode(try sample("job-done.json"))
        #expect(event.detail.status == .succeeded)
        #expect(event.detail.arrayIndex == 3)
        #expect(event.detail.parentJobID == "4e1c2a9e-0c7d-4c59-9a3e-2b9d5f1e7a10")
        #expect(event.detail.queueName == "odin-prod-spot")
        #expect(event.detail.vcpus == 4)
        #expect(event.detail.tags?["odin:run"] == "run-20260614-0532-cam01")
        #expect(event.detail.attemptCount == 1)
    }

    @Test func hostEC2FailureAndRunnableTimeout() throws {
        let reclaimed = try BatchJobStateChange.decode(try sample("job-failed-host-ec2.json"))
        #expect(reclaimed.detail.status == .failed)
        #expect(reclaimed.detail.statusReason?.hasPrefix("Host EC2") == true)
        #expect(reclaimed.detail.attemptCount == 3)
        let cancelled = try BatchJobStateChange.decode(try sample("job-runnable-timeout.json"))
        #expect(cancelled.detail.statusReason?.hasPrefix("Canceled by JobStateTimeLimit action") == true)
        #expect(cancelled.detail.attemptCount == 0)
    }

    @Test func unknownFieldsAreIgnoredAndWrongSourceNamed() throws {
        let text = #"{"detail-type":"Batch Job State Change","source":"aws.batch","future":{"x":1},"detail":{"jobName":"j","jobId":"i","jobQueue":"q","status":"RUNNING","newField":[1,2]}}"#
        #expect(try BatchJobStateChange.decode(Array(text.utf8)).detail.status == .running)
        let wrong = #"{"detail-type":"Batch Job State Change","source":"aws.ec2","detail":{}}"#
        #expect(throws: EventDecodingError(field: "source", "expected \"aws.batch\", found \"aws.ec2\"")) {
            try BatchJobStateChange.decode(Array(wrong.utf8))
        }
        let badStatus = #"{"detail-type":"Batch Job State Change","source":"aws.batch","detail":{"jobName":"j","jobId":"i","jobQueue":"q","status":"EXPLODED"}}"#
        do {
            _ = try BatchJobStateChange.decode(Array(badStatus.utf8))
        } catch {
            #expect(error.field == "detail.status")
        }
    }

    @Test func scheduledEvent() throws {
        let event = try ScheduledEvent.decode(try sample("scheduled.json"))
        #expect(event.header.detailType == "Scheduled Event")
        #expect(throws: EventDecodingError.self) { try ScheduledEvent.decode(try sample("job-done.json")) }
    }
}

@Suite struct BudgetSignalTests {
    /// The signals of an event, failing the test on an unreadable record.
    static func signals(_ bytes: [UInt8]) throws -> [BudgetSignal] {
        try BudgetSignal.decode(bytes).map { try $0.signal.get() }
    }

    static func quoted(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self)
    }

    /// An SNS event with one record per (subject, message).
    static func event(_ records: [(subject: String?, message: String)]) -> [UInt8] {
        let items = records.map { record in
            let subject = record.subject.map { #""Subject":\#(Self.quoted($0)),"# } ?? ""
            return #"{"EventSource":"aws:sns","Sns":{\#(subject)"Message":\#(Self.quoted(record.message))}}"#
        }
        return Array(#"{"Records":[\#(items.joined(separator: ","))]}"#.utf8)
    }

    @Test func budgetsPlainText() throws {
        let signals = try Self.signals(try sample("sns-budget.json"))
        guard case .budget(let note) = signals.first else { Issue.record("not a budget"); return }
        #expect(note.budgetName == "odin-monthly")
        #expect(note.alertType == "ACTUAL")
        #expect(note.threshold == "> $80.00")
        #expect(note.actualAmount == "$83.41")
        #expect(note.thresholdAmount == 80)
        #expect(note.reportedAmount == 83.41)
        #expect(!note.isForecast)
        #expect(note.raw.contains("Dear AWS Customer"))
    }

    @Test func stopAndForecastSamples() throws {
        guard case .budget(let stop) = try Self.signals(try sample("sns-budget-stop.json")).first,
              case .budget(let forecast) = try Self.signals(try sample("sns-budget-forecast.json")).first
        else { Issue.record("not budgets"); return }
        #expect(stop.thresholdAmount == 100 && stop.reportedAmount == 101.27 && !stop.isForecast)
        #expect(forecast.isForecast && forecast.thresholdAmount == 100 && forecast.reportedAmount == 131.9)
    }

    @Test func amountsInTheFormsBudgetsWrites() {
        #expect(BudgetNotification.amount("> $1,234.56") == 1234.56)
        #expect(BudgetNotification.amount("USD 83.41") == 83.41)
        #expect(BudgetNotification.amount("90 EUR") == 90)
        #expect(BudgetNotification.amount("no number") == nil)
    }

    @Test func percentageThresholdIsAShareOfTheBudgetedAmount() throws {
        let percent = try BudgetNotification.parse(subject: nil, message: """
            AWS Budget Notification
            Budget Name: b
            Budgeted Amount: $250.00
            Alert Type: ACTUAL
            Alert Threshold: > 80.00%
            ACTUAL Amount: $201.00
            """)
        #expect(percent.thresholdAmount == 200)
        #expect(percent.reportedAmount == 201)
    }

    @Test func budgetNameFromSubjectWhenProseChanges() throws {
        let note = try BudgetNotification.parse(subject: "AWS Budgets: lab grant has exceeded your alert threshold",
                                                message: "AWS Budget Notification\nsomething reworded")
        #expect(note.budgetName == "lab grant")
    }

    @Test func cloudWatchAlarmJSON() throws {
        let signals = try Self.signals(try sample("sns-alarm.json"))
        guard case .alarm(let alarm) = signals.first else { Issue.record("not an alarm"); return }
        #expect(alarm.alarmName == "odin-spend")
        #expect(alarm.isAlarm)
        #expect(alarm.region == "EU (Stockholm)")
    }

    /// Issue 14: an alarm is recognised by its JSON structure, never by words in its description or subject.
    @Test func alarmWhoseDescriptionQuotesBudgetsTextIsStillAnAlarm() throws {
        let text = String(decoding: try sample("sns-alarm.json"), as: UTF8.self)
            .replacing("Estimated Batch spend above the monthly cap",
                       with: "Mirrors the AWS Budget Notification (AWS Budgets: odin-monthly)")
        #expect(text.contains("AWS Budget Notification"))
        guard case .alarm(let alarm) = try Self.signals(Array(text.utf8)).first else {
            Issue.record("not an alarm"); return
        }
        #expect(alarm.isAlarm && alarm.alarmName == "odin-spend")
        let subjectSays = Self.event([(subject: "AWS Budgets: odin-monthly has exceeded your alert threshold",
                                       message: #"{"AlarmName":"odin-spend","NewStateValue":"ALARM","Trigger":{}}"#)])
        guard case .alarm = try Self.signals(subjectSays).first else { Issue.record("not an alarm"); return }
    }

    /// Issue 14: each record is judged alone; a bad one comes back as its error, naming its field.
    @Test func unreadableRecordsAreReportedOneByOne() throws {
        let alarm = #"{"AlarmName":"odin-spend","NewStateValue":"ALARM"}"#
        let records = try BudgetSignal.decode(Self.event([
            (subject: nil, message: "hello"),
            (subject: nil, message: alarm),
            (subject: nil, message: #"{"AlarmName":"x"}"#),
            (subject: nil, message: #"{"unrelated":true}"#),
            (subject: "AWS Budgets: x", message: "AWS Budget Notification\nno name line"),
        ]))
        #expect(records.count == 5)
        #expect(records.map(\.index) == [0, 1, 2, 3, 4])
        #expect(records[0].signal == .failure(EventDecodingError(
            field: "Records[0].Sns.Message", "neither an AWS Budgets notification nor CloudWatch alarm JSON")))
        guard case .success(.alarm(let parsed)) = records[1].signal else { Issue.record("\(records[1])"); return }
        #expect(parsed.alarmName == "odin-spend")
        guard case .failure(let missing) = records[2].signal else { Issue.record("\(records[2])"); return }
        #expect(missing.field == "Records[2].Sns.Message.NewStateValue")
        guard case .failure(let notAlarm) = records[3].signal else { Issue.record("\(records[3])"); return }
        #expect(notAlarm.field == "Records[3].Sns.Message")
        guard case .failure(let noName) = records[4].signal else { Issue.record("\(records[4])"); return }
        #expect(noName.field == "Records[4].Sns.Message")
        // A record without a Message, or from another service, is its own error too.
        let mixed = #"{"Records":[{"EventSource":"aws:sns","Sns":{}},{"EventSource":"aws:sqs","Sns":{"Message":"x"}},{"EventSource":"aws:sns","Sns":{"Message":"\#(alarm.replacing("\"", with: "\\\""))"}}]}"#
        let decoded = try BudgetSignal.decode(Array(mixed.utf8))
        #expect(decoded[0].signal == .failure(EventDecodingError(field: "Records[0].Sns.Message", "required field is missing")))
        #expect(decoded[1].signal == .failure(EventDecodingError(field: "Records[1].EventSource",
                                                                 "expected \"aws:sns\", found \"aws:sqs\"")))
        guard case .success(.alarm) = decoded[2].signal else { Issue.record("\(decoded[2])"); return }
        // The envelope itself must still be an SNS event.
        #expect(throws: EventDecodingError.self) { try BudgetSignal.decode(Array(#"{"Records":[]}"#.utf8)) }
        #expect(throws: EventDecodingError.self) { try BudgetSignal.decode(Array(#"{"detail":{}}"#.utf8)) }
    }
}
