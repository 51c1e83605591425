#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (curl transfers) on dedicated POSIX threads, never on Swift's cooperative pool.
enum BlockingThreads {
    /// The closure a thread runs; passed as the thread's argument, retained until the thread takes it.
    private final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Runs `body` on `count` threads at once and returns when all have finished. If a thread cannot be created,
    /// its share runs on the calling thread.
    static func run(count: Int, _ body: @escaping @Sendable () -> Void) {
        var threads: [pthread_t] = []
        for _ in 0..<max(0, count - 1) {
            // +1 retain handed to the thread, released there with takeRetainedValue.
            let job = Unmanaged.passRetained(Job(body)).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { argument in
                Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue().body()
                return nil
            }, job)
            if created == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Job>.fromOpaque(job).release()
                body()
            }
        }
        body()  // the calling thread is one of the workers
        for thread in threads { pthread_join(thread, nil) }
    }
}
