import Testing

@Test func huginPlaceholder() {}
