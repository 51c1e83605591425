import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bounded concurrency for blocking work (FFmpeg decoding, EXIF file reads, detector processes): dedicated POSIX
/// threads, never the Swift cooperative pool.
enum BlockingPool {
    /// Calls `body(i)` for every `i` in `0..<count` on at most `concurrency` threads and returns the results in
    /// index order. Blocks the calling thread until all are done.
    static func map<T: Sendable>(_ count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        if count == 0 { return [] }
        let workers = max(1, min(concurrency, count))
        if workers == 1 { return (0..<count).map(body) }
        let state = PoolState<T>(count: count)
        let job = PoolJob {
            while true {
                let i = state.next.add(1, ordering: .relaxed).oldValue
                if i >= count { return }
                let value = body(i)
                state.results.withLock { $0[i] = value }
            }
        }
        var threads: [pthread_t] = []
        for _ in 0..<workers {
            var thread = pthread_t()
            // The retained job is released by the thread when it finishes (takeRetainedValue).
            let context = Unmanaged.passRetained(job).toOpaque()
            let created = pthread_create(&thread, nil, { raw in
                let job = Unmanaged<PoolJob>.fromOpaque(raw!).takeRetainedValue()
                job.body()
                return nil
            }, context)
            if created == 0 {
                threads.append(thread)
            } else {
                Unmanaged<PoolJob>.fromOpaque(context).release()
                job.body()  // no thread available: work on the caller's thread
            }
        }
        for thread in threads { pthread_join(thread, nil) }
        return state.results.withLock { $0.map { $0! } }
    }
}

private final class PoolState<T: Sendable>: Sendable {
    let next = Atomic<Int>(0)
    let results: Mutex<[T?]>
    init(count: Int) { results = Mutex([T?](repeating: nil, count: count)) }
}

private final class PoolJob: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
