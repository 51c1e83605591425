import AWS
import Events
import Foundation
import OdinBasics
import TestSupport
import Testing

/// Batch, DynamoDB, SNS, CloudWatch, EC2, STS and CloudFormation calls against moto_server with signature checking.
@Suite(.requires(.venv)) struct ServiceCallTests {
    @Test func batchComputeQueuesDefinitionsAndJobs() throws {
        guard let moto = SignedMoto.require() else { return }
        let client = moto.makeClient()
        let suffix = uniqueName("b")
        let roleARN = try moto.role("batch-\(suffix)")
        let profile = try moto.query(service: "iam", version: "2010-05-08",
                                     ["Action": "CreateInstanceProfile", "InstanceProfileName": "ip-\(suffix)"])
        let instanceProfileARN = try #require(profile.first(named: "Arn")?.text)
        let subnets = try moto.query(service: "ec2", version: "2016-11-15", ["Action": "DescribeSubnets"])
        let groups = try moto.query(service: "ec2", version: "2016-11-15", ["Action": "DescribeSecurityGroups"])
        let subnet = try #require(subnets.first(named: "subnetId")?.text)
        let group = try #require(groups.first(named: "groupId")?.text)

        let ce = try client.createComputeEnvironment(.init(
            computeEnvironmentName: "spot-\(suffix)", serviceRole: roleARN,
            computeResources: .init(type: "SPOT", allocationStrategy: "SPOT_CAPACITY_OPTIMIZED", minvCpus: 0,
                                    maxvCpus: 64, desiredvCpus: 0, instanceTypes: ["g4dn.xlarge"], subnets: [subnet],
                                    securityGroupIds: [group], instanceRole: instanceProfileARN,
                                    bidPercentage: 70)))
        #expect(ce.computeEnvironmentName == "spot-\(suffix)")
        try client.updateComputeEnvironment(.init(computeEnvironment: "spot-\(suffix)", state: "DISABLED"))
        let described = try client.describeComputeEnvironments(names: ["spot-\(suffix)"])
        #expect(described.first?.state == "DISABLED")
        #expect(described.first?.computeResources?.bidPercentage == 70)
        try client.updateComputeEnvironment(.init(computeEnvironment: "spot-\(suffix)", state: "ENABLED"))

        let queue = try client.createJobQueue(.init(
            jobQueueName: "q-\(suffix)", priority: 10,
            computeEnvironmentOrder: [.init(order: 1, computeEnvironment: ce.computeEnvironmentArn ?? "")],
            jobStateTimeLimitActions: [.init(reason: "spot capacity unavailable", maxTimeSeconds: 300)]))
        #expect(queue.jobQueueName == "q-\(suffix)")
        try client.updateJobQueue(.init(jobQueue: "q-\(suffix)", priority: 20))
        let queues = try client.describeJobQueues(names: ["q-\(suffix)"])
        #expect(queues.first?.priority == 20)
        // moto 5.2.5 accepts jobStateTimeLimitActions but does not store them; the encoding is checked offline in
        // WireFormatTests.batchRequestEncoding.

        let definition = try client.registerJobDefinition(.init(
            jobDefinitionName: "munin-\(suffix)",
            containerProperties: .init(image: "munin:latest", command: ["munin-worker"],
                                       environment: [.init(name: "STAGE", value: "test")],
                                       resourceRequirements: [.init(type: "VCPU", value: "4"),
                                                              .init(type: "MEMORY", value: "15000")]),
            retryStrategy: .init(attempts: 3, evaluateOnExit: [
                .init(onStatusReason: "Host EC2*", action: "RETRY"), .init(onReason: "*", action: "EXIT"),
            ])))
        #expect(definition.revision >= 1)

        let parent = try client.submitJob(.init(jobName: "run-\(suffix)", jobQueue: "q-\(suffix)",
                                                jobDefinition: definition.jobDefinitionArn, arraySize: 120))
        let follower = try client.submitJob(.init(jobName: "condense-\(suffix)", jobQueue: "q-\(suffix)",
                                                  jobDefinition: "munin-\(suffix)",
                                                  dependsOn: [.init(jobId: parent.jobId)]))
        let children = try client.listAllJobs(.init(arrayJobId: parent.jobId))
        #expect(children.count == 120)
        let byStatus = try client.listAllJobs(.init(jobQueue: "q-\(suffix)", jobStatus: "SUCCEEDED"))
        #expect(byStatus.contains { $0.jobId == follower.jobId })
        // 121 IDs: two DescribeJobs calls of at most 100.
        let details = try client.describeJobs(ids: [parent.jobId] + (0..<120).map { "\(parent.jobId):\($0)" })
        #expect(details.count == 121)
        let parentDetail = try #require(details.first { $0.jobId == parent.jobId })
        #expect(parentDetail.arrayProperties?.statusSummary?["SUCCEEDED"] == 120)
        // The fields the Batch binding sends (fair share, priority, tag propagation, ListJobs filters), through the
        // contract checker when it runs: each request is validated against botocore's model on its way to moto.
        let checked = moto.makeClient(endpoint: ContractProxy.endpoint(for: moto.endpoint))
        let shared = try checked.submitJob(.init(
            jobName: "share-\(suffix)", jobQueue: "q-\(suffix)", jobDefinition: "munin-\(suffix)",
            shareIdentifier: "odin", schedulingPriorityOverride: 300, arraySize: 2,
            containerOverrides: .init(environment: [.init(name: "RUN", value: "r1")],
                                      resourceRequirements: [.init(type: "VCPU", value: "2")]),
            retryStrategy: .init(attempts: 2, evaluateOnExit: [.init(onReason: "*", action: "EXIT")]),
            timeout: .init(attemptDurationSeconds: 600), tags: ["odin:stage": "test"], propagateTags: true))
        let named = try checked.listAllJobs(.init(
            jobQueue: "q-\(suffix)", filters: [.init(name: "JOB_NAME", values: ["share-\(suffix)*"])]))
        #expect(named.map(\.jobId).contains(shared.jobId))
        #expect(named.allSatisfy { $0.jobName?.hasPrefix("share-") == true })
        try client.cancelJob(id: follower.jobId, reason: "test cancel")
        try client.terminateJob(id: parent.jobId, reason: "test terminate")
        let missingQueue = #expect(throws: AWSError.self) {
            try client.submitJob(.init(jobName: "x", jobQueue: "no-such-queue-\(suffix)", jobDefinition: "nope"))
        }
        #expect(missingQueue?.service == "Batch" && missingQueue?.operation == "SubmitJob")
        #expect(missingQueue?.code == "ClientException")
    }

    @Test func dynamoDBConditionsCountersQueryAndTransactions() throws {
        guard let moto = SignedMoto.require() else { return }
        let client = moto.makeClient()
        let table = uniqueName("runs")
        try client.createTable(table, partitionKey: "pk", sortKey: "sk")
        let key: DynamoItem = ["pk": .string("run#1"), "sk": .string("meta")]
        let once = DynamoExpression(condition: "attribute_not_exists(pk)")
        try client.putItem(table: table, item: key.merging(["chunks": .number(3), "label": .string("å b")]) { $1 },
                           expression: once)
        let duplicate = #expect(throws: AWSError.self) {
            try client.putItem(table: table, item: key, expression: once)
        }
        #expect(duplicate?.isConditionFailure == true)
        #expect(duplicate?.code == "ConditionalCheckFailedException")
        #expect(duplicate?.status == 400)
        for _ in 0..<3 {
            try client.updateItem(table: table, key: key, updateExpression: "ADD done :one",
                                  expression: DynamoExpression(values: [":one": .number(1)]))
        }
        let item = try #require(try client.getItem(table: table, key: key, consistentRead: true))
        #expect(item["done"]?.intValue == 3)
        #expect(item["label"]?.stringValue == "å b")
        #expect(try client.getItem(table: table, key: ["pk": .string("none"), "sk": .string("x")]) == nil)
        for index in 0..<7 {
            try client.putItem(table: table, item: ["pk": .string("run#1"), "sk": .string("chunk#\(index)")])
        }
        let chunks = try client.queryAll(table: table, keyCondition: "pk = :p AND begins_with(sk, :c)",
                                         values: [":p": .string("run#1"), ":c": .string("chunk#")], pageSize: 3)
        #expect(chunks.count == 7)
        try client.transactWriteItems([
            .update(table: table, key: key, updateExpression: "SET #s = :s",
                    expression: DynamoExpression(names: ["#s": "state"], values: [":s": .string("condensing")])),
            .put(table: table, item: ["pk": .string("run#1"), "sk": .string("condense")],
                 expression: DynamoExpression(condition: "attribute_not_exists(pk)")),
        ])
        let cancelled = #expect(throws: AWSError.self) {
            try client.transactWriteItems([
                .put(table: table, item: ["pk": .string("run#1"), "sk": .string("condense")],
                     expression: DynamoExpression(condition: "attribute_not_exists(pk)")),
            ])
        }
        #expect(cancelled?.code == "TransactionCanceledException")
        #expect(cancelled?.cancellationReasons == ["ConditionalCheckFailed"])
        // The state store binding's shapes, through the contract checker when it runs: a conditional UpdateItem
        // with placeholders only, DeleteItem returning the old item. (UpdateItem without any update expression is
        // valid per the model, but moto 5 answers it with HTTP 500 (AttributeError in its handler), so it is not
        // sent here.)
        let checked = moto.makeClient(endpoint: ContractProxy.endpoint(for: moto.endpoint))
        let bare: DynamoItem = ["pk": .string("run#2"), "sk": .string("meta")]
        let created = try checked.updateItem(table: table, key: bare, updateExpression: "SET #s = :s",
                                             expression: DynamoExpression(condition: "attribute_not_exists(#p)",
                                                                          names: ["#p": "pk", "#s": "state"],
                                                                          values: [":s": .string("open")]))
        let stored = bare.merging(["state": .string("open")]) { $1 }
        #expect(created == stored)
        #expect(try checked.deleteItem(table: table, key: bare, returnOldItem: true) == stored)
        #expect(try checked.deleteItem(table: table, key: bare, returnOldItem: true) == nil)
        let old = try client.deleteItem(table: table, key: key,
                                        expression: DynamoExpression(condition: "attribute_exists(pk)"))
        #expect(old == nil, "without returnOldItem nothing comes back")
        #expect(try client.getItem(table: table, key: key) == nil)
    }

    @Test func snsCloudWatchAndEC2() throws {
        guard let moto = SignedMoto.require() else { return }
        let client = moto.makeClient()
        let topic = try client.createTopic(name: uniqueName("notify"))
        #expect(!(try client.publish(topicARN: topic, message: "run done: 3 visits", subject: "odin")).isEmpty)

        let namespace = uniqueName("Odin")
        let now = Instant.now
        try client.putMetricData(namespace: namespace, data: [
            .init(metricName: "ChunksDone", value: 5, unit: "Count", timestamp: now,
                  dimensions: [.init(name: "Stage", value: "test")]),
            .init(metricName: "ChunksDone", value: 2, unit: "Count", timestamp: now,
                  dimensions: [.init(name: "Stage", value: "test")]),
        ])
        let results = try client.getMetricData(
            queries: [.metric(id: "done", namespace: namespace, metricName: "ChunksDone",
                              dimensions: [.init(name: "Stage", value: "test")], period: 60, stat: "Sum")],
            start: now.addingTimeInterval(-600), end: now.addingTimeInterval(600))
        #expect(results.first?.id == "done")
        #expect(results.first?.values.reduce(0, +) == 7)

        let prices = try client.describeSpotPriceHistory(instanceTypes: ["g4dn.xlarge"])
        #expect(!prices.isEmpty)
        #expect(prices.allSatisfy { $0.instanceType == "g4dn.xlarge" })
        let types = try client.describeInstanceTypes(["g4dn.xlarge"])
        #expect(types.first?.vCPUs == 4)
        #expect(types.first?.memoryMiB == 16384)
        #expect(types.first?.gpuCount == 1)
    }

    @Test func stsIdentityAndAssumeRoleWithTemporaryCredentials() throws {
        guard let moto = SignedMoto.require() else { return }
        let client = moto.makeClient()
        let identity = try client.getCallerIdentity()
        #expect(identity.account == "123456789012")
        let roleARN = try moto.role(uniqueName("assume"))
        let assumed = try client.assumeRole(roleARN: roleARN, sessionName: "odin-test", durationSeconds: 900)
        #expect(assumed.credentials.sessionToken != nil)
        #expect(assumed.credentials.expiration != nil)
        // The temporary credentials sign requests moto verifies, session token included.
        let temporary = moto.makeClient(credentials: assumed.credentials)
        #expect(try temporary.getCallerIdentity().arn.contains("assumed-role"))
    }

    @Test func cloudFormationStacksEventsAndChangeSets() throws {
        guard let moto = SignedMoto.require() else { return }
        let client = moto.makeClient()
        let stack = uniqueName("odin")
        let template = """
        {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "\(stack)-t"}}},
         "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}}}
        """
        let id = try client.createStack(name: stack, template: .body(template))
        #expect(id.contains(stack))
        let created = try client.describeStack(name: stack)
        #expect(created.status == "CREATE_COMPLETE")
        #expect(created.outputs["TopicArn"]?.hasSuffix("\(stack)-t") == true)
        #expect(!(try client.describeStackEvents(name: stack)).isEmpty)
        let updated = template.replacingOccurrences(
            of: "\"Outputs\"",
            with: "\"Queue\": 0, \"Outputs\"").replacingOccurrences(of: ", \"Queue\": 0", with: "")
        let bigger = """
        {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "\(stack)-t"}},
                       "Other": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "\(stack)-u"}}}}
        """
        _ = updated
        _ = try client.updateStack(name: stack, template: .body(bigger))
        #expect(try client.describeStack(name: stack).status == "UPDATE_COMPLETE")
        let third = bigger.replacingOccurrences(of: "\(stack)-u", with: "\(stack)-v")
        _ = try client.createChangeSet(stackName: stack, changeSetName: "cs1", changeSetType: "UPDATE",
                                       template: .body(third))
        let changeSet = try client.describeChangeSet(stackName: stack, changeSetName: "cs1")
        #expect(!changeSet.changes.isEmpty)
        try client.executeChangeSet(stackName: stack, changeSetName: "cs1")
        let missing = #expect(throws: AWSError.self) { try client.describeStack(name: stack + "-missing") }
        #expect(missing?.code == "ValidationError")
        #expect(missing?.service == "CloudFormation")
    }
}

/// IAM's role and instance-profile calls (what `odin replay --seed-local` creates) and EC2's default network,
/// through the typed operations, against moto with signature checking.
@Suite(.requires(.venv)) struct IAMAndNetworkCallTests {
    @Test func rolesAndInstanceProfilesAreCreatedOnceAndFound() throws {
        guard let moto = SignedMoto.require() else { return }
        let client = moto.makeClient()
        let suffix = uniqueName("iam")
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        let role = try client.createRole(name: "svc-\(suffix)", assumeRolePolicyDocument: trust)
        #expect(role.name == "svc-\(suffix)" && role.arn.hasSuffix(":role/svc-\(suffix)"))
        #expect(try client.getRole(name: "svc-\(suffix)") == role)
        let again = #expect(throws: AWSError.self) {
            try client.createRole(name: "svc-\(suffix)", assumeRolePolicyDocument: trust)
        }
        #expect(again?.code == "EntityAlreadyExists" && again?.service == "IAM" && again?.operation == "CreateRole")
        let missing = #expect(throws: AWSError.self) { try client.getRole(name: "none-\(suffix)") }
        #expect(missing?.code == "NoSuchEntity")
        let profile = try client.createInstanceProfile(name: "ip-\(suffix)")
        #expect(profile.arn.hasSuffix(":instance-profile/ip-\(suffix)"))
        #expect(try client.getInstanceProfile(name: "ip-\(suffix)") == profile)

        let subnets = try client.describeSubnets()
        let groups = try client.describeSecurityGroups()
        #expect(!subnets.isEmpty && subnets.allSatisfy { $0.subnetID.hasPrefix("subnet-") && !$0.vpcID.isEmpty })
        #expect(!groups.isEmpty && groups.allSatisfy { $0.groupID.hasPrefix("sg-") })
        let vpc = subnets[0].vpcID
        #expect(try client.describeSubnets(vpcID: vpc).allSatisfy { $0.vpcID == vpc })
        #expect(try client.describeSecurityGroups(vpcID: vpc).allSatisfy { $0.vpcID == vpc })
    }

    @Test func iamIsGlobalPerPartition() {
        let resolver = AWSEndpointResolver()
        #expect(resolver.endpoint(for: .iam, region: "eu-north-1").baseURL == "https://iam.amazonaws.com")
        #expect(AWSService.iam.signingRegion(clientRegion: "eu-north-1") == "us-east-1")
        #expect(resolver.endpoint(for: .iam, region: "cn-northwest-1").baseURL
                == "https://iam.cn-north-1.amazonaws.com.cn")
        #expect(AWSService.iam.signingRegion(clientRegion: "cn-northwest-1") == "cn-north-1")
        // Regional services keep the client's region.
        #expect(resolver.endpoint(for: .sts, region: "eu-north-1").baseURL == "https://sts.eu-north-1.amazonaws.com")
        #expect(AWSService.sts.signingRegion(clientRegion: "eu-north-1") == "eu-north-1")
    }
}
