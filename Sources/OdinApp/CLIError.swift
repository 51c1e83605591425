/// The one failure type of the `odin` command's logic: a message naming what failed and, where possible, the fix.
/// `odin` prints it as "odin: <description>" on stderr (`odin deploy`/`destroy`: the description alone) and exits 1;
/// thrown while checking an argument (`usage` in OdinCLI) it is a usage error instead (exit 2).
public struct CLIError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
