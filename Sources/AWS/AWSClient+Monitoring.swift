import OdinBasics

/// SNS and CloudWatch (query protocol).
public enum CloudWatch {
    public struct Dimension: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct Datum: Sendable, Equatable {
        public var metricName: String
        public var value: Double
        /// `Count`, `Seconds`, `None`, …
        public var unit: String?
        public var timestamp: Instant?
        public var dimensions: [Dimension]

        public init(metricName: String, value: Double, unit: String? = nil, timestamp: Instant? = nil,
                    dimensions: [Dimension] = []) {
            self.metricName = metricName
            self.value = value
            self.unit = unit
            self.timestamp = timestamp
            self.dimensions = dimensions
        }
    }

    /// One GetMetricData query: a metric statistic, or a metric-math expression.
    public struct Query: Sendable, Equatable {
        public var id: String
        public var namespace: String?
        public var metricName: String?
        public var dimensions: [Dimension]
        public var period: Int?
        /// `Sum`, `Average`, `Maximum`, …
        public var stat: String?
        public var expression: String?
        public var returnData: Bool

        public static func metric(id: String, namespace: String, metricName: String, dimensions: [Dimension] = [],
                                  period: Int, stat: String) -> Query {
            Query(id: id, namespace: namespace, metricName: metricName, dimensions: dimensions, period: period,
                  stat: stat, expression: nil, returnData: true)
        }

        public static func expression(id: String, _ expression: String, period: Int? = nil) -> Query {
            Query(id: id, namespace: nil, metricName: nil, dimensions: [], period: period, stat: nil,
                  expression: expression, returnData: true)
        }
    }

    public struct Result: Sendable, Equatable {
        public var id: String
        public var label: String?
        public var timestamps: [Instant]
        public var values: [Double]
        public var statusCode: String?
    }
}

extension AWSClient {
    /// SNS CreateTopic (idempotent for the same name); returns the topic ARN.
    public func createTopic(name: String) throws(AWSError) -> String {
        try queryCall(.sns, action: "CreateTopic", parameters: [("Name", name)]).string("TopicArn") ?? ""
    }

    /// SNS Publish; returns the message ID. Not retried after ambiguous failures (a retry could deliver twice).
    @discardableResult
    public func publish(topicARN: String, message: String, subject: String? = nil) throws(AWSError) -> String {
        var parameters = QueryParameters()
        parameters.add("TopicArn", topicARN)
        parameters.add("Message", message)
        parameters.add("Subject", subject)
        return try queryCall(.sns, action: "Publish", parameters: parameters.pairs, isIdempotent: false)
            .string("MessageId") ?? ""
    }

    /// CloudWatch PutMetricData (≤ 1000 data points per call). Not retried after ambiguous failures (a retry would
    /// double-count).
    public func putMetricData(namespace: String, data: [CloudWatch.Datum]) throws(AWSError) {
        var parameters = QueryParameters()
        parameters.add("Namespace", namespace)
        parameters.addStructs("MetricData", data) { parameters, prefix, datum in
            parameters.add("\(prefix).MetricName", datum.metricName)
            parameters.add("\(prefix).Value", datum.value)
            parameters.add("\(prefix).Unit", datum.unit)
            parameters.add("\(prefix).Timestamp", datum.timestamp.map(ISO8601.format))
            parameters.addStructs("\(prefix).Dimensions", datum.dimensions) { parameters, prefix, dimension in
                parameters.add("\(prefix).Name", dimension.name)
                parameters.add("\(prefix).Value", dimension.value)
            }
        }
        _ = try queryCall(.cloudWatch, action: "PutMetricData", parameters: parameters.pairs, isIdempotent: false)
    }

    /// CloudWatch GetMetricData between `start` and `end`, following `NextToken`.
    public func getMetricData(queries: [CloudWatch.Query], start: Instant, end: Instant) throws(AWSError)
        -> [CloudWatch.Result]
    {
        var results: [String: CloudWatch.Result] = [:]
        var order: [String] = []
        var token: String?
        repeat {
            var parameters = QueryParameters()
            parameters.add("StartTime", ISO8601.format(start))
            parameters.add("EndTime", ISO8601.format(end))
            parameters.add("NextToken", token)
            parameters.addStructs("MetricDataQueries", queries) { parameters, prefix, query in
                parameters.add("\(prefix).Id", query.id)
                parameters.add("\(prefix).ReturnData", query.returnData)
                if let expression = query.expression {
                    parameters.add("\(prefix).Expression", expression)
                    parameters.add("\(prefix).Period", query.period)
                } else {
                    parameters.add("\(prefix).MetricStat.Metric.Namespace", query.namespace)
                    parameters.add("\(prefix).MetricStat.Metric.MetricName", query.metricName)
                    parameters.addStructs("\(prefix).MetricStat.Metric.Dimensions", query.dimensions) { p, d, dim in
                        p.add("\(d).Name", dim.name)
                        p.add("\(d).Value", dim.value)
                    }
                    parameters.add("\(prefix).MetricStat.Period", query.period)
                    parameters.add("\(prefix).MetricStat.Stat", query.stat)
                }
            }
            let result = try queryCall(.cloudWatch, action: "GetMetricData", parameters: parameters.pairs)
            for node in result.members("MetricDataResults") {
                let id = node.string("Id") ?? ""
                if results[id] == nil {
                    order.append(id)
                    results[id] = CloudWatch.Result(id: id, label: node.string("Label"), timestamps: [], values: [],
                                                    statusCode: node.string("StatusCode"))
                }
                results[id]!.timestamps += node.members("Timestamps").compactMap { ISO8601.parse($0.text) }
                results[id]!.values += node.members("Values").compactMap { Double($0.text) }
                results[id]!.statusCode = node.string("StatusCode")
            }
            token = result.string("NextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return order.compactMap { results[$0] }
    }
}
