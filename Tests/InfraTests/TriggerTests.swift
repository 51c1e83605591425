import Foundation
import Testing
import TestSupport

/// Issue 13 item 3: the stack's triggers proven against events/, from the template (scripts/infra/check_triggers.py:
/// EventBridge patterns through moto's pattern matcher, S3 key filters, Lambda permissions' source ARNs).
@Suite(.requires(.venv)) struct TriggerTests {
    @Test func rulesFiltersAndPermissionsMatchTheSamples() throws {
        let result = try runTool(Repo.python, ["scripts/infra/check_triggers.py", "infra/stack.yaml"])
        print(result.output.split(separator: "\n").suffix(4).joined(separator: "\n"))
        #expect(result.status == 0, "check_triggers.py:\n\(result.output)")
        #expect(result.output.contains("BatchJobStateRule: 6 matched"), "\(result.output)")
    }

    /// The check must fail when a pattern stops matching (a rule narrowed to SUCCEEDED loses the fallbacks) or stops
    /// rejecting (a rule without the queue filter takes other stacks' jobs).
    @Test(arguments: [
        ("          status: [SUCCEEDED, FAILED]\n", "          status: [SUCCEEDED]\n", "does not match job-runnable-timeout.json"),
        ("          jobQueue: [!Ref SpotJobQueue, !Ref OnDemandJobQueue]\n", "", "matches job-done.json from another stack's queue"),
        ("Value: raw/}, {Name: suffix, Value: .JPG}", "Value: r}, {Name: suffix, Value: .JPG}", "'rawx/IMG_0001.JPG' triggers ingest"),
    ])
    func brokenTriggerIsFound(original: String, replacement: String, finding: String) throws {
        let template = try String(contentsOfFile: Repo.path("infra/stack.yaml"), encoding: .utf8)
        #expect(template.contains(original), "infra/stack.yaml no longer contains \(original.debugDescription)")
        try withTemporaryDirectory { directory in
            let broken = directory.appendingPathComponent("stack.yaml")
            try template.replacingOccurrences(of: original, with: replacement).write(to: broken, atomically: true, encoding: .utf8)
            let result = try runTool(Repo.python, ["scripts/infra/check_triggers.py", broken.path])
            #expect(result.status == 1, "\(result.output)")
            #expect(result.output.contains(finding), "\(result.output)")
        }
    }
}
