import Foundation

/// `odin replay`: which function an event is for.
package enum ReplayEvents {
    /// Picks the function for an event by its shape.
    package static func functionName(for data: Data, path: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIError("\(path) is not a JSON object; pass --function to replay it anyway")
        }
        if object["Event"] as? String == "s3:TestEvent" { return "ingest" }
        if let source = object["source"] as? String {
            if source == "aws.batch" { return "job-events" }
            if source == "aws.s3" { return "ingest" }
            if source == "aws.events" || object["detail-type"] as? String == "Scheduled Event" { return "sweeper" }
        }
        if let records = object["Records"] as? [[String: Any]], let first = records.first {
            let source = (first["eventSource"] ?? first["EventSource"]) as? String
            switch source {
            case "aws:s3": return "ingest"
            case "aws:sns": return "budget-guard"
            case "aws:sqs": return "ingest"
            default: break
            }
        }
        throw CLIError("cannot tell which function \(path) is for (not S3, aws.batch, SNS or a schedule); pass --function")
    }
}
