import Foundation
import RuntimeEmulator
import Synchronization
import Testing
import TestSupport

/// `odin submit` (issue 13): the stack's queues are fair-share, so SubmitJob must carry `shareIdentifier` (AWS
/// rejects it otherwise) like the functions' submissions. moto ignores the member, so a loopback server records the
/// request the binary sends and answers as Batch does.
@Suite(.requires(.odin)) struct SubmitCommandTests {
    @Test func submitSendsTheShareIdentifierOfTheFairShareQueues() throws {
        let recorded = Mutex<[(path: String, body: [UInt8])]>([])
        let reply = #"{"jobArn":"arn:aws:batch:us-east-1:123456789012:job/5c1f","jobName":"my-job","jobId":"5c1f"}"#
        let result = try ScriptedHTTPServer.with({ request in
            recorded.withLock { $0.append((request.path, request.body)) }
            return .text(200, reply, contentType: "application/json")
        }) { server in
            try OdinProcess.run(["submit", "--name", "my-job", "--params", #"{"input_path": "/data"}"#, "--json"],
                                environment: ["AWS_ENDPOINT_URL": server.baseURL, "AWS_ACCESS_KEY_ID": "testing",
                                              "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                                              "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                                              "ODIN_SHARE_IDENTIFIER": ""])
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try result.json()["job_id"] as? String == "5c1f")
        let calls = recorded.withLock { $0 }
        #expect(calls.map(\.path) == ["/v1/submitjob"])
        let body = try #require(try JSONSerialization.jsonObject(with: Data(calls.first?.body ?? [])) as? [String: Any])
        #expect(body["shareIdentifier"] as? String == "odin", "\(body)")
        #expect(body["schedulingPriorityOverride"] as? Int == 200, "\(body)")
        #expect(body["jobQueue"] as? String == "odin-spot")
        let environment = (body["containerOverrides"] as? [String: Any])?["environment"] as? [[String: String]]
        #expect(environment == [["name": "ODIN_PARAM_INPUT_PATH", "value": "/data"]])
    }
}
