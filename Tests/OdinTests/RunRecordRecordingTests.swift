import FoundationEssentials
import Odin
import OdinKit
import OdinLocal
import Testing

/// `RunRecord.recordSubmitted` (what `odin replay --seed-local` seeds a table with): the items ingest and RunSubmitter
/// leave for a submitted run, readable by the code that reads them.
@Suite struct RunRecordRecordingTests {
    static func record() -> RunRecord {
        RunRecord(runID: "run-20260614-0532-cam01", cameraID: "cam01", status: .running,
                  createdAt: "2026-06-14T05:32:00Z", objectCount: 4, chunkCount: 4,
                  manifestKey: StoreLayout.manifestKey(run: "run-20260614-0532-cam01"),
                  jobs: [.init(jobID: "job-1", kind: "chunks", queue: "odin-spot", offset: 0, size: 4),
                         .init(jobID: "job-2", kind: "fallback", queue: "odin-on-demand", offset: 0, size: 1,
                               generation: 3)])
    }

    @Test func aSubmittedRunIsRecordedWithItsIndexActiveEntryAndJobLookups() throws {
        let harness = try Harness(label: "record-run")
        let state = harness.state
        let run = Self.record()
        let written = try run.recordSubmitted(state: state, now: 1_781_415_120)
        #expect(written.version == 1)
        var expected = run
        expected.version = 1
        #expect(try RunRecord.load(run.runID, state: state) == expected)
        let index = try #require(try state.get(Schema.runIndex(run.runID)))
        #expect(index["status"] == .string("running") && index["camera"] == .string("cam01"))
        #expect(index["chunks"] == .int(4))
        #expect(try state.get(Schema.activeRun(run.runID))?["since"] == .int(1_781_415_120))
        // The resume path lists it as unfinished (it reads the active-runs entries).
        #expect(try ResumeService(services: harness.services).unfinishedRuns().map(\.runID) == [run.runID])
        let chunks = try #require(try state.get(Schema.job("job-1")))
        #expect(chunks.attributes == ["runID": .string(run.runID), "kind": .string("chunks"), "offset": .int(0)])
        let fallback = try #require(try state.get(Schema.job("job-2")))
        #expect(fallback["kind"] == .string("fallback") && fallback["generation"] == .int(3))
    }

    @Test func recordingTwiceReplacesTheRecord() throws {
        let state = InMemoryStateStore()
        var run = Self.record()
        try run.recordSubmitted(state: state, now: 1)
        run.jobs.removeLast()
        let again = try run.recordSubmitted(state: state, now: 2)
        #expect(again.version == 2)
        #expect(try RunRecord.load(run.runID, state: state)?.jobs.map(\.jobID) == ["job-1"])
        #expect(try state.get(Schema.activeRun(run.runID))?["since"] == .int(2))
    }
}
