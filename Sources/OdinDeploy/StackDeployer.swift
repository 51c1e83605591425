import AWS
import FoundationEssentials
import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// Where progress lines go (stdout in the CLI, a buffer in tests).
public typealias DeployOutput = @Sendable (String) -> Void

/// What a change set will do, shown before it runs.
public struct ChangeSetPreview: Sendable, Equatable {
    public var stackName: String
    public var changeSetName: String
    /// `CREATE` or `UPDATE`.
    public var type: String
    public var changes: [CloudFormation.Change]
}

/// The end of one stack deploy.
public struct StackResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        case created, updated, unchanged, dryRun = "dry run", cancelled
    }

    public var stackName: String
    public var outcome: Outcome
    /// Final stack status (`CREATE_COMPLETE`, …; `NONE` when a dry run or cancel left no stack behind).
    public var status: String
    public var changes: [CloudFormation.Change]
    public var outputs: [String: String]
    /// Stack events seen while it ran, oldest first.
    public var events: [CloudFormation.StackEvent]
}

/// Creates or updates one stack through a change set (create → describe → show → execute), streams its events
/// with a progress count until the stack reaches a terminal state, and on failure names the failing resource and
/// the reason and the state the stack was left in. Also deletes stacks (waiting for the end).
///
/// Blocking: run it on a thread of its own (the CLI's main thread). Clock and sleep are injected.
public struct StackDeployer: Sendable {
    public var client: AWSClient
    public var output: DeployOutput
    /// Seconds between DescribeStackEvents/DescribeStacks polls.
    public var pollSeconds: Double
    /// Give up waiting (the operation goes on in CloudFormation) after this long.
    public var maxWaitSeconds: Double
    public var now: @Sendable () -> Instant
    public var sleep: @Sendable (Double) -> Void

    public init(client: AWSClient, output: @escaping DeployOutput, pollSeconds: Double = 5,
                maxWaitSeconds: Double = 3 * 3600, now: @escaping @Sendable () -> Instant = { Instant.now },
                sleep: @escaping @Sendable (Double) -> Void = { StackDeployer.defaultSleep($0) }) {
        self.client = client
        self.output = output
        self.pollSeconds = pollSeconds
        self.maxWaitSeconds = maxWaitSeconds
        self.now = now
        self.sleep = sleep
    }

    // MARK: - Deploy

    /// Deploys `template` as stack `stackName`. `confirm` sees the change set before it runs (return false to
    /// cancel; the change set is then deleted). With `dryRun` the change set is shown and deleted.
    public func deploy(
        stackName: String, template: CloudFormation.Template, parameters: [String: String],
        capabilities: [String] = ["CAPABILITY_IAM"], dryRun: Bool = false,
        confirm: (ChangeSetPreview) -> Bool = { _ in true }
    ) throws(DeployError) -> StackResult {
        var existing = try currentStack(stackName)
        if let stack = existing {
            switch stack.status {
            case "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS":
                // A failed first create (or an unexecuted create change set): the stack holds no resources and
                // cannot be updated, only replaced.
                output("Stack \(stackName) is \(stack.status) (left by an earlier failed or unexecuted create; it "
                       + "holds no resources)" + (dryRun ? "." : ": deleting it before creating it again."))
                if dryRun {
                    output("Dry run: the stack would be deleted and created again from the template.")
                    return StackResult(stackName: stackName, outcome: .dryRun, status: stack.status, changes: [],
                                       outputs: [:], events: [])
                }
                _ = try delete(stackName: stackName, quietIfMissing: true)
                existing = nil
            case let status where status.hasSuffix("_IN_PROGRESS"):
                throw DeployError(step: "stack", "stack \(stackName) is busy (\(status))", fix:
                    "wait until the running operation ends (watch it with the AWS console or DescribeStackEvents), "
                    + "then deploy again", stackStatus: status)
            case "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED":
                throw DeployError(step: "stack", "stack \(stackName) is \(stack.status) and cannot be updated",
                    fix: stack.status == "UPDATE_ROLLBACK_FAILED"
                        ? "fix the resource named in the stack events, run ContinueUpdateRollback, then deploy again"
                        : "run `odin destroy` (or delete the stack in the console), then deploy again",
                    stackStatus: stack.status)
            default: break
            }
        }
        let type = existing == nil || existing?.status == "REVIEW_IN_PROGRESS" ? "CREATE" : "UPDATE"
        let changeSetName = Self.changeSetName(now())
        do throws(AWSError) {
            _ = try client.createChangeSet(stackName: stackName, changeSetName: changeSetName, changeSetType: type,
                                           template: template, parameters: parameters, capabilities: capabilities)
        } catch {
            throw DeployError(step: "change-set", "CreateChangeSet for \(stackName) failed: \(error.description)",
                              fix: "check the template and parameters (cfn-lint runs before this step)",
                              stackStatus: (try? currentStack(stackName))?.status ?? "NONE")
        }
        let changeSet = try waitForChangeSet(stackName: stackName, changeSetName: changeSetName)
        if changeSet.status == "FAILED" {
            let reason = changeSet.statusReason ?? "no reason given"
            let noChanges = reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
            cleanUp(stackName: stackName, changeSetName: changeSetName, type: type)
            if noChanges {
                output("Stack \(stackName): no changes (\(reason)).")
                let stack = try? currentStack(stackName)
                return StackResult(stackName: stackName, outcome: .unchanged, status: stack?.status ?? "NONE",
                                   changes: [], outputs: stack?.outputs ?? [:], events: [])
            }
            throw DeployError(step: "change-set", "change set \(changeSetName) for \(stackName) failed: \(reason)",
                              fix: "fix the template or parameters named in the reason",
                              stackStatus: (try? currentStack(stackName))?.status ?? "NONE")
        }
        let preview = ChangeSetPreview(stackName: stackName, changeSetName: changeSetName, type: type,
                                       changes: changeSet.changes)
        show(preview)
        if dryRun || !confirm(preview) {
            cleanUp(stackName: stackName, changeSetName: changeSetName, type: type)
            output(dryRun ? "Dry run: change set deleted, nothing changed." : "Cancelled: change set deleted, nothing changed.")
            let stack = try? currentStack(stackName)
            return StackResult(stackName: stackName, outcome: dryRun ? .dryRun : .cancelled,
                               status: stack?.status ?? "NONE", changes: changeSet.changes,
                               outputs: stack?.outputs ?? [:], events: [])
        }

        var seen = Set((try? client.describeStackEvents(name: stackName, maxPages: 1))?.map(\.eventID) ?? [])
        do throws(AWSError) {
            try client.executeChangeSet(stackName: stackName, changeSetName: changeSetName)
        } catch {
            // The service refused to run it (moto fails here, synchronously, for resources it cannot create).
            var events: [CloudFormation.StackEvent] = []
            let status = (try? currentStack(stackName))?.status ?? "NONE"
            events = newEvents(stackName, seen: &seen)
            throw DeployError(
                step: "execute", "ExecuteChangeSet for \(stackName) failed: \(error.description)",
                fix: Self.stateAdvice(status, stackName: stackName),
                stackStatus: status, failedResource: Self.rootCause(events, stackName: stackName))
        }
        output("Executing change set \(changeSetName) on \(stackName) …")
        let (final, events) = try waitForStack(stackName, seen: &seen, expected: changeSet.changes.count,
                                               changeSetName: changeSetName)
        if ["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"].contains(final.status) {
            output("Stack \(stackName): \(final.status).")
            return StackResult(stackName: stackName, outcome: type == "CREATE" ? .created : .updated,
                               status: final.status, changes: changeSet.changes, outputs: final.outputs,
                               events: events)
        }
        let cause = Self.rootCause(events, stackName: stackName)
        throw DeployError(step: "execute",
                          "stack \(stackName) ended \(final.status)"
                              + (final.statusReason.map { ": \($0)" } ?? ""),
                          fix: Self.stateAdvice(final.status, stackName: stackName), stackStatus: final.status,
                          failedResource: cause)
    }

    // MARK: - Delete

    /// Deletes stack `stackName` and waits for DELETE_COMPLETE; false when there was no such stack.
    @discardableResult
    public func delete(stackName: String, quietIfMissing: Bool = false) throws(DeployError) -> Bool {
        guard let stack = try currentStack(stackName) else {
            if !quietIfMissing { output("Stack \(stackName) does not exist: nothing to delete.") }
            return false
        }
        var seen = Set((try? client.describeStackEvents(name: stackName, maxPages: 1))?.map(\.eventID) ?? [])
        do throws(AWSError) {
            try client.deleteStack(name: stackName)
        } catch {
            throw DeployError(step: "destroy", "DeleteStack \(stackName) failed: \(error.description)",
                              stackStatus: stack.status)
        }
        output("Deleting stack \(stackName) …")
        // Poll by stack ID: a deleted stack is no longer found by name.
        let id = stack.stackID.isEmpty ? stackName : stack.stackID
        let (final, events) = try waitForStack(id, seen: &seen, expected: 0, changeSetName: nil, display: stackName)
        guard final.status == "DELETE_COMPLETE" else {
            throw DeployError(step: "destroy", "stack \(stackName) ended \(final.status)",
                              fix: "empty or remove the resource named above by hand, then run `odin destroy` again "
                                  + "(Batch compute environments take minutes to delete while instances drain)",
                              stackStatus: final.status, failedResource: Self.rootCause(events, stackName: stackName))
        }
        output("Stack \(stackName): DELETE_COMPLETE.")
        return true
    }

    // MARK: - Pieces

    /// The stack, or nil when it does not exist (or was deleted).
    public func currentStack(_ name: String) throws(DeployError) -> CloudFormation.Stack? {
        do throws(AWSError) {
            let stack = try client.describeStack(name: name)
            return stack.status == "DELETE_COMPLETE" ? nil : stack
        } catch where error.message.contains("does not exist") {
            return nil
        } catch {
            throw DeployError(step: "stack", "DescribeStacks \(name) failed: \(error.description)",
                              fix: "check the credentials, region and endpoint")
        }
    }

    private func waitForChangeSet(stackName: String, changeSetName: String) throws(DeployError)
        -> CloudFormation.ChangeSet
    {
        let start = now()
        while true {
            let changeSet: CloudFormation.ChangeSet
            do throws(AWSError) {
                changeSet = try client.describeChangeSet(stackName: stackName, changeSetName: changeSetName)
            } catch {
                throw DeployError(step: "change-set", "DescribeChangeSet failed: \(error.description)")
            }
            if changeSet.status == "CREATE_COMPLETE" || changeSet.status == "FAILED" { return changeSet }
            if now().timeIntervalSince(start) > maxWaitSeconds {
                throw DeployError(step: "change-set", "change set \(changeSetName) still \(changeSet.status ?? "?") "
                                  + "after \(Int(maxWaitSeconds)) s", fix: "look at it in the console; delete it or run it there")
            }
            sleep(pollSeconds)
        }
    }

    private func cleanUp(stackName: String, changeSetName: String, type: String) {
        try? client.deleteChangeSet(stackName: stackName, changeSetName: changeSetName)
        // A CREATE change set leaves an empty REVIEW_IN_PROGRESS stack behind.
        if type == "CREATE", let stack = try? currentStack(stackName), stack.status == "REVIEW_IN_PROGRESS" {
            try? client.deleteStack(name: stackName)
        }
    }

    private func show(_ preview: ChangeSetPreview) {
        var lines = ["Change set \(preview.changeSetName) (\(preview.type)) for stack \(preview.stackName): "
                     + Plural.count(preview.changes.count, "resource change")]
        for change in preview.changes.sorted(by: { ($0.action, $0.logicalResourceID) < ($1.action, $1.logicalResourceID) }) {
            lines.append("  \(change.action.padding(8)) \(change.resourceType.padding(40)) \(change.logicalResourceID)")
        }
        if preview.changes.isEmpty {
            lines.append("  (no resource changes listed: parameter or output changes only)")
        }
        output(lines.joined(separator: "\n"))
    }

    /// Events not seen before, oldest first.
    private func newEvents(_ stackName: String, seen: inout Set<String>) -> [CloudFormation.StackEvent] {
        guard let page = try? client.describeStackEvents(name: stackName, maxPages: 3) else { return [] }
        let fresh = page.filter { !seen.contains($0.eventID) }.reversed()
        for event in fresh { seen.insert(event.eventID) }
        return Array(fresh)
    }

    /// Streams events until the stack is in a terminal state; returns the final stack and the events seen.
    private func waitForStack(_ name: String, seen: inout Set<String>, expected: Int, changeSetName: String?,
                              display: String? = nil) throws(DeployError)
        -> (FinalState, [CloudFormation.StackEvent])
    {
        let label = display ?? name
        let start = now()
        var all: [CloudFormation.StackEvent] = []
        var finished = Set<String>()
        while true {
            for event in newEvents(name, seen: &seen) {
                all.append(event)
                let status = event.resourceStatus ?? ""
                let isStack = event.logicalResourceID == label
                if !isStack, status.hasSuffix("_COMPLETE") || status.hasSuffix("_FAILED") {
                    finished.insert(event.logicalResourceID ?? "")
                }
                output(formatEvent(event, done: finished.count, expected: expected))
            }
            let stack: CloudFormation.Stack
            do throws(AWSError) {
                stack = try client.describeStack(name: name)
            } catch where error.message.contains("does not exist") {
                return (FinalState(status: "DELETE_COMPLETE", outputs: [:]), all)
            } catch {
                throw DeployError(step: "stack", "DescribeStacks \(label) failed while waiting: \(error.description)",
                                  fix: "the operation continues in CloudFormation; check it in the console")
            }
            if Self.isTerminal(stack.status), executionFinished(label, changeSetName) {
                // Pick up the last events (they may be written just before the status flips).
                for event in newEvents(name, seen: &seen) {
                    all.append(event)
                    output(formatEvent(event, done: finished.count, expected: expected))
                }
                return (FinalState(status: stack.status, statusReason: stack.statusReason, outputs: stack.outputs), all)
            }
            if now().timeIntervalSince(start) > maxWaitSeconds {
                throw DeployError(step: "stack", "stack \(label) still \(stack.status) after \(Int(maxWaitSeconds)) s",
                                  fix: "the operation continues in CloudFormation; watch it in the console",
                                  stackStatus: stack.status)
            }
            sleep(pollSeconds)
        }
    }

    /// Right after ExecuteChangeSet the stack may still show its previous terminal status: wait until the change
    /// set itself says it is no longer running (when the service still describes it).
    private func executionFinished(_ stackName: String, _ changeSetName: String?) -> Bool {
        guard let changeSetName,
              let changeSet = try? client.describeChangeSet(stackName: stackName, changeSetName: changeSetName)
        else { return true }
        return !["AVAILABLE", "EXECUTE_IN_PROGRESS"].contains(changeSet.executionStatus ?? "")
    }

    private func formatEvent(_ event: CloudFormation.StackEvent, done: Int, expected: Int) -> String {
        let progress = expected > 0 ? "[\(String(min(done, expected)).leftPadding(3))/\(expected)]" : "[\(String(done).leftPadding(3))]"
        var line = "\(progress) \(Self.clock(event.timestamp)) \((event.resourceStatus ?? "").padding(28)) "
            + "\((event.resourceType ?? "").padding(36)) \(event.logicalResourceID ?? "")"
        if let reason = event.resourceStatusReason, !reason.isEmpty, reason != "User Initiated" {
            line += "  — \(reason)"
        }
        return line
    }

    // MARK: - Pure helpers (tested directly)

    /// True for statuses in which the stack stays until someone acts.
    public static func isTerminal(_ status: String) -> Bool {
        !status.hasSuffix("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS" && !status.isEmpty
    }

    /// The first resource that failed with a real reason (not the "cancelled" follow-ups), from events oldest first.
    public static func rootCause(_ events: [CloudFormation.StackEvent], stackName: String) -> FailedResource? {
        rootCause(events.map { EventSummary(logicalID: $0.logicalResourceID ?? "?", type: $0.resourceType ?? "?",
                                            status: $0.resourceStatus ?? "", reason: $0.resourceStatusReason) },
                  stackName: stackName)
    }

    /// The fields of a stack event the failure report reads.
    struct EventSummary {
        var logicalID: String
        var type: String
        var status: String
        var reason: String?
    }

    static func rootCause(_ events: [EventSummary], stackName: String) -> FailedResource? {
        let failed = events.filter { $0.status.hasSuffix("_FAILED") }
        let resources = failed.filter { $0.logicalID != stackName && $0.type != "AWS::CloudFormation::Stack" }
        let cancelled = ["Resource creation cancelled", "Resource update cancelled", "Resource deletion cancelled"]
        let meaningful = resources.filter { event in !cancelled.contains { (event.reason ?? "").contains($0) } }
        guard let event = meaningful.first ?? resources.first ?? failed.first else { return nil }
        return FailedResource(logicalID: event.logicalID, resourceType: event.type, status: event.status,
                              reason: event.reason ?? "no reason given")
    }

    /// What the stack's status means for the user, and what to do next.
    public static func stateAdvice(_ status: String, stackName: String) -> String {
        switch status {
        case "ROLLBACK_COMPLETE":
            "the failed create was rolled back: the stack holds no resources; fix the cause and deploy again (the "
                + "deploy deletes the empty stack first)"
        case "UPDATE_ROLLBACK_COMPLETE":
            "the update was rolled back: \(stackName) runs the previous version; fix the cause and deploy again"
        case "REVIEW_IN_PROGRESS", "NONE":
            "nothing was created (the stack is an empty shell or absent); fix the cause and deploy again"
        case "ROLLBACK_FAILED", "DELETE_FAILED":
            "rollback could not remove everything: run `odin destroy`, then deploy again"
        case "UPDATE_ROLLBACK_FAILED":
            "fix the resource named above, run ContinueUpdateRollback on \(stackName), then deploy again"
        default:
            "stack \(stackName) is \(status)"
        }
    }

    /// `odin-YYYYMMDDTHHMMSS` (change set names start with a letter and hold letters, digits and hyphens).
    static func changeSetName(_ date: Instant) -> String {
        let seconds = Int64(date.timeIntervalSince1970)
        let (days, rest) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let civil = Self.civil(days: days)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "odin-\(civil.year)\(two(civil.month))\(two(civil.day))T\(two(rest / 3600))\(two(rest % 3600 / 60))\(two(rest % 60))"
    }

    static func clock(_ date: Instant?) -> String {
        guard let date else { return "--:--:--" }
        let seconds = Int64(date.timeIntervalSince1970) % 86_400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(seconds / 3600)):\(two(seconds % 3600 / 60)):\(two(seconds % 60))"
    }

    /// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let date = CivilCalendar.date(days: Int(days))
        return (Int64(date.year), Int64(date.month), Int64(date.day))
    }
}

extension StackDeployer {
    /// Default sleep (usleep).
    @Sendable public static func defaultSleep(_ seconds: Double) {
        if seconds > 0 { usleep(UInt32(min(seconds, 3600) * 1_000_000)) }
    }
}

/// A stack's state at the end of a wait.
struct FinalState {
    var status: String
    var statusReason: String?
    var outputs: [String: String]
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
