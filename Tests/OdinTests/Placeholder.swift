import Testing

@Test func odinPlaceholder() {}
