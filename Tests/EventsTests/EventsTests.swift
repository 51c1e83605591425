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
    @Test func budgetsPlainText() throws {
        let signals = try BudgetSignal.decode(try sample("sns-budget.json"))
        guard case .budget(let note) = signals.first else { Issue.record("not a budget"); return }
        #expect(note.budgetName == "odin-monthly")
        #expect(note.alertType == "ACTUAL")
        #expect(note.threshold == "> $80.00")
        #expect(note.actualAmount == "$83.41")
        #expect(note.raw.contains("Dear AWS Customer"))
    }

    @Test func budgetNameFromSubjectWhenProseChanges() throws {
        let note = try BudgetNotification.parse(subject: "AWS Budgets: lab grant has exceeded your alert threshold",
                                                message: "AWS Budget Notification\nsomething reworded")
        #expect(note.budgetName == "lab grant")
    }

    @Test func cloudWatchAlarmJSON() throws {
        let signals = try BudgetSignal.decode(try sample("sns-alarm.json"))
        guard case .alarm(let alarm) = signals.first else { Issue.record("not an alarm"); return }
        #expect(alarm.alarmName == "odin-spend")
        #expect(alarm.isAlarm)
        #expect(alarm.region == "EU (Stockholm)")
    }

    @Test func unrecognisedMessageNamesTheField() {
        let text = #"{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"hello"}}]}"#
        do {
            _ = try BudgetSignal.decode(Array(text.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "Records[0].Sns.Message")
        }
        let badAlarm = #"{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"{\"AlarmName\":\"x\"}"}}]}"#
        do {
            _ = try BudgetSignal.decode(Array(badAlarm.utf8))
        } catch {
            #expect(error.field == "Records[0].Sns.Message.NewStateValue")
        }
    }
}
