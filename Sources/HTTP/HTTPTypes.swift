/// Header fields in order, with case-insensitive lookup. Names keep the case they were added with.
public struct HTTPHeaders: Sendable, Sequence, Equatable, CustomStringConvertible {
    public typealias Element = (name: String, value: String)
    @usableFromInline var fields: [Field] = []

    @usableFromInline struct Field: Sendable, Equatable {
        @usableFromInline var name: String
        @usableFromInline var value: String
    }

    public init() {}

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }

    /// Makes room for `capacity` fields (a signer adds its headers without regrowing the storage).
    public mutating func reserveCapacity(_ capacity: Int) { fields.reserveCapacity(capacity) }

    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every field called `name` with one field, or adds it.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    public mutating func remove(name: String) {
        fields.removeAll { Self.equal($0.name, name) }
    }

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        fields.first { Self.equal($0.name, name) }?.value
    }

    public func values(for name: String) -> [String] {
        fields.filter { Self.equal($0.name, name) }.map(\.value)
    }

    /// A plain struct iterator, inlinable into other modules: the signer walks every request's headers, and a
    /// type-erased iterator there costs an allocation and an indirect call per field.
    public struct Iterator: IteratorProtocol {
        @usableFromInline var base: IndexingIterator<[Field]>
        @inlinable init(_ base: IndexingIterator<[Field]>) { self.base = base }
        @inlinable public mutating func next() -> Element? {
            guard let field = base.next() else { return nil }
            return (name: field.name, value: field.value)
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(fields.makeIterator()) }

    /// Names only: values are never printed, because they may carry credentials.
    public var description: String { "[" + fields.map(\.name).joined(separator: ", ") + "]" }

    /// ASCII case-insensitive comparison of header names, without allocating.
    package static func equal(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        // Over both buffers directly (every header lookup of every request comes through here).
        let direct = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right -> Bool in
                for index in 0..<left.count where left[index] != right[index] {
                    let (a, b) = (left[index], right[index])
                    if (a >= 0x41 && a <= 0x5A ? a | 0x20 : a) != (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) { return false }
                }
                return true
            }
        }
        if let direct, let result = direct { return result }
        for (a, b) in zip(lhs.utf8, rhs.utf8) where a != b {
            let lowerA = a >= 0x41 && a <= 0x5A ? a | 0x20 : a
            let lowerB = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
            if lowerA != lowerB { return false }
        }
        return true
    }
}

/// What a request sends.
public enum HTTPBody: Sendable, Equatable {
    case empty
    case bytes([UInt8])
    /// `length` bytes of a local file from `offset` (nil: to the end), streamed without loading the file.
    case file(path: String, offset: Int64 = 0, length: Int64? = nil)
}

public struct HTTPRequest: Sendable {
    public var method: String
    /// An absolute `http://` or `https://` URL, already percent-encoded.
    public var url: String
    public var headers: HTTPHeaders
    public var body: HTTPBody
    /// Send on a new connection, closed afterwards. For requests that must not be sent twice: libcurl resends a
    /// request whose reused connection dies before any answer byte ("Connection died, retrying a fresh connect"),
    /// which repeats a non-idempotent call the server already applied (e.g. a Batch SubmitJob).
    public var freshConnection = false

    public init(method: String = "GET", url: String, headers: HTTPHeaders = HTTPHeaders(), body: HTTPBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// The body, or empty when it was streamed to a file.
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A transport failure (no HTTP status to show for it). HTTP error statuses are responses, not `HTTPError`s.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case invalidRequest, connect, timeout, send, receive, tls, file, other
    }

    public var kind: Kind
    /// libcurl's `CURLcode`, 0 when the error did not come from libcurl.
    public var curlCode: Int32
    public var message: String
    /// The URL without its query string (which may hold a presigned signature).
    public var url: String

    public init(kind: Kind, curlCode: Int32 = 0, message: String, url: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.message = message
        self.url = Self.redact(url)
    }

    /// True when the request can be sent again safely as far as the transport knows: the connection could not be
    /// made, or it dropped before a response arrived.
    public var isConnectionFailure: Bool {
        kind == .connect || kind == .send || kind == .receive || kind == .timeout
    }

    public var description: String { "HTTP \(kind) error for \(url): \(message) (curl \(curlCode))" }

    static func redact(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        return String(url[..<question]) + "?…"
    }
}
