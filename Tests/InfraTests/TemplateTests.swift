import Foundation
import Testing

/// infra/*.yaml: cfn-lint, the policy and structure checks, and a deploy against moto_server (see infra/README.md).
@Suite("CloudFormation templates")
struct TemplateTests {
    static let templates = ["infra/artefacts.yaml", "infra/stack.yaml"]

    @Test func cfnLintIsClean() throws {
        guard requireVenv() else { return }
        let result = try runTool(Repo.path(".venv/bin/cfn-lint"), Self.templates)
        #expect(result.status == 0, "cfn-lint findings:\n\(result.output)")
    }

    @Test func policyAndStructureChecksPass() throws {
        guard requireVenv() else { return }
        let result = try runTool(Repo.python, ["scripts/infra/check_template.py"] + Self.templates)
        #expect(result.status == 0, "check_template.py findings:\n\(result.output)")
    }

    @Test func policyCheckRejectsWildcardActionsAndUncommentedStarResources() throws {
        guard requireVenv() else { return }
        let fixture = "Tests/InfraTests/Fixtures/bad-policy.yaml"
        let result = try runTool(Repo.python, ["scripts/infra/check_template.py", "--policy-only", fixture])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains(#"action "s3:*" contains "*""#), "\(result.output)")
        #expect(result.output.contains(#"action "*" contains "*""#), "\(result.output)")
        #expect(result.output.contains("statement Uncommented"), "\(result.output)")
        #expect(!result.output.contains("statement Commented"), "a commented Resource \"*\" is allowed: \(result.output)")
        #expect(result.output.contains("ManagedPolicyArns is not allowed"), "\(result.output)")
    }

    static var motoAvailable: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["MOTO_ENDPOINT"] != nil || env["CI"] == "true"
    }

    @Test(.enabled(if: motoAvailable, "needs MOTO_ENDPOINT: run through scripts/with-moto.sh (make test)"))
    func deploysUpdatesAndDeletesOnMoto() throws {
        guard requireVenv() else { return }
        let result = try runTool(Repo.python, ["scripts/infra/moto_deploy_test.py"])
        #expect(result.status == 0, "moto deploy test:\n\(result.output)")
        #expect(result.output.contains("0 failure(s)"), "\(result.output)")
    }
}
