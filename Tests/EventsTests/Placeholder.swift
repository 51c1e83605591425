import Testing

@Test func eventsPlaceholder() {}
