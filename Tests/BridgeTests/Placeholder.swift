import Testing

@Test func bridgePlaceholder() {}
