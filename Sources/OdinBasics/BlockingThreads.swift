import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Blocking work (curl transfers, FFmpeg decoding, detector processes, loopback servers) on dedicated POSIX threads,
/// never on Swift's cooperative pool.
package enum BlockingThreads {
    /// The closure a thread runs; passed as the thread's argument, retained until the thread takes it.
    private final class Job: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a thread running `body` and returns a handle to join, or nil when no thread could be created.
    private static func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        // +1 retain handed to the thread, released there with takeRetainedValue.
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, job)
        guard created == 0 else {
            Unmanaged<Job>.fromOpaque(job).release()
            return nil
        }
        return thread
    }

    /// Starts a detached thread running `body` (a server's accept loop, one connection). Creating a thread only
    /// fails when the process is out of resources, which is a programmer error here.
    package static func start(_ body: @escaping @Sendable () -> Void) {
        guard let thread = spawn(body) else { preconditionFailure("pthread_create failed: \(errno)") }
        pthread_detach(thread)
    }

    /// Runs `body` on `count` threads at once, the calling thread being one of them, and returns when all have
    /// finished. If a thread cannot be created, its share runs on the calling thread.
    package static func run(count: Int, _ body: @escaping @Sendable () -> Void) {
        var threads: [pthread_t] = []
        for _ in 0..<max(0, count - 1) {
            if let thread = spawn(body) { threads.append(thread) } else { body() }
        }
        body()
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Calls `body(i)` for every `i` in `0..<count` on at most `concurrency` threads and returns the results in
    /// index order. Blocks the calling thread (one of the workers) until all are done.
    package static func map<T: Sendable>(_ count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) -> T)
        -> [T]
    {
        if count == 0 { return [] }
        let workers = max(1, min(concurrency, count))
        if workers == 1 { return (0..<count).map(body) }
        let state = MapState<T>(count: count)
        run(count: workers) {
            while true {
                let index = state.next.add(1, ordering: .relaxed).oldValue
                if index >= count { return }
                let value = body(index)
                state.results.withLock { $0[index] = value }
            }
        }
        return state.results.withLock { $0.map { $0! } }
    }

    private final class MapState<T: Sendable>: Sendable {
        let next = Atomic<Int>(0)
        let results: Mutex<[T?]>
        init(count: Int) { results = Mutex([T?](repeating: nil, count: count)) }
    }
}
