import Testing

@Test func lambdaruntimePlaceholder() {}
