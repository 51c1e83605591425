import AWS
import Foundation
import HTTP
import OdinBasics
import Testing

/// Offline checks of the XML parser, error decoding per protocol, endpoint resolution, shared-file parsing, JSON
/// encodings and timestamps.
@Suite struct WireFormatTests {
    @Test func xmlPullParserEvents() throws {
        let document = #"""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE x [<!ENTITY e "no">]>
        <!-- comment -->
        <s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" a='1'>
          <Key>a &amp; b &lt;c&gt; &#233;&#x1F99C; &quot;q&quot; &apos;</Key><Empty/><![CDATA[<raw>&]]></s3:ListBucketResult>
        """#
        var parser = XMLPullParser(Array(document.utf8))
        var events: [XMLPullParser.Event] = []
        while let event = try parser.next() { events.append(event) }
        #expect(events.first == .startElement(name: "ListBucketResult", attributes: ["s3": "http://s3.amazonaws.com/doc/2006-03-01/", "a": "1"]))
        #expect(events.contains(.text("a & b <c> é🦜 \"q\" '")))
        #expect(events.contains(.startElement(name: "Empty", attributes: [:])))
        #expect(events.contains(.text("<raw>&")))
        #expect(events.last == .endElement(name: "ListBucketResult"))
    }

    @Test(arguments: ["<a><b></a>", "<a>", "<a x=1></a>", "<a>&bogus;</a>", "<a><![CDATA[x</a>"])
    func xmlParserRejectsMalformedInput(_ document: String) {
        #expect(throws: XMLError.self) { try XMLNode.parse(Array(document.utf8)) }
    }

    @Test func xmlTreeHelpersAndWriterRoundTrip() throws {
        var writer = XMLWriter()
        writer.element("Root", namespace: "urn:x") { xml in
            xml.element("Item", "a<b>&\"'")
            xml.element("Item", "second")
        }
        let root = try XMLNode.parse(writer.bytes)
        #expect(root.children("Item").map(\.text) == ["a<b>&\"'", "second"])
        #expect(root.attributes["xmlns"] == "urn:x")
    }

    static func response(_ status: Int, _ body: String, _ headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders(headers), body: Array(body.utf8))
    }

    @Test func errorDecodingPerProtocol() {
        let restXML = AWSErrorDecoder.decode(
            Self.response(404, "<Error><Code>NoSuchKey</Code><Message>The key does not exist</Message>"
                + "<RequestId>R1</RequestId></Error>"), protocol: .restXML, service: "S3", operation: "GetObject")
        #expect(restXML.code == "NoSuchKey" && restXML.message == "The key does not exist"
            && restXML.requestID == "R1" && restXML.status == 404 && restXML.isNotFound)

        let head = AWSErrorDecoder.decode(Self.response(404, "", [("x-amz-request-id", "H1")]), protocol: .restXML,
                                          service: "S3", operation: "HeadObject")
        #expect(head.code == "NotFound" && head.requestID == "H1")

        let query = AWSErrorDecoder.decode(
            Self.response(400, "<ErrorResponse xmlns=\"x\"><Error><Type>Sender</Type><Code>ValidationError</Code>"
                + "<Message>Stack x does not exist</Message></Error><RequestId>Q1</RequestId></ErrorResponse>"),
            protocol: .query, service: "CloudFormation", operation: "DescribeStacks")
        #expect(query.code == "ValidationError" && query.requestID == "Q1")

        let ec2 = AWSErrorDecoder.decode(
            Self.response(400, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow</Message>"
                + "</Error></Errors><RequestID>E1</RequestID></Response>"),
            protocol: .query, service: "EC2", operation: "DescribeSpotPriceHistory")
        #expect(ec2.code == "RequestLimitExceeded" && ec2.requestID == "E1" && ec2.isThrottling)

        let json = AWSErrorDecoder.decode(
            Self.response(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
                          [("x-amzn-RequestId", "J1")]),
            protocol: .json, service: "DynamoDB", operation: "PutItem")
        #expect(json.code == "ConditionalCheckFailedException" && json.isConditionFailure && json.requestID == "J1")

        let transaction = AWSErrorDecoder.decode(
            Self.response(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"cancelled","CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"x"}]}"#),
            protocol: .json, service: "DynamoDB", operation: "TransactWriteItems")
        #expect(transaction.cancellationReasons == ["None", "ConditionalCheckFailed"])

        let restJSON = AWSErrorDecoder.decode(
            Self.response(400, #"{"message":"JobQueue x not found"}"#,
                          [("X-Amzn-ErrorType", "ClientException:http://internal.amazon.com/coral/"),
                           ("x-amzn-RequestId", "B1")]),
            protocol: .restJSON, service: "Batch", operation: "SubmitJob")
        #expect(restJSON.code == "ClientException" && restJSON.message == "JobQueue x not found")

        let throttled = AWSErrorDecoder.decode(Self.response(429, "Too Many Requests"), protocol: .restJSON,
                                               service: "Batch", operation: "SubmitJob")
        #expect(throttled.isThrottling)
        #expect(!throttled.description.isEmpty)
    }

    @Test func endpointResolution() {
        let environment = ["AWS_ENDPOINT_URL": "http://127.0.0.1:5000/", "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb:8000"]
        let resolver = AWSEndpointResolver(environment: environment)
        #expect(resolver.endpoint(for: .s3, region: "eu-north-1") == AWSEndpoint(baseURL: "http://127.0.0.1:5000",
                                                                                   isOverride: true))
        #expect(resolver.endpoint(for: .dynamoDB, region: "eu-north-1").baseURL == "http://ddb:8000")
        let standard = AWSEndpointResolver(environment: [:])
        #expect(standard.endpoint(for: .cloudWatch, region: "eu-north-1").baseURL
            == "https://monitoring.eu-north-1.amazonaws.com")
        #expect(standard.endpoint(for: .batch, region: "cn-north-1").baseURL
            == "https://batch.cn-north-1.amazonaws.com.cn")
        let ignored = AWSEndpointResolver(environment: environment.merging(
            ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { $1 })
        #expect(!ignored.endpoint(for: .s3, region: "eu-north-1").isOverride)
        let profile = AWSEndpointResolver(environment: [:], profile: ["endpoint_url": "http://profile:1"])
        #expect(profile.endpoint(for: .sts, region: "us-east-1").baseURL == "http://profile:1")
    }

    @Test func s3AddressingStyles() {
        let credentials = StaticCredentialsProvider(AWSCredentials(accessKeyID: "a", secretAccessKey: "b"))
        let aws = AWSClient(configuration: .init(region: "eu-north-1", credentials: credentials))
        #expect(aws.s3URL(bucket: "odin-raw", key: "raw/a b+c.jpg")
            == "https://odin-raw.s3.eu-north-1.amazonaws.com/raw/a%20b%2Bc.jpg")
        #expect(aws.s3URL(bucket: "with.dots", key: "k") == "https://s3.eu-north-1.amazonaws.com/with.dots/k")
        let local = AWSClient(configuration: .init(region: "eu-north-1", credentials: credentials,
                                                   endpoints: AWSEndpointResolver(globalOverride: "http://h:1")))
        #expect(local.s3URL(bucket: "odin-raw", key: "k~*'", query: "uploads") == "http://h:1/odin-raw/k~%2A%27?uploads")
    }

    @Test func sharedConfigFiles() {
        let credentials = """
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = secret # inline comment
        [dev]
        aws_access_key_id=AKIDDEV
        aws_secret_access_key=devsecret
        aws_session_token=tok
        """
        let config = """
        # comment
        [default]
        region = eu-north-1
        [profile dev]
        region = us-west-2
        s3 =
          addressing_style = path
        [profile ops]
        role_arn = arn:aws:iam::123456789012:role/ops
        source_profile = dev
        [sso-session corp]
        sso_region = eu-west-1
        """
        let shared = SharedConfig(credentialsFile: credentials, configFile: config)
        #expect(shared.profiles["default"] == ["aws_access_key_id": "AKIDDEFAULT", "aws_secret_access_key": "secret",
                                               "region": "eu-north-1"])
        #expect(shared.profiles["dev"]?["aws_session_token"] == "tok")
        #expect(shared.profiles["dev"]?["region"] == "us-west-2")
        #expect(shared.profiles["dev"]?["addressing_style"] == nil)
        #expect(shared.profiles["ops"]?["source_profile"] == "dev")
        #expect(shared.profiles["corp"] == nil && shared.profiles["sso-session corp"] == nil)
    }

    @Test func batchRequestEncoding() throws {
        let request = Batch.CreateJobQueueRequest(
            jobQueueName: "spot", computeEnvironmentOrder: [.init(order: 1, computeEnvironment: "ce")],
            jobStateTimeLimitActions: [.init(reason: "stuck", maxTimeSeconds: 300)])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(request)) as! [String: Any]
        let action = (json["jobStateTimeLimitActions"] as! [[String: Any]])[0]
        #expect(action["state"] as? String == "RUNNABLE" && action["action"] as? String == "CANCEL")
        #expect(action["maxTimeSeconds"] as? Int == 300)
        #expect(json["tags"] == nil, "absent optionals are left out")
        let submit = Batch.SubmitJobRequest(jobName: "r", jobQueue: "q", jobDefinition: "d", arraySize: 10,
                                            dependsOn: [.init(jobId: "p", type: "N_TO_N")])
        let submitJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(submit)) as! [String: Any]
        #expect((submitJSON["arrayProperties"] as? [String: Any])?["size"] as? Int == 10)
        #expect(submitJSON["shareIdentifier"] == nil && submitJSON["propagateTags"] == nil)
        let fair = Batch.SubmitJobRequest(jobName: "r", jobQueue: "q", jobDefinition: "d", shareIdentifier: "odin",
                                          schedulingPriorityOverride: 300, propagateTags: true)
        let fairJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(fair)) as! [String: Any]
        #expect(fairJSON["shareIdentifier"] as? String == "odin")
        #expect(fairJSON["schedulingPriorityOverride"] as? Int == 300)
        #expect(fairJSON["propagateTags"] as? Bool == true)
        let list = Batch.ListJobsRequest(jobQueue: "q", filters: [.init(name: "JOB_NAME", values: ["run-*"])])
        let listJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(list)) as! [String: Any]
        let filter = try #require((listJSON["filters"] as? [[String: Any]])?.first)
        #expect(filter["name"] as? String == "JOB_NAME" && filter["values"] as? [String] == ["run-*"])
        #expect(listJSON["jobStatus"] == nil)
    }

    @Test func dynamoValueRoundTrip() throws {
        let item: DynamoItem = [
            "s": .string("x"), "n": .number(42), "b": .binary([0, 255]), "t": .bool(true), "z": .null,
            "m": .map(["k": .list([.string("a"), .number("1.5")])]), "ss": .stringSet(["a", "b"]),
            "ns": .numberSet(["1", "2"]),
        ]
        let decoded = try JSONDecoder().decode(DynamoItem.self, from: JSONEncoder().encode(item))
        #expect(decoded == item)
    }

    @Test func timestamps() {
        #expect(ISO8601.parse("2026-11-29T05:00:00Z") == Instant(timeIntervalSince1970: 1_795_928_400))
        #expect(ISO8601.parse("2026-11-29T05:00:00.500Z") == Instant(timeIntervalSince1970: 1_795_928_400.5))
        #expect(ISO8601.parse("2026-11-29T06:00:00+01:00") == Instant(timeIntervalSince1970: 1_795_928_400))
        #expect(ISO8601.format(Instant(timeIntervalSince1970: 1_795_928_400)) == "2026-11-29T05:00:00Z")
        #expect(ISO8601.parse("garbage") == nil)
    }

    @Test func credentialsNeverPrintSecrets() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SUPERSECRET", sessionToken: "TOKEN")
        for text in ["\(credentials)", String(reflecting: credentials), { var s = ""; dump(credentials, to: &s); return s }()] {
            #expect(!text.contains("SUPERSECRET") && !text.contains("TOKEN"), "\(text)")
        }
    }
}
