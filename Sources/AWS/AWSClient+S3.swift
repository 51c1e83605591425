import Crypto
import HTTP
import OdinBasics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// S3 (REST-XML). Keys may hold any Unicode and reserved characters (space, `+`, `=`, `&`, `~`, `*`, `'` …); they are
/// percent-encoded once in the path. With an endpoint override (`AWS_ENDPOINT_URL[_S3]`) requests are path-style
/// (`<endpoint>/<bucket>/<key>`), else virtual-hosted (`https://<bucket>.s3.<region>.amazonaws.com/<key>`) when the
/// bucket name allows it.
extension AWSClient {
    // MARK: - Types

    public struct S3PutResult: Sendable, Equatable {
        public var eTag: String?
        public var versionID: String?
    }

    public struct S3ObjectMetadata: Sendable, Equatable {
        public var contentLength: Int64
        public var contentType: String?
        public var eTag: String?
        public var lastModified: Instant?
        public var versionID: String?
        /// `Content-Range` of a ranged GET (`bytes 2-5/16`).
        public var contentRange: String?
        /// User metadata (`x-amz-meta-*`), names without the prefix, lower-cased.
        public var metadata: [String: String]
    }

    public struct S3Object: Sendable {
        public var metadata: S3ObjectMetadata
        /// The object bytes; empty when the object was downloaded to a file.
        public var body: [UInt8]
    }

    public struct S3ListedObject: Sendable, Equatable {
        public var key: String
        public var size: Int64
        public var eTag: String?
        public var lastModified: Instant?
    }

    public struct S3ListPage: Sendable {
        public var objects: [S3ListedObject]
        public var commonPrefixes: [String]
        public var isTruncated: Bool
        public var nextContinuationToken: String?
    }

    /// A byte range for ranged GETs.
    public enum S3Range: Sendable, Equatable {
        /// Bytes `first…last` inclusive.
        case bytes(Int64, Int64)
        /// From `first` to the end.
        case from(Int64)
        /// The last `n` bytes.
        case suffix(Int64)

        var headerValue: String {
            switch self {
            case .bytes(let first, let last): "bytes=\(first)-\(last)"
            case .from(let first): "bytes=\(first)-"
            case .suffix(let count): "bytes=-\(count)"
            }
        }
    }

    // MARK: - Addressing

    /// The URL of `bucket` / `key` (key may be empty for bucket-level calls), with an optional raw query.
    public func s3URL(bucket: String, key: String = "", query: String = "") -> String {
        let endpoint = endpoint(for: .s3)
        let encodedKey = URIEncoding.encode(key, keepingSlashes: true)
        var url: String
        if endpoint.isOverride || !Self.isVirtualHostable(bucket) {
            url = endpoint.baseURL + "/" + URIEncoding.encode(bucket) + (key.isEmpty ? "" : "/" + encodedKey)
            if key.isEmpty && !endpoint.isOverride { url += "/" }
        } else {
            let host = endpoint.baseURL.replacingOnce("://", with: "://\(bucket).")
            url = host + "/" + encodedKey
        }
        return query.isEmpty ? url : url + "?" + query
    }

    static func isVirtualHostable(_ bucket: String) -> Bool {
        guard (3...63).contains(bucket.count), !bucket.contains("."), !bucket.contains("_") else { return false }
        return bucket.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    func s3Request(_ method: String, bucket: String, key: String = "", query: String = "",
                   headers: HTTPHeaders = HTTPHeaders(), body: HTTPBody = .empty) throws(AWSError) -> HTTPRequest {
        // libcurl merges "." and ".." path segments before sending (no CURLOPT_PATH_AS_IS in the HTTP layer), so
        // such a key would be stored under another name or fail its signature: refuse it up front.
        if key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) {
            throw AWSError(kind: .invalidRequest, service: "S3", operation: method, code: "UnsupportedObjectKey",
                           message: "object key '\(key)' has a '.' or '..' path segment, which the HTTP layer "
                               + "would rewrite; rename the object (or enable CURLOPT_PATH_AS_IS in HTTP)")
        }
        return HTTPRequest(method: method, url: s3URL(bucket: bucket, key: key, query: query), headers: headers,
                           body: body)
    }

    // MARK: - Buckets

    /// CreateBucket (with a LocationConstraint outside us-east-1). Succeeds when you already own the bucket.
    public func createBucket(_ bucket: String) throws(AWSError) {
        var body: HTTPBody = .empty
        var headers = HTTPHeaders()
        if region != "us-east-1" {
            var xml = XMLWriter()
            xml.element("CreateBucketConfiguration", namespace: "http://s3.amazonaws.com/doc/2006-03-01/") {
                $0.element("LocationConstraint", region)
            }
            body = .bytes(xml.bytes)
            headers.add(name: "Content-Type", value: "application/xml")
        }
        do throws(AWSError) {
            _ = try send(try s3Request("PUT", bucket: bucket, headers: headers, body: body),
                         operation: AWSOperation(.s3, "CreateBucket"))
        } catch where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    // MARK: - Objects

    /// PutObject from bytes or a file (`HTTPBody.file` streams it; nothing is held in memory).
    ///
    /// - Parameters:
    ///   - ifNoneMatch: send `If-None-Match: *`, so the write fails with `PreconditionFailed` (HTTP 412;
    ///     `AWSError.isConditionFailure`) when the key exists. Such a put is not retried after ambiguous failures: a
    ///     lost response to a successful first attempt would turn into a false 412.
    ///   - unsignedPayload: sign with `UNSIGNED-PAYLOAD` instead of hashing the body first.
    @discardableResult
    public func putObject(
        bucket: String, key: String, body: HTTPBody, contentType: String = "application/octet-stream",
        metadata: [String: String] = [:], ifNoneMatch: Bool = false, unsignedPayload: Bool = false
    ) throws(AWSError) -> S3PutResult {
        // An explicit non-form Content-Type: moto (Flask) would swallow a form-typed body.
        var headers = HTTPHeaders([("Content-Type", contentType)])
        for (name, value) in metadata { headers.add(name: "x-amz-meta-\(name)", value: value) }
        if ifNoneMatch { headers.add(name: "If-None-Match", value: "*") }
        let response = try send(try s3Request("PUT", bucket: bucket, key: key, headers: headers, body: body),
                                operation: AWSOperation(.s3, "PutObject", isIdempotent: !ifNoneMatch),
                                payload: unsignedPayload ? .unsigned : .computed)
        return S3PutResult(eTag: response.headers["ETag"], versionID: response.headers["x-amz-version-id"])
    }

    /// GetObject, whole or ranged; into memory, or streamed into `downloadTo` (the file is replaced).
    public func getObject(bucket: String, key: String, range: S3Range? = nil, downloadTo path: String? = nil)
        throws(AWSError) -> S3Object
    {
        var headers = HTTPHeaders()
        if let range { headers.add(name: "Range", value: range.headerValue) }
        let response = try send(try s3Request("GET", bucket: bucket, key: key, headers: headers),
                                operation: AWSOperation(.s3, "GetObject"), downloadTo: path)
        return S3Object(metadata: Self.objectMetadata(response.headers), body: response.body)
    }

    /// HeadObject; a missing key throws an `AWSError` with `isNotFound` (code `NotFound`, status 404).
    public func headObject(bucket: String, key: String) throws(AWSError) -> S3ObjectMetadata {
        let response = try send(try s3Request("HEAD", bucket: bucket, key: key), operation: AWSOperation(.s3, "HeadObject"))
        return Self.objectMetadata(response.headers)
    }

    /// DeleteObject (succeeds for a missing key, as S3 does).
    public func deleteObject(bucket: String, key: String) throws(AWSError) {
        _ = try send(try s3Request("DELETE", bucket: bucket, key: key), operation: AWSOperation(.s3, "DeleteObject"))
    }

    static func objectMetadata(_ headers: HTTPHeaders) -> S3ObjectMetadata {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        return S3ObjectMetadata(
            contentLength: headers["Content-Length"].flatMap { Int64($0) } ?? 0,
            contentType: headers["Content-Type"], eTag: headers["ETag"],
            lastModified: headers["Last-Modified"].flatMap(HTTPDate.parse), versionID: headers["x-amz-version-id"],
            contentRange: headers["Content-Range"], metadata: metadata)
    }

    // MARK: - Listing

    /// One ListObjectsV2 page.
    public func listObjectsV2(
        bucket: String, prefix: String? = nil, delimiter: String? = nil, continuationToken: String? = nil,
        startAfter: String? = nil, maxKeys: Int? = nil
    ) throws(AWSError) -> S3ListPage {
        var query = [("list-type", "2")]
        if let prefix { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        if let maxKeys { query.append(("max-keys", String(maxKeys))) }
        let operation = AWSOperation(.s3, "ListObjectsV2")
        let response = try send(try s3Request("GET", bucket: bucket, query: URIEncoding.formEncode(query)),
                                operation: operation)
        let root = try parseXML(response.body, operation)
        let objects = root.children("Contents").map { node in
            S3ListedObject(key: node.string("Key") ?? "", size: node.string("Size").flatMap { Int64($0) } ?? 0,
                           eTag: node.string("ETag"), lastModified: node.string("LastModified").flatMap(ISO8601.parse))
        }
        return S3ListPage(
            objects: objects, commonPrefixes: root.children("CommonPrefixes").compactMap { $0.string("Prefix") },
            isTruncated: root.string("IsTruncated") == "true",
            nextContinuationToken: root.string("NextContinuationToken"))
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAllObjects(bucket: String, prefix: String? = nil, pageSize: Int? = nil) throws(AWSError)
        -> [S3ListedObject]
    {
        var objects: [S3ListedObject] = []
        var token: String?
        repeat {
            let page = try listObjectsV2(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: pageSize)
            objects += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return objects
    }

    // MARK: - Multipart upload

    /// CreateMultipartUpload; returns the upload ID.
    public func createMultipartUpload(bucket: String, key: String, contentType: String = "application/octet-stream")
        throws(AWSError) -> String
    {
        let operation = AWSOperation(.s3, "CreateMultipartUpload")
        let response = try send(try s3Request("POST", bucket: bucket, key: key, query: "uploads",
                                          headers: HTTPHeaders([("Content-Type", contentType)])),
                                operation: operation)
        guard let uploadID = try parseXML(response.body, operation).string("UploadId") else {
            throw AWSError(kind: .invalidResponse, service: "S3", operation: operation.name, status: response.status,
                           code: "InvalidResponse", message: "no UploadId in the response")
        }
        return uploadID
    }

    /// UploadPart (part numbers 1…10000); returns the part's ETag.
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, body: HTTPBody,
                           unsignedPayload: Bool = false) throws(AWSError) -> String {
        let query = URIEncoding.formEncode([("partNumber", String(partNumber)), ("uploadId", uploadID)])
        let response = try send(
            s3Request("PUT", bucket: bucket, key: key, query: query,
                      headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: body),
            operation: AWSOperation(.s3, "UploadPart"), payload: unsignedPayload ? .unsigned : .computed)
        return response.headers["ETag"] ?? ""
    }

    /// CompleteMultipartUpload with `(partNumber, eTag)` in ascending order.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [(Int, String)])
        throws(AWSError) -> S3PutResult
    {
        var xml = XMLWriter()
        xml.element("CompleteMultipartUpload", namespace: "http://s3.amazonaws.com/doc/2006-03-01/") { xml in
            for (number, eTag) in parts {
                xml.element("Part") {
                    $0.element("PartNumber", String(number))
                    $0.element("ETag", eTag)
                }
            }
        }
        let operation = AWSOperation(.s3, "CompleteMultipartUpload")
        let response = try send(
            s3Request("POST", bucket: bucket, key: key, query: URIEncoding.formEncode([("uploadId", uploadID)]),
                      headers: HTTPHeaders([("Content-Type", "application/xml")]), body: .bytes(xml.bytes)),
            operation: operation)
        // S3 may answer 200 with an <Error> document when completion fails late.
        let root = try parseXML(response.body, operation)
        if root.name == "Error" {
            throw AWSErrorDecoder.decode(response, protocol: .restXML, service: "S3", operation: operation.name)
        }
        return S3PutResult(eTag: root.string("ETag"), versionID: response.headers["x-amz-version-id"])
    }

    /// An in-progress multipart upload, as ListMultipartUploads reports it.
    public struct S3MultipartUpload: Sendable, Equatable {
        public var key: String
        public var uploadID: String
        /// ISO 8601, as S3 sends it (sorts chronologically).
        public var initiated: String
    }

    /// One uploaded part, as ListParts reports it.
    public struct S3UploadedPart: Sendable, Equatable {
        public var partNumber: Int
        public var size: Int64
        /// Quoted hex MD5 of the part.
        public var eTag: String
    }

    /// Every in-progress multipart upload under `prefix` (ListMultipartUploads, following the key/upload-id markers).
    public func listMultipartUploads(bucket: String, prefix: String) throws(AWSError) -> [S3MultipartUpload] {
        var uploads: [S3MultipartUpload] = []
        var markers: (key: String, uploadID: String)?
        let operation = AWSOperation(.s3, "ListMultipartUploads")
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.uploadID)] }
            let response = try send(try s3Request("GET", bucket: bucket, query: URIEncoding.formEncode(query)),
                                    operation: operation)
            let root = try parseXML(response.body, operation)
            uploads += root.children("Upload").compactMap { node in
                guard let key = node.string("Key"), let id = node.string("UploadId") else { return nil }
                return S3MultipartUpload(key: key, uploadID: id, initiated: node.string("Initiated") ?? "")
            }
            markers = nil
            if root.string("IsTruncated") == "true", let key = root.string("NextKeyMarker"),
               let id = root.string("NextUploadIdMarker") {
                markers = (key, id)
            }
        } while markers != nil
        return uploads
    }

    /// Every part uploaded so far to `uploadID` (ListParts, following the part-number marker).
    public func listParts(bucket: String, key: String, uploadID: String) throws(AWSError) -> [S3UploadedPart] {
        var parts: [S3UploadedPart] = []
        var marker: String?
        let operation = AWSOperation(.s3, "ListParts")
        repeat {
            var query = [("uploadId", uploadID)]
            if let marker { query.append(("part-number-marker", marker)) }
            let response = try send(try s3Request("GET", bucket: bucket, key: key, query: URIEncoding.formEncode(query)),
                                    operation: operation)
            let root = try parseXML(response.body, operation)
            parts += root.children("Part").compactMap { node in
                guard let number = node.string("PartNumber").flatMap({ Int($0) }),
                      let size = node.string("Size").flatMap({ Int64($0) }) else { return nil }
                return S3UploadedPart(partNumber: number, size: size, eTag: node.string("ETag") ?? "")
            }
            marker = root.string("IsTruncated") == "true" ? root.string("NextPartNumberMarker") : nil
        } while marker != nil
        return parts
    }

    /// The ETag S3 gives an object uploaded from `path` in `partSize` parts: the hex MD5 of the concatenated binary
    /// part MD5s, then `-<part count>` (a single-part upload's ETag is the plain MD5). Read in blocks.
    public static func multipartETag(path: String, size: Int64, partSize: Int64) throws(AWSError) -> String {
        var digests: [UInt8] = []
        var offset: Int64 = 0
        var count = 0
        while offset < size {
            let length = min(partSize, size - offset)
            do {
                digests += try MD5.hash(filePath: path, offset: offset, length: length)
            } catch {
                throw AWSError(kind: .invalidRequest, service: "S3", operation: "UploadPart", code: "FileNotFound",
                               message: "cannot read \(path): \(error)")
            }
            offset += length
            count += 1
        }
        let combined: [UInt8]
        do { combined = try MD5.hash(digests) } catch {
            throw AWSError(kind: .invalidRequest, service: "S3", operation: "UploadPart", code: "Digest", message: "\(error)")
        }
        return Hex.encode(combined) + "-" + String(count)
    }

    /// AbortMultipartUpload.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) throws(AWSError) {
        _ = try send(try s3Request("DELETE", bucket: bucket, key: key,
                               query: URIEncoding.formEncode([("uploadId", uploadID)])),
                     operation: AWSOperation(.s3, "AbortMultipartUpload"))
    }

    /// Uploads a file: one PutObject below `multipartThreshold`, else a multipart upload of `partSize` parts read
    /// straight from the file (never the whole file in memory), `concurrency` parts at a time on their own threads
    /// (each with its own pooled connection).
    ///
    /// - Parameter resume: continue the key's most recent unfinished multipart upload: parts already there whose size
    ///   and MD5 match the file's bytes are kept, the rest are sent; a failure leaves the upload in place for the
    ///   next attempt (the bucket's AbortIncompleteMultipartUpload lifecycle rule removes abandoned ones). Without
    ///   it, a failed multipart upload is aborted.
    @discardableResult
    public func uploadFile(
        _ path: String, bucket: String, key: String, contentType: String = "application/octet-stream",
        partSize: Int64 = 8 << 20, multipartThreshold: Int64 = 16 << 20, concurrency: Int = 4,
        unsignedPayload: Bool = false, resume: Bool = false
    ) throws(AWSError) -> S3PutResult {
        precondition(partSize >= 5 << 20, "S3 parts (except the last) must be at least 5 MiB")
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw AWSError(kind: .invalidRequest, service: "S3", operation: "PutObject", code: "FileNotFound",
                           message: "cannot read \(path): errno \(errno)")
        }
        let size = Int64(info.st_size)
        if size < multipartThreshold {
            return try putObject(bucket: bucket, key: key, body: .file(path: path), contentType: contentType,
                                 unsignedPayload: unsignedPayload)
        }
        let partCount = Int((size + partSize - 1) / partSize)
        var uploadID: String?
        var kept: [Int: String] = [:]
        if resume, let existing = try listMultipartUploads(bucket: bucket, prefix: key)
            .filter({ $0.key == key }).max(by: { $0.initiated < $1.initiated }) {
            uploadID = existing.uploadID
            for part in try listParts(bucket: bucket, key: key, uploadID: existing.uploadID)
            where part.partNumber >= 1 && part.partNumber <= partCount {
                let offset = Int64(part.partNumber - 1) * partSize
                guard part.size == min(partSize, size - offset),
                      let digest = try? MD5.hash(filePath: path, offset: offset, length: part.size),
                      part.eTag.filter({ $0 != "\"" }) == Hex.encode(digest) else { continue }
                kept[part.partNumber] = part.eTag
            }
        }
        let activeUploadID: String
        if let uploadID { activeUploadID = uploadID } else {
            activeUploadID = try createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
        }
        let missing = (0..<partCount).filter { kept[$0 + 1] == nil }
        let results = Mutex<(next: Int, eTags: [Int: String], error: AWSError?)>((0, kept, nil))
        let worker: @Sendable () -> Void = {
            while true {
                let index: Int? = results.withLock { state in
                    guard state.error == nil, state.next < missing.count else { return nil }
                    state.next += 1
                    return missing[state.next - 1]
                }
                guard let index else { return }
                let offset = Int64(index) * partSize
                do throws(AWSError) {
                    let eTag = try self.uploadPart(
                        bucket: bucket, key: key, uploadID: activeUploadID, partNumber: index + 1,
                        body: .file(path: path, offset: offset, length: min(partSize, size - offset)),
                        unsignedPayload: unsignedPayload)
                    results.withLock { $0.eTags[index + 1] = eTag }
                } catch {
                    results.withLock { if $0.error == nil { $0.error = error } }
                    return
                }
            }
        }
        if !missing.isEmpty { BlockingThreads.run(count: max(1, min(concurrency, missing.count)), worker) }
        let (eTags, failure) = results.withLock { ($0.eTags, $0.error) }
        do throws(AWSError) {
            if let failure { throw failure }
            let parts = (1...partCount).map { ($0, eTags[$0] ?? "") }
            return try completeMultipartUpload(bucket: bucket, key: key, uploadID: activeUploadID, parts: parts)
        } catch {
            if !resume { try? abortMultipartUpload(bucket: bucket, key: key, uploadID: activeUploadID) }
            throw error
        }
    }

    // MARK: - Presigned URLs

    /// A presigned GET or PUT URL for `bucket`/`key`, valid `expiresInSeconds` from now. A PUT made with it should
    /// send a non-form `Content-Type` (e.g. `application/octet-stream`).
    public func presignedS3URL(method: String = "GET", bucket: String, key: String, expiresInSeconds: Int = 3600)
        throws(AWSError) -> String
    {
        let credentials = try currentCredentials(AWSOperation(.s3, "Presign"))
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        do throws(SigV4Error) {
            return try signer.presignedURL(method: method, url: s3URL(bucket: bucket, key: key),
                                           expiresInSeconds: expiresInSeconds, date: configuration.now())
        } catch {
            throw AWSError(kind: .invalidRequest, service: "S3", operation: "Presign", code: "InvalidRequest",
                           message: error.message)
        }
    }

    // MARK: - Bucket configuration

    /// One notification target (queue, topic or Lambda function) for PutBucketNotificationConfiguration.
    public struct S3NotificationTarget: Sendable, Equatable {
        public enum Kind: String, Sendable { case queue = "Queue", topic = "Topic", lambdaFunction = "CloudFunction" }
        public var kind: Kind
        public var arn: String
        public var events: [String]
        public var id: String?
        public var prefix: String?
        public var suffix: String?

        public init(kind: Kind, arn: String, events: [String] = ["s3:ObjectCreated:*"], id: String? = nil,
                    prefix: String? = nil, suffix: String? = nil) {
            (self.kind, self.arn, self.events, self.id, self.prefix, self.suffix) = (kind, arn, events, id, prefix,
                                                                                    suffix)
        }

        var elementName: String {
            switch kind {
            case .queue: "QueueConfiguration"
            case .topic: "TopicConfiguration"
            case .lambdaFunction: "CloudFunctionConfiguration"
            }
        }
    }

    /// PutBucketNotificationConfiguration (replaces the whole configuration; `eventBridge` adds
    /// `<EventBridgeConfiguration/>`).
    public func putBucketNotificationConfiguration(bucket: String, targets: [S3NotificationTarget],
                                                   eventBridge: Bool = false) throws(AWSError) {
        var xml = XMLWriter()
        xml.element("NotificationConfiguration", namespace: "http://s3.amazonaws.com/doc/2006-03-01/") { xml in
            for target in targets {
                xml.element(target.elementName) { xml in
                    if let id = target.id { xml.element("Id", id) }
                    xml.element(target.kind.rawValue, target.arn)
                    for event in target.events { xml.element("Event", event) }
                    if target.prefix != nil || target.suffix != nil {
                        xml.element("Filter") { xml in
                            xml.element("S3Key") { xml in
                                if let prefix = target.prefix {
                                    xml.element("FilterRule") {
                                        $0.element("Name", "prefix")
                                        $0.element("Value", prefix)
                                    }
                                }
                                if let suffix = target.suffix {
                                    xml.element("FilterRule") {
                                        $0.element("Name", "suffix")
                                        $0.element("Value", suffix)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if eventBridge { xml.element("EventBridgeConfiguration") { _ in } }
        }
        _ = try send(try s3Request("PUT", bucket: bucket, query: "notification",
                               headers: HTTPHeaders([("Content-Type", "application/xml")]), body: .bytes(xml.bytes)),
                     operation: AWSOperation(.s3, "PutBucketNotificationConfiguration"))
    }

    /// GetBucketNotificationConfiguration, as targets.
    public func getBucketNotificationConfiguration(bucket: String) throws(AWSError) -> [S3NotificationTarget] {
        let operation = AWSOperation(.s3, "GetBucketNotificationConfiguration")
        let response = try send(try s3Request("GET", bucket: bucket, query: "notification"), operation: operation)
        let root = try parseXML(response.body, operation)
        var targets: [S3NotificationTarget] = []
        for kind in [S3NotificationTarget.Kind.queue, .topic, .lambdaFunction] {
            let probe = S3NotificationTarget(kind: kind, arn: "")
            for node in root.children(probe.elementName) {
                let rules = node["Filter", "S3Key"]?.children("FilterRule") ?? []
                func rule(_ name: String) -> String? {
                    rules.first { $0.string("Name")?.lowercased() == name }?.string("Value")
                }
                targets.append(S3NotificationTarget(
                    kind: kind, arn: node.string(kind.rawValue) ?? "", events: node.children("Event").map(\.text),
                    id: node.string("Id"), prefix: rule("prefix"), suffix: rule("suffix")))
            }
        }
        return targets
    }

    /// One lifecycle rule (filter by prefix; transitions, expiration, noncurrent-version expiration).
    public struct S3LifecycleRule: Sendable, Equatable {
        public var id: String
        public var prefix: String
        public var isEnabled: Bool
        /// (days, storage class) e.g. (30, "STANDARD_IA"), (90, "GLACIER").
        public var transitions: [S3LifecycleTransition]
        public var expirationDays: Int?
        public var noncurrentVersionExpirationDays: Int?
        public var abortIncompleteMultipartUploadDays: Int?

        public init(id: String, prefix: String = "", isEnabled: Bool = true, transitions: [S3LifecycleTransition] = [],
                    expirationDays: Int? = nil, noncurrentVersionExpirationDays: Int? = nil,
                    abortIncompleteMultipartUploadDays: Int? = nil) {
            self.id = id
            self.prefix = prefix
            self.isEnabled = isEnabled
            self.transitions = transitions
            self.expirationDays = expirationDays
            self.noncurrentVersionExpirationDays = noncurrentVersionExpirationDays
            self.abortIncompleteMultipartUploadDays = abortIncompleteMultipartUploadDays
        }
    }

    public struct S3LifecycleTransition: Sendable, Equatable {
        public var days: Int
        public var storageClass: String
        public init(days: Int, storageClass: String) {
            self.days = days
            self.storageClass = storageClass
        }
    }

    /// PutBucketLifecycleConfiguration (replaces all rules). Sends `Content-MD5`, which S3 requires here.
    public func putBucketLifecycleConfiguration(bucket: String, rules: [S3LifecycleRule]) throws(AWSError) {
        var xml = XMLWriter()
        xml.element("LifecycleConfiguration", namespace: "http://s3.amazonaws.com/doc/2006-03-01/") { xml in
            for rule in rules {
                xml.element("Rule") { xml in
                    xml.element("ID", rule.id)
                    xml.element("Filter") { $0.element("Prefix", rule.prefix) }
                    xml.element("Status", rule.isEnabled ? "Enabled" : "Disabled")
                    for transition in rule.transitions {
                        xml.element("Transition") {
                            $0.element("Days", String(transition.days))
                            $0.element("StorageClass", transition.storageClass)
                        }
                    }
                    if let days = rule.expirationDays { xml.element("Expiration") { $0.element("Days", String(days)) } }
                    if let days = rule.noncurrentVersionExpirationDays {
                        xml.element("NoncurrentVersionExpiration") { $0.element("NoncurrentDays", String(days)) }
                    }
                    if let days = rule.abortIncompleteMultipartUploadDays {
                        xml.element("AbortIncompleteMultipartUpload") {
                            $0.element("DaysAfterInitiation", String(days))
                        }
                    }
                }
            }
        }
        let body = xml.bytes
        var headers = HTTPHeaders([("Content-Type", "application/xml")])
        headers.add(name: "Content-MD5", value: Base64.encode(try md5(body)))
        _ = try send(try s3Request("PUT", bucket: bucket, query: "lifecycle", headers: headers, body: .bytes(body)),
                     operation: AWSOperation(.s3, "PutBucketLifecycleConfiguration"))
    }

    /// GetBucketLifecycleConfiguration.
    public func getBucketLifecycleConfiguration(bucket: String) throws(AWSError) -> [S3LifecycleRule] {
        let operation = AWSOperation(.s3, "GetBucketLifecycleConfiguration")
        let response = try send(try s3Request("GET", bucket: bucket, query: "lifecycle"), operation: operation)
        return try parseXML(response.body, operation).children("Rule").map { node in
            S3LifecycleRule(
                id: node.string("ID") ?? "", prefix: node["Filter", "Prefix"]?.text ?? node.string("Prefix") ?? "",
                isEnabled: node.string("Status") == "Enabled",
                transitions: node.children("Transition").map {
                    S3LifecycleTransition(days: Int($0.string("Days") ?? "") ?? 0,
                                          storageClass: $0.string("StorageClass") ?? "")
                },
                expirationDays: node["Expiration", "Days"].flatMap { Int($0.text) },
                noncurrentVersionExpirationDays: node["NoncurrentVersionExpiration", "NoncurrentDays"]
                    .flatMap { Int($0.text) },
                abortIncompleteMultipartUploadDays: node["AbortIncompleteMultipartUpload", "DaysAfterInitiation"]
                    .flatMap { Int($0.text) })
        }
    }

    private func md5(_ bytes: [UInt8]) throws(AWSError) -> [UInt8] {
        do throws(CryptoError) {
            return try MD5.hash(bytes)
        } catch {
            throw AWSError(kind: .invalidRequest, service: "S3", operation: "Content-MD5", code: "CryptoError",
                           message: error.description)
        }
    }
}

extension String {
    /// Replaces the first occurrence of `target`.
    func replacingOnce(_ target: String, with replacement: String) -> String {
        guard let range = firstUTF8Range(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
