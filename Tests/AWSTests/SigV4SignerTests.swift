import AWS
import Crypto
import Foundation
import HTTP
import OdinBasics
import TestSupport
import Testing

/// SigV4 against the worked examples in AWS's documentation, and against botocore computing the same requests.
@Suite struct SigV4SignerTests {
    static let exampleCredentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let s3Credentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Instant {
        var components = DateComponents()
        (components.year, components.month, components.day) = (year, month, day)
        (components.hour, components.minute, components.second) = (hour, minute, second)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return Instant(timeIntervalSince1970: calendar.date(from: components)!.timeIntervalSince1970)
    }

    // IAM ListUsers example from "Examples of the complete Signature Version 4 signing process" (signing key and
    // signature as published there).
    @Test func iamListUsersExample() throws {
        let key = try SigV4Signer.signingKey(
            secretAccessKey: Self.exampleCredentials.secretAccessKey, date: "20150830", region: "us-east-1",
            service: "iam")
        #expect(Hex.encode(key) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
        let signer = SigV4Signer(credentials: Self.exampleCredentials, region: "us-east-1", service: "iam",
                                 keyCache: SigningKeyCache())
        let request = HTTPRequest(
            method: "GET", url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
            headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]))
        let signed = try signer.signed(request, date: Self.date(2015, 8, 30, 12, 36, 0))
        #expect(signed.headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
            + "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
            + "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
        #expect(signed.headers["X-Amz-Date"] == "20150830T123600Z")
    }

    // "Example: GET Object" from the S3 header-based authentication page.
    @Test func s3GetObjectExample() throws {
        let signer = SigV4Signer(credentials: Self.s3Credentials, region: "us-east-1", service: "s3")
        let request = HTTPRequest(method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
                                  headers: HTTPHeaders([("Range", "bytes=0-9")]))
        let signed = try signer.signed(request, date: Self.date(2013, 5, 24, 0, 0, 0))
        #expect(signed.headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
            + "us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed.headers["x-amz-content-sha256"] == SigV4Signer.emptyPayloadHash)
    }

    // The presigned-URL example from the S3 query-string authentication page.
    @Test func s3PresignedURLExample() throws {
        let signer = SigV4Signer(credentials: Self.s3Credentials, region: "us-east-1", service: "s3")
        let url = try signer.presignedURL(url: "https://examplebucket.s3.amazonaws.com/test.txt",
                                          expiresInSeconds: 86_400, date: Self.date(2013, 5, 24, 0, 0, 0))
        #expect(url.hasPrefix("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(url.hasSuffix("&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
        #expect(throws: SigV4Error.self) {
            try signer.presignedURL(url: "https://x/y", expiresInSeconds: 604_801, date: Instant.now)
        }
    }

    @Test func canonicalQueryRules() {
        // Repeated and empty parameters, sorting by name then value, strict re-encoding, '+' literal.
        #expect(SigV4Signer.canonicalQueryString("b=2&a=1&a=0&empty=&bare&sp=a b&plus=a+b&u=%c3%a9&t=~*'")
            == "a=0&a=1&b=2&bare=&empty=&plus=a%2Bb&sp=a%20b&t=~%2A%27&u=%C3%A9")
        #expect(SigV4Signer.canonicalQueryString("") == "")
        #expect(SigV4Signer.normalizedPath("/bucket/a b/c%2Fd/é~") == "/bucket/a%20b/c%2Fd/%C3%A9~")
        #expect(SigV4Signer.canonicalURI(path: "/a%20b", service: "s3") == "/a%20b")
        #expect(SigV4Signer.canonicalURI(path: "/a%20b", service: "batch") == "/a%2520b")
    }

    @Test func canonicalHeaderRules() {
        let (canonical, signed) = SigV4Signer.canonicalHeaders([
            ("Host", "example.com"), ("My-Header1", "  a   b   c  "), ("X-Amz-Meta", "one"), ("x-amz-meta", "two"),
            ("My-Header2", "\"a   b   c\""),
        ])
        #expect(canonical == "host:example.com\nmy-header1:a b c\nmy-header2:\"a b c\"\nx-amz-meta:one,two\n")
        #expect(signed == "host;my-header1;my-header2;x-amz-meta")
    }

    @Test func signingKeyIsCachedPerDateRegionService() throws {
        let cache = SigningKeyCache()
        let signer = SigV4Signer(credentials: Self.exampleCredentials, region: "eu-north-1", service: "batch",
                                 keyCache: cache)
        let request = HTTPRequest(method: "POST", url: "https://batch.eu-north-1.amazonaws.com/v1/describejobs",
                                  body: .bytes(Array("{}".utf8)))
        let first = try signer.signed(request, date: Self.date(2026, 1, 1, 10, 0, 0))
        _ = try signer.signed(request, date: Self.date(2026, 1, 1, 23, 59, 59))
        #expect(cache.count == 1)
        _ = try signer.signed(request, date: Self.date(2026, 1, 2, 0, 0, 0))
        #expect(cache.count == 2)
        var rotated = signer
        rotated.credentials.secretAccessKey = "another"
        let other = try rotated.signed(request, date: Self.date(2026, 1, 1, 10, 0, 0))
        #expect(other.headers["Authorization"] != first.headers["Authorization"])
    }

    @Test func timestampsAcrossCalendarEdges() {
        #expect(AWSTimestamp(Self.date(2024, 2, 29, 23, 59, 59)).dateTime == "20240229T235959Z")
        #expect(AWSTimestamp(Self.date(2000, 3, 1, 0, 0, 0)).dateTime == "20000301T000000Z")
        #expect(AWSTimestamp(Instant(timeIntervalSince1970: 0)).dateTime == "19700101T000000Z")
        #expect(AWSTimestamp(Instant(timeIntervalSince1970: 4_102_444_800)).dateTime == "21000101T000000Z")
    }

    // MARK: - Differential against botocore

    struct Case: Codable {
        var service: String
        var method: String
        var url: String
        var headers: [[String]]
        var body: String
        var token: String?
        var unsigned: Bool = false
        var presignExpires: Int? = nil
    }

    static let botocoreScript = #"""
import sys, json, datetime
import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.config import Config
fixed = datetime.datetime(2026, 3, 14, 15, 9, 26, tzinfo=datetime.timezone.utc)
auth.get_current_datetime = lambda: fixed
out = []
for case in json.load(sys.stdin):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", case.get("token"))
    req = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode("utf-8"))
    for name, value in case["headers"]:
        req.headers[name] = value
    if case.get("presignExpires"):
        cls = auth.S3SigV4QueryAuth if case["service"] == "s3" else auth.SigV4QueryAuth
        cls(creds, case["service"], "eu-north-1", expires=case["presignExpires"]).add_auth(req)
        out.append(req.url)
        continue
    if case.get("unsigned"):
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    cls = auth.S3SigV4Auth if case["service"] == "s3" else auth.SigV4Auth
    cls(creds, case["service"], "eu-north-1").add_auth(req)
    out.append(req.headers["Authorization"])
print(json.dumps(out))
"""#

    static let differentialCases: [Case] = [
        Case(service: "s3", method: "GET",
             url: "https://bucket.s3.eu-north-1.amazonaws.com/raw/cam%201/a%2Bb%3Dc%26d%20%C3%A9~%2A%27.jpg",
             headers: [["Range", "bytes=0-99"]], body: ""),
        Case(service: "s3", method: "PUT", url: "http://127.0.0.1:5000/bucket/key%20with%20spaces",
             headers: [["Content-Type", "application/octet-stream"], ["If-None-Match", "*"]],
             body: "hello world", token: "FQoGZXIvYXdzEXAMPLETOKEN+/="),
        Case(service: "s3", method: "PUT", url: "https://bucket.s3.amazonaws.com/big.bin",
             headers: [["Content-Type", "application/octet-stream"]], body: "payload", unsigned: true),
        Case(service: "s3", method: "GET",
             url: "https://bucket.s3.amazonaws.com/?continuation-token=1%2F2%3D&list-type=2&max-keys=2&prefix=a%20b",
             headers: [], body: ""),
        Case(service: "batch", method: "POST", url: "https://batch.eu-north-1.amazonaws.com/v1/submitjob",
             headers: [["Content-Type", "application/json"], ["X-Amz-Meta-Spaces", "  a    b  "]],
             body: #"{"jobName":"run-1","jobQueue":"spot","jobDefinition":"munin","arrayProperties":{"size":100}}"#),
        Case(service: "dynamodb", method: "POST", url: "https://dynamodb.eu-north-1.amazonaws.com/",
             headers: [["Content-Type", "application/x-amz-json-1.0"], ["X-Amz-Target", "DynamoDB_20120810.GetItem"]],
             body: #"{"TableName":"runs","Key":{"pk":{"S":"a"}}}"#, token: "session/token=="),
        Case(service: "sts", method: "POST", url: "https://sts.amazonaws.com/",
             headers: [["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]],
             body: "Action=GetCallerIdentity&Version=2011-06-15"),
        Case(service: "sts", method: "POST", url: "https://sts.amazonaws.com",
             headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: "Action=GetCallerIdentity"),
        Case(service: "s3", method: "GET", url: "https://bucket.s3.amazonaws.com/some%20key%2B1.txt",
             headers: [], body: "", presignExpires: 3600),
        Case(service: "s3", method: "PUT", url: "https://bucket.s3.amazonaws.com/up.bin",
             headers: [], body: "", token: "tok", presignExpires: 900),
    ]

    @Test(.requires(.venv)) func matchesBotocore() throws {
        let python = try #require(Peers.python)
        let input = try JSONEncoder().encode(Self.differentialCases)
        let result = try Peers.run(python, ["-c", Self.botocoreScript], input: Array(input))
        try #require(result.status == 0, "botocore helper failed: \(result.stderr)")
        let expected = try JSONDecoder().decode([String].self, from: Data(result.stdout.utf8))
        try #require(expected.count == Self.differentialCases.count, "botocore signed \(expected.count) cases")
        let date = Self.date(2026, 3, 14, 15, 9, 26)
        for (index, testCase) in Self.differentialCases.enumerated() {
            var credentials = Self.exampleCredentials
            credentials.sessionToken = testCase.token
            let signer = SigV4Signer(credentials: credentials, region: "eu-north-1", service: testCase.service)
            if let expires = testCase.presignExpires {
                let url = try signer.presignedURL(method: testCase.method, url: testCase.url,
                                                  expiresInSeconds: expires, date: date)
                #expect(Self.sortedQuery(url) == Self.sortedQuery(expected[index]), "case \(index)")
                continue
            }
            let request = HTTPRequest(method: testCase.method, url: testCase.url,
                                      headers: HTTPHeaders(testCase.headers.map { ($0[0], $0[1]) }),
                                      body: testCase.body.isEmpty ? .empty : .bytes(Array(testCase.body.utf8)))
            let signed = try signer.signed(request, payload: testCase.unsigned ? .unsigned : .computed, date: date)
            #expect(signed.headers["Authorization"] == expected[index], "case \(index): \(testCase.url)")
            #expect(signed.url == (testCase.url.hasSuffix(".com") ? testCase.url + "/" : testCase.url),
                    "the signer sends the URL it signed")
            // Re-signing (as a retry does) replaces the previous signature headers instead of adding to them.
            let resigned = try signer.signed(signed, payload: testCase.unsigned ? .unsigned : .computed, date: date)
            #expect(resigned.headers.values(for: "Authorization") == [expected[index]])
            #expect(resigned.headers.values(for: "X-Amz-Date").count == 1)
        }
    }

    /// A presigned URL with its query parameters sorted (botocore and we order them differently; both are valid).
    static func sortedQuery(_ url: String) -> [String] {
        let parts = url.split(separator: "?", maxSplits: 1)
        return [String(parts[0])] + (parts.count > 1 ? parts[1].split(separator: "&").map(String.init).sorted() : [])
    }
}
