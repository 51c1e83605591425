/// How the logic of the `odin` command tells its user what it is doing, without writing to a terminal itself: a
/// line of diagnostics (stderr in the command) and progress meters (a progress bar in the command). The command
/// builds one from its terminal; tests and library callers use `silent`.
package struct Feedback: Sendable {
    /// A meter of one long step (bytes uploaded, chunks done). Thread-safe: `advance` may be called from workers.
    package struct Meter: Sendable {
        package var advance: @Sendable (_ amount: Int64) -> Void
        package var finish: @Sendable () -> Void

        package init(advance: @escaping @Sendable (Int64) -> Void, finish: @escaping @Sendable () -> Void) {
            self.advance = advance
            self.finish = finish
        }

        package static let none = Meter(advance: { _ in }, finish: {})
    }

    /// One line of diagnostics (no trailing newline).
    package var note: @Sendable (_ line: String) -> Void
    /// A meter for a step of `total` units (`unit` "B" for bytes, "" for a count).
    package var meter: @Sendable (_ label: String, _ total: Int64, _ unit: String) -> Meter

    package init(note: @escaping @Sendable (String) -> Void,
                 meter: @escaping @Sendable (String, Int64, String) -> Meter) {
        self.note = note
        self.meter = meter
    }

    /// Says nothing.
    package static let silent = Feedback(note: { _ in }, meter: { _, _, _ in .none })

    /// A meter when `shown`, else one that shows nothing.
    package func meter(_ label: String, total: Int64, unit: String = "", shown: Bool) -> Meter {
        shown ? meter(label, total, unit) : .none
    }
}

extension Feedback {
    /// Notes on stderr and progress bars (ProgressBar) there: the `odin` command's feedback.
    package static let terminal = Feedback(note: { Terminal.error($0) }, meter: { label, total, unit in
        let bar = ProgressBar(label, total: total, unit: unit)
        return .init(advance: { bar.advance(by: $0) }, finish: { bar.finish() })
    })
}
