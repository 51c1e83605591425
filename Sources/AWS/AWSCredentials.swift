import OdinBasics

/// An access key pair, with the session token and expiry of temporary credentials.
///
/// `description`, `debugDescription` and reflection never show the secret key or the session token.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The session token of temporary credentials (sent as `X-Amz-Security-Token`).
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Instant?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Instant? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// True when `expiration` is set and falls within `margin` seconds of `now` (or has passed).
    public func isExpiring(at now: Instant, margin: Double) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) <= margin
    }
}

// MARK: - CustomStringConvertible

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>"
            + (sessionToken == nil ? "" : ", sessionToken: <redacted>")
            + (expiration.map { ", expiration: \(Int($0.timeIntervalSince1970))" } ?? "") + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID, "secret": "<redacted>"]) }
}
