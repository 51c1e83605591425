import AWS
import Foundation
import HTTP
import OdinBasics
import Synchronization
import Testing
import TestSupport

/// Nothing secret reaches the logs, even at trace level.
@Suite(.requires(.venv)) struct LoggingTests {
    final class Capture: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var logger: Logger {
            Logger(level: .trace) { record in self.lines.withLock { $0.append(record.jsonLine) } }
        }
    }

    @Test func traceLogsHoldNoSecretsSignaturesOrAuthorization() throws {
        guard let moto = SignedMoto.require() else { return }
        let roleARN = try moto.role(uniqueName("log"))
        let temporary = try moto.makeClient().assumeRole(roleARN: roleARN, sessionName: "logging").credentials
        let capture = Capture()
        let client = moto.makeClient(logger: capture.logger, credentials: temporary)
        let bucket = uniqueName("logs")
        try client.createBucket(bucket)
        try client.putObject(bucket: bucket, key: "logged key?.txt", body: .bytes(Array("x".utf8)))
        _ = try client.getObject(bucket: bucket, key: "logged key?.txt")
        _ = try? client.getObject(bucket: bucket, key: "missing")
        _ = try client.getCallerIdentity()
        _ = try client.assumeRole(roleARN: roleARN, sessionName: "nested")  // its response carries a secret
        _ = try client.presignedS3URL(bucket: bucket, key: "k")
        let wrong = moto.makeClient(logger: capture.logger, credentials: AWSCredentials(
            accessKeyID: temporary.accessKeyID, secretAccessKey: "WRONG-SECRET-VALUE", sessionToken: temporary.sessionToken))
        _ = try? wrong.getCallerIdentity()

        let lines = capture.all
        #expect(lines.count > 10)
        #expect(lines.contains { $0.contains("aws.attempt") && $0.contains("PutObject") })
        let forbidden = [temporary.secretAccessKey, temporary.sessionToken ?? "<none>", moto.credentials.secretAccessKey,
                         "WRONG-SECRET-VALUE", "Signature=", "X-Amz-Signature", "Authorization", "AWS4-HMAC-SHA256",
                         "X-Amz-Security-Token", "SecretAccessKey", "SessionToken"]
        for line in lines {
            for secret in forbidden {
                #expect(!line.contains(secret), "log line leaks \(secret): \(line)")
            }
        }
    }
}
