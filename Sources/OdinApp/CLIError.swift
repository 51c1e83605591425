/// The one failure type of the `odin` command's logic: a message naming what failed and, where possible, the fix.
/// Commands print it as "Error: <description>" and exit 1.
public struct CLIError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
