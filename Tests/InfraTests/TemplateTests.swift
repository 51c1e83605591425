import Foundation
import Testing
import TestSupport

/// infra/*.yaml: cfn-lint, the policy and structure checks, and a deploy against moto_server (see infra/README.md).
@Suite("CloudFormation templates", .requires(.venv))
struct TemplateTests {
    static let templates = ["infra/artefacts.yaml", "infra/stack.yaml"]

    @Test func cfnLintIsClean() throws {
        let result = try runTool(Repo.path(".venv/bin/cfn-lint"), Self.templates)
        #expect(result.status == 0, "cfn-lint findings:\n\(result.output)")
    }

    @Test func policyAndStructureChecksPass() throws {
        let result = try runTool(Repo.python, ["scripts/infra/check_template.py"] + Self.templates)
        #expect(result.status == 0, "check_template.py findings:\n\(result.output)")
    }

    @Test func policyCheckRejectsWildcardActionsAndUncommentedStarResources() throws {
        let fixture = "Tests/InfraTests/Fixtures/bad-policy.yaml"
        let result = try runTool(Repo.python, ["scripts/infra/check_template.py", "--policy-only", fixture])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains(#"action "s3:*" contains "*""#), "\(result.output)")
        #expect(result.output.contains(#"action "*" contains "*""#), "\(result.output)")
        #expect(result.output.contains("statement Uncommented"), "\(result.output)")
        #expect(!result.output.contains("statement Commented"), "a commented Resource \"*\" is allowed: \(result.output)")
        #expect(result.output.contains("ManagedPolicyArns is not allowed"), "\(result.output)")
    }

    /// checkov over infra/ (CloudFormation and Dockerfiles): zero failed checks, zero parsing errors, and every
    /// skipped check suppressed inline with a reason (`# checkov:skip=CKV_…: reason`). Fails when checkov is missing.
    @Test func checkovHasNoFailedChecksAndEverySkipHasAReason() throws {
        let checkov = Repo.path(".venv/bin/checkov")
        guard FileManager.default.isExecutableFile(atPath: checkov) else {
            Issue.record("checkov is missing (\(checkov)): run scripts/venv.sh (scripts/requirements-checkov.txt)")
            return
        }
        var environment = ProcessInfo.processInfo.environment
        environment["BC_SKIP_MAPPING"] = "TRUE"
        let result = try runTool(checkov, ["--directory", "infra", "--framework", "cloudformation", "dockerfile",
                                           "--skip-download", "--output", "json"], environment: environment)
        let start = result.output.firstIndex(of: "[") ?? result.output.startIndex
        guard let reports = try? JSONSerialization.jsonObject(with: Data(result.output[start...].utf8)) as? [[String: Any]] else {
            Issue.record("checkov did not print a JSON report list (exit \(result.status)):\n\(result.output.prefix(2000))")
            return
        }
        var totals = (passed: 0, failed: 0, skipped: 0, parsingErrors: 0)
        var frameworks: [String] = []
        for report in reports {
            let summary = report["summary"] as? [String: Any] ?? [:]
            totals.passed += summary["passed"] as? Int ?? 0
            totals.failed += summary["failed"] as? Int ?? 0
            totals.skipped += summary["skipped"] as? Int ?? 0
            totals.parsingErrors += summary["parsing_errors"] as? Int ?? 0
            frameworks.append(report["check_type"] as? String ?? "?")
            let results = report["results"] as? [String: Any] ?? [:]
            for failed in results["failed_checks"] as? [[String: Any]] ?? [] {
                Issue.record("checkov \(failed["check_id"] ?? "?") failed for \(failed["resource"] ?? "?") in \(failed["file_path"] ?? "?"): \(failed["check_name"] ?? "")")
            }
            for skipped in results["skipped_checks"] as? [[String: Any]] ?? [] {
                let reason = ((skipped["check_result"] as? [String: Any])?["suppress_comment"] as? String ?? "")
                    .trimmingCharacters(in: .whitespaces)
                #expect(reason.count >= 20, "checkov skip \(skipped["check_id"] ?? "?") on \(skipped["resource"] ?? "?") needs a reason")
            }
        }
        print("checkov (\(frameworks.sorted().joined(separator: ", "))): passed \(totals.passed), failed \(totals.failed), skipped \(totals.skipped), parsing errors \(totals.parsingErrors)")
        #expect(Set(frameworks) == ["cloudformation", "dockerfile"], "checkov scanned \(frameworks)")
        #expect(totals.failed == 0)
        #expect(totals.parsingErrors == 0)
        #expect(totals.passed > 100, "checkov passed only \(totals.passed) checks: did it read the templates?")
    }

    @Test(.requires(.moto)) func deploysUpdatesAndDeletesOnMoto() throws {
        let result = try runTool(Repo.python, ["scripts/infra/moto_deploy_test.py"])
        #expect(result.status == 0, "moto deploy test:\n\(result.output)")
        #expect(result.output.contains("0 failure(s)"), "\(result.output)")
    }
}
