import Testing

@Test func functionPlaceholder() {}
