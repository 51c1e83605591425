// aws-bench: the Swift side of scripts/bench/30-aws.sh (signing throughput; S3 transfers against a local
// moto_server). Prints one JSON object per command on stdout. Not shipped anywhere.
import AWS
import FoundationEssentials
import HTTP
import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    let line = Array("aws-bench: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: aws-bench sign N | s3 ENDPOINT DIR | connections ENDPOINT N") }

switch arguments[1] {
case "sign":
    let count = Int(arguments.count > 2 ? arguments[2] : "20000") ?? 20000
    let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    let date = Instant(timeIntervalSince1970: 1_795_928_400)
    let s3 = SigV4Signer(credentials: credentials, region: "eu-north-1", service: "s3")
    let batch = SigV4Signer(credentials: credentials, region: "eu-north-1", service: "batch")
    let body = Array(#"{"jobName":"run-0001","jobQueue":"odin-spot","jobDefinition":"munin-worker:3","arrayProperties":{"size":250},"containerOverrides":{"environment":[{"name":"RUN_ID","value":"run-0001"}]}}"#.utf8)
    func measure(_ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<min(1000, count) { try body() }  // warm-up (key cache, allocator)
        let start = monotonicSeconds()
        for _ in 0..<count { try body() }
        return Double(count) / (monotonicSeconds() - start)
    }
    let s3PerSecond = try measure {
        let request = HTTPRequest(method: "GET", url: "https://odin-raw.s3.eu-north-1.amazonaws.com/raw/cam-01/IMG_0001.JPG",
                                  headers: HTTPHeaders([("Range", "bytes=0-65535")]))
        _ = try s3.signed(request, date: date)
    }
    let submitPerSecond = try measure {
        let request = HTTPRequest(method: "POST", url: "https://batch.eu-north-1.amazonaws.com/v1/submitjob",
                                  headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(body))
        _ = try batch.signed(request, date: date)
    }
    print(#"{"s3_get_per_s": \#(s3PerSecond), "submit_job_per_s": \#(submitPerSecond)}"#)

case "s3":
    guard arguments.count >= 4 else { fail("usage: aws-bench s3 ENDPOINT DIR") }
    let endpoint = arguments[2], directory = arguments[3]
    let client = AWSClient(configuration: AWSClient.Configuration(
        region: "us-east-1",
        credentials: StaticCredentialsProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
        endpoints: AWSEndpointResolver(globalOverride: endpoint)))
    let bucket = "bench-swift-\(getpid())"
    do {
        try client.createBucket(bucket)
        let small = (0..<200).map { "small/obj-\($0).bin" }
        var start = monotonicSeconds()
        for key in small {
            try client.putObject(bucket: bucket, key: key, body: .file(path: directory + "/" + key))
        }
        let uploadSmall = monotonicSeconds() - start
        try FileManager.default.createDirectory(atPath: directory + "/down-swift/small", withIntermediateDirectories: true)
        start = monotonicSeconds()
        for key in small {
            _ = try client.getObject(bucket: bucket, key: key, downloadTo: directory + "/down-swift/" + key)
        }
        let downloadSmall = monotonicSeconds() - start
        start = monotonicSeconds()
        try client.uploadFile(directory + "/big.bin", bucket: bucket, key: "big.bin")
        let uploadBig = monotonicSeconds() - start
        start = monotonicSeconds()
        _ = try client.getObject(bucket: bucket, key: "big.bin", downloadTo: directory + "/down-swift/big.bin")
        let downloadBig = monotonicSeconds() - start
        print(#"{"upload_small_s": \#(uploadSmall), "download_small_s": \#(downloadSmall), "upload_big_s": \#(uploadBig), "download_big_s": \#(downloadBig)}"#)
    } catch {
        fail("\(error)")
    }

case "connections":
    // The cost of a fresh connection per non-idempotent call (issue 14: a reused connection reset after the server
    // applied a SubmitJob made libcurl resend it). The same counter ADD (UpdateItem) is sent N times marked
    // idempotent (pooled keep-alive connection) and N times non-idempotent (a new connection each); milliseconds
    // per call, median of 5 rounds.
    guard arguments.count >= 4, let count = Int(arguments[3]) else { fail("usage: aws-bench connections ENDPOINT N") }
    let client = AWSClient(configuration: AWSClient.Configuration(
        region: "us-east-1",
        credentials: StaticCredentialsProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
        endpoints: AWSEndpointResolver(globalOverride: arguments[2])))
    let table = "bench-connections-\(getpid())"
    do {
        try client.createTable(table, partitionKey: "pk")
        func round(idempotent: Bool) throws -> Double {
            let start = monotonicSeconds()
            for _ in 0..<count {
                try client.updateItem(table: table, key: ["pk": .string("counter")], updateExpression: "ADD c :one",
                                      expression: DynamoExpression(values: [":one": .number("1")]),
                                      returnValues: "NONE", isIdempotent: idempotent)
            }
            return (monotonicSeconds() - start) * 1000 / Double(count)
        }
        _ = try round(idempotent: true)  // warm-up
        var pooled: [Double] = [], fresh: [Double] = []
        for _ in 0..<5 {
            pooled.append(try round(idempotent: true))
            fresh.append(try round(idempotent: false))
        }
        print(#"{"calls": \#(count), "pooled_ms": \#(pooled.sorted()[2]), "fresh_ms": \#(fresh.sorted()[2])}"#)
    } catch {
        fail("\(error)")
    }
default:
    fail("unknown command \(arguments[1])")
}
