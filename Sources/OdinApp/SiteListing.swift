import Hugin

/// `odin sites list --json`: the registered sites (a name or merge that is not there is null).
package struct SiteListing: Codable, Sendable, Equatable {
    package struct Site: Codable, Sendable, Equatable {
        package var siteID: String
        package var name: String?
        package var latitude: Double
        package var longitude: Double
        package var pointsSeen: Int
        package var mergedInto: String?

        enum CodingKeys: String, CodingKey {
            case siteID = "site_id", name, latitude, longitude, pointsSeen = "points_seen", mergedInto = "merged_into"
        }

        package init(_ site: RegisteredSite) {
            (siteID, name, latitude, longitude) = (site.id, site.name, site.latitude, site.longitude)
            (pointsSeen, mergedInto) = (site.pointsSeen, site.mergedInto)
        }

        // MARK: - Encodable (absent values as null)

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(siteID, forKey: .siteID)
            try container.encode(name, forKey: .name)
            try container.encode(latitude, forKey: .latitude)
            try container.encode(longitude, forKey: .longitude)
            try container.encode(pointsSeen, forKey: .pointsSeen)
            try container.encode(mergedInto, forKey: .mergedInto)
        }
    }

    package var sites: [Site]

    package init(_ sites: [RegisteredSite]) {
        self.sites = sites.map(Site.init)
    }
}
