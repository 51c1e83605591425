import OdinBasics

/// The wall clock, injected wherever results must be reproducible (simulator, tests, signing).
public protocol WallClock: Sendable {
    func now() -> Instant
}

/// The system clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Instant { Instant.now }
}
