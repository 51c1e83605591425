import Testing

@Test func muninPlaceholder() {}
