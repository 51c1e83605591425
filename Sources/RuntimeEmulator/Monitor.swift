#if canImport(Glibc)
import Glibc
#endif

/// A mutex with one condition variable (pthread), for the emulator's blocking hand-offs between the HTTP connection
/// threads and the caller that invokes.
final class Monitor: @unchecked Sendable {
    // pthread objects must not move: they live in allocated memory owned by this object.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (with the lock held by the caller through `locked`) until signalled or `deadline` (monotonic seconds)
    /// passes. Returns false on timeout.
    @discardableResult
    func wait(until deadline: Double?) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        var spec = timespec()
        spec.tv_sec = Int(deadline)
        spec.tv_nsec = Int((deadline - Double(Int(deadline))) * 1e9)
        return pthread_cond_timedwait(condition, mutex, &spec) == 0
    }

    func broadcast() { pthread_cond_broadcast(condition) }

    static func monotonicNow() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
