// Cost outcomes: prices, advice, quotes and the policy simulator (issue 9).
