import OdinBasics

/// EC2 (query protocol; lists are `Name.N`, responses use `…Set/item`).
public enum EC2 {
    public struct SpotPrice: Sendable, Equatable {
        public var instanceType: String
        public var availabilityZone: String
        public var productDescription: String
        /// USD per hour, as the API's decimal string parsed.
        public var price: Double
        public var timestamp: Instant?
    }

    public struct InstanceTypeInfo: Sendable, Equatable {
        public var instanceType: String
        public var vCPUs: Int
        public var memoryMiB: Int
        public var gpuCount: Int
        public var gpuName: String?
        public var gpuMemoryMiB: Int?
    }

    public struct Subnet: Sendable, Equatable {
        public var subnetID: String
        public var vpcID: String
        public var availabilityZone: String
        public var isDefaultForAZ: Bool
    }

    public struct SecurityGroup: Sendable, Equatable {
        public var groupID: String
        public var groupName: String
        public var vpcID: String
    }
}

extension AWSClient {
    /// DescribeSpotPriceHistory following `nextToken` (at most `maxPages` pages, to bound a runaway listing).
    public func describeSpotPriceHistory(
        instanceTypes: [String], productDescriptions: [String] = ["Linux/UNIX"], startTime: Instant? = nil,
        endTime: Instant? = nil, availabilityZone: String? = nil, maxPages: Int = 50
    ) throws(AWSError) -> [EC2.SpotPrice] {
        var prices: [EC2.SpotPrice] = []
        var token: String?
        var pages = 0
        repeat {
            var parameters = QueryParameters()
            for (index, type) in instanceTypes.enumerated() { parameters.add("InstanceType.\(index + 1)", type) }
            for (index, description) in productDescriptions.enumerated() {
                parameters.add("ProductDescription.\(index + 1)", description)
            }
            parameters.add("StartTime", startTime.map(ISO8601.format))
            parameters.add("EndTime", endTime.map(ISO8601.format))
            parameters.add("AvailabilityZone", availabilityZone)
            parameters.add("NextToken", token)
            let root = try queryCall(.ec2, action: "DescribeSpotPriceHistory", parameters: parameters.pairs)
            for item in root.child("spotPriceHistorySet")?.children("item") ?? [] {
                prices.append(EC2.SpotPrice(
                    instanceType: item.string("instanceType") ?? "",
                    availabilityZone: item.string("availabilityZone") ?? "",
                    productDescription: item.string("productDescription") ?? "",
                    price: Double(item.string("spotPrice") ?? "") ?? 0,
                    timestamp: item.string("timestamp").flatMap(ISO8601.parse)))
            }
            token = root.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < maxPages
        return prices
    }

    /// DescribeInstanceTypes for the given types, following `nextToken`.
    public func describeInstanceTypes(_ instanceTypes: [String]) throws(AWSError) -> [EC2.InstanceTypeInfo] {
        var result: [EC2.InstanceTypeInfo] = []
        var token: String?
        repeat {
            var parameters = QueryParameters()
            for (index, type) in instanceTypes.enumerated() { parameters.add("InstanceType.\(index + 1)", type) }
            parameters.add("NextToken", token)
            let root = try queryCall(.ec2, action: "DescribeInstanceTypes", parameters: parameters.pairs)
            for item in root.child("instanceTypeSet")?.children("item") ?? [] {
                let gpus = item["gpuInfo", "gpus"]?.children("item") ?? []
                result.append(EC2.InstanceTypeInfo(
                    instanceType: item.string("instanceType") ?? "",
                    vCPUs: Int(item["vCpuInfo", "defaultVCpus"]?.text ?? "") ?? 0,
                    memoryMiB: Int(item["memoryInfo", "sizeInMiB"]?.text ?? "") ?? 0,
                    gpuCount: gpus.reduce(0) { $0 + (Int($1.string("count") ?? "") ?? 0) },
                    gpuName: gpus.first?.string("name"),
                    gpuMemoryMiB: gpus.first?["memoryInfo", "sizeInMiB"].flatMap { Int($0.text) }))
            }
            token = root.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return result
    }

    /// DescribeSubnets (all of the account's in the region, or those of `vpcID`), following `nextToken`.
    public func describeSubnets(vpcID: String? = nil) throws(AWSError) -> [EC2.Subnet] {
        try describeInVPC("DescribeSubnets", set: "subnetSet", vpcID: vpcID) { item in
            EC2.Subnet(subnetID: item.string("subnetId") ?? "", vpcID: item.string("vpcId") ?? "",
                       availabilityZone: item.string("availabilityZone") ?? "",
                       isDefaultForAZ: item.string("defaultForAz") == "true")
        }
    }

    /// DescribeSecurityGroups (all of the account's in the region, or those of `vpcID`), following `nextToken`.
    public func describeSecurityGroups(vpcID: String? = nil) throws(AWSError) -> [EC2.SecurityGroup] {
        try describeInVPC("DescribeSecurityGroups", set: "securityGroupInfo", vpcID: vpcID) { item in
            EC2.SecurityGroup(groupID: item.string("groupId") ?? "", groupName: item.string("groupName") ?? "",
                              vpcID: item.string("vpcId") ?? "")
        }
    }

    /// A Describe call filtered by `vpc-id` (when given), its `set`'s items mapped, following `nextToken`.
    func describeInVPC<Item>(_ action: String, set: String, vpcID: String?, _ item: (XMLNode) -> Item)
        throws(AWSError) -> [Item]
    {
        var result: [Item] = []
        var token: String?
        repeat {
            var parameters = QueryParameters()
            if let vpcID {
                parameters.add("Filter.1.Name", "vpc-id")
                parameters.add("Filter.1.Value.1", vpcID)
            }
            parameters.add("NextToken", token)
            let root = try queryCall(.ec2, action: action, parameters: parameters.pairs)
            result += (root.child(set)?.children("item") ?? []).map(item)
            token = root.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return result
    }
}
