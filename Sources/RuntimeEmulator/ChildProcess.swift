import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, owned until it is reaped. `deinit` kills and reaps it if still running.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Monotonic seconds at spawn, for init-time measurements.
    public let startedAt: Double
    private var status: Int32?

    /// Starts `path` with `arguments` (argv[1…]) and exactly `environment`.
    /// - Parameter outputPath: where stdout and stderr go (nil: inherited).
    public init(path: String, arguments: [String] = [], environment: [String: String],
                outputPath: String? = nil) throws(ServerError) {
        let started = Monitor.monotonicNow()
        do {
            pid = try ProcessSpawner.spawn([path] + arguments, environment: environment,
                                           output: outputPath.map { .init(path: $0, appending: true) },
                                           nullInput: false)
        } catch {
            throw ServerError(error.description)
        }
        startedAt = started
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
    }

    /// The exit status if the process has ended (non-blocking).
    public func poll() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = ProcessSpawner.exitCode(raw) }
        return status
    }

    /// Blocks until the process ends; returns its exit code (128+signal when killed).
    @discardableResult
    public func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        status = ProcessSpawner.exitCode(raw)
        return status!
    }

    /// Waits up to `seconds` for the process to end; nil when it is still running.
    public func wait(seconds: Double) -> Int32? {
        let deadline = Monitor.monotonicNow() + seconds
        while Monitor.monotonicNow() < deadline {
            if let status = poll() { return status }
            usleep(2000)
        }
        return poll()
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    public func terminate(grace: Double = 1) {
        guard poll() == nil else { return }
        kill(pid, SIGTERM)
        if wait(seconds: grace) == nil {
            kill(pid, SIGKILL)
            wait()
        }
    }

    /// Peak resident set size in KiB (`VmHWM` from /proc), while the process runs.
    public func peakRSSKiB() -> Int? {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            if text.hasPrefix("VmHWM:") {
                return Int(text.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
            }
        }
        return nil
    }
}
