import AWS
import Foundation
import Testing
import TestSupport

/// The contract checker itself must reject what AWS would reject: requests outside a role's resources or
/// conditions (from infra/stack.yaml), and requests that break botocore's model (lengths, enums, required and unknown
/// members). Each request here is marked as a self-test, so it is counted apart from the product's calls; one that is
/// not rejected the stated way fails this test and the run's contract totals.
@Suite("AWS contract checker", .requires(.venv, .contractChecker))
struct ContractCheckerTests {
    enum Outcome: String { case deny, violation, allow }

    struct Probe {
        var function: String
        var service: String
        var method: String = "POST"
        var target: String = "/"
        var headers: [(String, String)] = []
        var body: String = ""
        var expect: Outcome
        var why: String
    }

    @Test func rejectsWhatAWSWouldReject() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let bucket = stack.bucket
        func dynamo(_ operation: String) -> [(String, String)] {
            [("X-Amz-Target", "DynamoDB_20120810.\(operation)"), ("Content-Type", "application/x-amz-json-1.0")]
        }
        let probes: [Probe] = [
            Probe(function: "ingest", service: "dynamodb", headers: dynamo("GetItem"),
                  body: #"{"TableName":"\#(stack.table)","Key":{"pk":{"S":"collect"},"sk":{"S":"cam01"}},"ConsistentRead":true}"#,
                  expect: .allow, why: "control: ingest reads its own table"),
            Probe(function: "ingest", service: "dynamodb", headers: dynamo("GetItem"),
                  body: #"{"TableName":"\#(stack.table)","Key":{"pk":{"S":"sites"},"sk":{"S":"registry"}}}"#,
                  expect: .deny, why: "a partition outside ingest's dynamodb:LeadingKeys"),
            Probe(function: "budget-guard", service: "s3", method: "GET", target: "/\(bucket)/raw/cam01/IMG_0001.JPG",
                  expect: .deny, why: "budget-guard holds no s3:GetObject"),
            Probe(function: "ingest", service: "dynamodb", headers: dynamo("GetItem"),
                  body: #"{"TableName":"odin-other-state","Key":{"pk":{"S":"a"},"sk":{"S":"b"}}}"#,
                  expect: .deny, why: "another table's ARN"),
            Probe(function: "ingest", service: "s3", method: "GET", target: "/\(bucket)?list-type=2&prefix=state%2F",
                  expect: .deny, why: "s3:prefix outside the StringLike condition"),
            Probe(function: "ingest", service: "s3", method: "GET", target: "/\(bucket)?list-type=2",
                  expect: .deny, why: "no s3:prefix at all fails a StringLike condition"),
            Probe(function: "ingest", service: "s3", method: "PUT", target: "/\(bucket)/control/priority/cam01.json",
                  body: "{}", expect: .deny, why: "PutObject outside runs/"),
            Probe(function: "ingest", service: "dynamodb", headers: dynamo("GetItem"),
                  body: #"{"TableName":"\#(stack.table)","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"ConsistentRead":"yes"}"#,
                  expect: .violation, why: "ConsistentRead is a boolean"),
            Probe(function: "ingest", service: "dynamodb", headers: dynamo("PutItem"),
                  body: #"{"TableName":"\#(stack.table)","Itemz":{}}"#, expect: .violation,
                  why: "unknown member, missing required Item"),
            Probe(function: "ingest", service: "batch", target: "/v1/submitjob",
                  headers: [("Content-Type", "application/json")],
                  body: #"{"jobQueue":"\#(stack.spotQueueARN)","jobDefinition":"odin-\#(stack.id)-worker"}"#,
                  expect: .violation, why: "SubmitJob without the required jobName"),
            Probe(function: "ingest", service: "batch", target: "/v1/updatecomputeenvironment",
                  headers: [("Content-Type", "application/json")],
                  body: #"{"computeEnvironment":"\#(stack.spotCEARN)","state":"PAUSED"}"#,
                  expect: .violation, why: "state is not one of ENABLED, DISABLED"),
            Probe(function: "job-events", service: "sns", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                  body: "Action=Publish&Version=2010-03-31&TopicArn=\(stack.topicARN)&Message=x&Subjekt=y",
                  expect: .violation, why: "a form key the model does not name"),
            Probe(function: "job-events", service: "dynamodb", headers: dynamo("Query"),
                  body: #"{"TableName":"\#(stack.table)","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"run#r1"}},"Limit":0}"#,
                  expect: .violation, why: "Limit below the model's minimum 1"),
            Probe(function: "job-events", service: "dynamodb", headers: dynamo("Query"),
                  body: #"{"TableName":"\#(stack.table)","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"run#r1"}},"Select":"SOME"}"#,
                  expect: .violation, why: "Select is not one of the model's enum values"),
        ]
        for probe in probes {
            let credentials = try #require(stack.functionCredentials[probe.function])
            let scope = "\(credentials.accessKeyID)/20261203/us-east-1/\(probe.service)/aws4_request"
            var headers = probe.headers + [("Host", "127.0.0.1"),
                                           ("Authorization", "AWS4-HMAC-SHA256 Credential=\(scope), SignedHeaders=host, Signature=0")]
            if let token = credentials.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
            let reply = try ContractVerdict.post(moto.contractEndpoint + "/check", [
                "method": probe.method, "target": probe.target, "headers": headers.map { [$0.0, $0.1] },
                "body": Data(probe.body.utf8).base64EncodedString(), "expect": probe.expect.rawValue,
            ])
            #expect(reply["outcome"] as? String == probe.expect.rawValue,
                    "\(probe.why): \(reply["denied"] ?? []) \(reply["violations"] ?? [])")
        }
    }
}
