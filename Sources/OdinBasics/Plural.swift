/// "1 visit", "2 visits", "1 species", "0 media files".
package enum Plural {
    package static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }
}
