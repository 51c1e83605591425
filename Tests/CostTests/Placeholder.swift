import Testing

@Test func costPlaceholder() {}
