import CurlHTTP
import Foundation
import HTTP
import RuntimeEmulator
import TestSupport
import Testing

/// libcurl through the HTTP owner, against a real loopback server.
@Suite("HTTP bridge (libcurl)")
struct HTTPBridgeTests {
    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var requests: [LoopbackHTTPServer.Request] = []
        func add(_ request: LoopbackHTTPServer.Request) { lock.lock(); requests.append(request); lock.unlock() }
        var all: [LoopbackHTTPServer.Request] { lock.lock(); defer { lock.unlock() }; return requests }
    }

    func withServer(_ body: (String, Recorder) throws -> Void) throws {
        let recorder = Recorder()
        let server = try LoopbackHTTPServer { request in
            recorder.add(request)
            switch request.target {
            case "/hello":
                return .init(status: 200, headers: [("Content-Type", "text/plain"), ("X-Multi", "a"), ("X-Multi", "b")],
                             body: Array("hello, world".utf8))
            case "/big":
                return .init(status: 200, body: (0..<3_000_000).map { UInt8($0 % 251) })
            case "/echo":
                return .init(status: 201, body: request.body)
            default:
                return .json(404, #"{"message":"nope"}"#)
            }
        }
        defer { server.stop() }
        try body("http://127.0.0.1:\(server.port)", recorder)
    }

    @Test("GET with headers, repeated response headers, keep-alive reuse")
    func get() throws {
        try withServer { base, recorder in
            let client = try HTTPClient()
            var headers = HTTPHeaders()
            headers.add(name: "X-Test", value: "  spaced  value ")
            let response = try client.send(HTTPRequest(url: base + "/hello", headers: headers))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "hello, world")
            #expect(response.headers["content-type"] == "text/plain")
            #expect(response.headers.values(for: "x-multi") == ["a", "b"])
            let second = try client.send(HTTPRequest(url: base + "/missing"))
            #expect(second.status == 404)
            let seen = recorder.all
            #expect(seen.count == 2)
            #expect(seen[0].header("X-Test") == "spaced  value ")
            #expect(seen[0].header("Expect") == nil)
        }
    }

    @Test("PUT bytes and a file slice with explicit Content-Length; download to a file")
    func uploadAndDownload() throws {
        try withServer { base, recorder in
            let client = try HTTPClient()
            let payload = Array("payload ✓".utf8)
            let put = try client.send(HTTPRequest(method: "PUT", url: base + "/echo", body: .bytes(payload)))
            #expect(put.status == 201)
            #expect(put.body == payload)
            #expect(recorder.all.last?.header("Content-Length") == String(payload.count))

            let dir = try TestEnvironment.makeTemporaryDirectory("http")
            let source = dir + "/source.bin"
            FileManager.default.createFile(atPath: source, contents: Data((0..<1000).map { UInt8($0 % 256) }))
            let slice = try client.send(HTTPRequest(method: "POST", url: base + "/echo",
                                                    body: .file(path: source, offset: 100, length: 50)))
            #expect(slice.body == (100..<150).map { UInt8($0 % 256) })

            let target = dir + "/big.bin"
            let download = try client.send(HTTPRequest(url: base + "/big"), downloadTo: target)
            #expect(download.status == 200)
            #expect(download.body.isEmpty)
            let written = try #require(FileManager.default.contents(atPath: target))
            #expect(written.count == 3_000_000)
            #expect(written[2_999_999] == UInt8(2_999_999 % 251))
        }
    }

    @Test("one handle switches methods correctly: PUT, GET, HEAD, DELETE, POST, GET")
    func methodSequence() throws {
        try withServer { base, recorder in
            let client = try HTTPClient()
            _ = try client.send(HTTPRequest(method: "PUT", url: base + "/echo", body: .bytes([1, 2, 3])))
            _ = try client.send(HTTPRequest(url: base + "/hello"))
            let head = try client.send(HTTPRequest(method: "HEAD", url: base + "/hello"))
            #expect(head.body.isEmpty)
            _ = try client.send(HTTPRequest(method: "DELETE", url: base + "/echo"))
            let post = try client.send(HTTPRequest(method: "POST", url: base + "/echo", body: .bytes([9])))
            #expect(post.body == [9])
            let get = try client.send(HTTPRequest(url: base + "/hello"))
            #expect(get.body == Array("hello, world".utf8))
            let seen = recorder.all
            #expect(seen.map(\.method) == ["PUT", "GET", "HEAD", "DELETE", "POST", "GET"])
            #expect(seen.map(\.body) == [[1, 2, 3], [], [], [], [9], []])
        }
    }

    @Test("connection refused is a typed, retryable transport error; a bad scheme is rejected")
    func errors() throws {
        let server = try LoopbackHTTPServer(host: "127.0.0.4") { _ in .json(200, "{}") }
        let port = server.port
        server.stop()
        let client = try HTTPClient()
        do {
            _ = try client.send(HTTPRequest(url: "http://127.0.0.4:\(port)/x?X-Amz-Signature=secret"))
            Issue.record("expected a connection error")
        } catch {
            #expect(error.kind == .connect)
            #expect(error.isConnectionFailure)
            #expect(!error.description.contains("secret"), "query strings are redacted: \(error)")
        }
        #expect(throws: HTTPError.self) { try client.send(HTTPRequest(url: "ftp://example.invalid/x")) }
    }
}
