import Testing

@Test func awsPlaceholder() {}
