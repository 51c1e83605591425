#if canImport(Glibc)
import Glibc
#endif

/// Starting child processes with `posix_spawn`: the one place the project does it (local Batch jobs, the external
/// detector's shell, the runtime emulator's bootstraps).
package enum ProcessSpawner {
    /// A process that could not be started, with the `errno` `posix_spawn` returned.
    package struct SpawnError: Error, CustomStringConvertible, Sendable {
        package let command: String
        package let code: Int32
        package var description: String { "cannot start \(command): \(String(cString: strerror(code)))" }
    }

    /// Where the child's stdout and stderr (both) go.
    package struct Output: Sendable {
        package var path: String
        /// Append (true) or truncate (false).
        package var appending: Bool
        /// The file mode when the file is created.
        package var mode: mode_t
        package init(path: String, appending: Bool, mode: mode_t = 0o644) {
            (self.path, self.appending, self.mode) = (path, appending, mode)
        }
    }

    /// Starts `argv[0]` with `argv`.
    /// - Parameters:
    ///   - environment: exactly these variables, or nil to inherit this process's environment.
    ///   - searchPath: look `argv[0]` up in `PATH` (`posix_spawnp`) rather than taking it as a path.
    ///   - output: where stdout and stderr go; nil inherits them.
    ///   - nullInput: read stdin from `/dev/null` rather than inheriting it.
    /// - Returns: the child's pid; reap it with `wait(_:)`.
    package static func spawn(_ argv: [String], environment: [String: String]?, searchPath: Bool = false,
                              output: Output? = nil, nullInput: Bool = true) throws(SpawnError) -> pid_t
    {
        guard let command = argv.first else { throw SpawnError(command: "(empty)", code: EINVAL) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            let flags = O_WRONLY | O_CREAT | (output.appending ? O_APPEND : O_TRUNC)
            posix_spawn_file_actions_addopen(&actions, 1, output.path, flags, output.mode)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        if nullInput { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            cArguments.forEach { free($0) }
            cEnvironment?.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = if let cEnvironment {
            searchPath ? posix_spawnp(&pid, command, &actions, nil, cArguments, cEnvironment)
                : posix_spawn(&pid, command, &actions, nil, cArguments, cEnvironment)
        } else {
            searchPath ? posix_spawnp(&pid, command, &actions, nil, cArguments, environ)
                : posix_spawn(&pid, command, &actions, nil, cArguments, environ)
        }
        guard code == 0 else { throw SpawnError(command: command, code: code) }
        return pid
    }

    /// Blocks until `pid` ends and returns its exit code (128 + signal when killed), or nil when `waitpid` fails
    /// (not a child of this process).
    package static func wait(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return nil }
        }
        return exitCode(status)
    }

    /// A `waitpid` status as an exit code: the code, or 128 + signal when killed.
    package static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
