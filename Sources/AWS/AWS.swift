// AWS: the project's own AWS client on libcurl (CurlHTTP, over the HTTP target's types) and libcrypto (Crypto), no
// Foundation (JSON through JSONCoding), so the Lambda functions can link it.
//
// Using it
// --------
//     let configuration = try AWSClient.Configuration.fromEnvironment(environmentSnapshot)  // once, at cold start
//     let aws = AWSClient(configuration: configuration)                                    // share it
//     try aws.putObject(bucket: "b", key: "raw/cam 1/a.jpg", body: .file(path: path))
//     let job = try aws.submitJob(.init(jobName: "run-1", jobQueue: "spot", jobDefinition: "munin", arraySize: 250))
//
// Pieces (one file each): `SigV4Signer` (pure value; stage functions named after AWS's signing document; signing
// keys cached per date/region/service in `SigningKeyCache`; the date is always a parameter), `AWSCredentials` and
// `CredentialsProviders` (explicit → environment → shared files incl. role_arn/source_profile through STS →
// container endpoint → IMDSv2, wrapped in `RefreshingCredentialsProvider`), `SharedConfig` (INI files),
// `AWSService`/`AWSEndpointResolver` (`AWS_ENDPOINT_URL[_<SERVICE>]`, profile `endpoint_url`, regional defaults),
// `RetryStrategy`/`RetryQuota` (SDK standard mode), `AWSError`/`AWSErrorDecoder` (one error struct for all four
// wire protocols), `XMLPullParser`/`XMLNode`/`XMLWriter` (no FoundationXML), `AWSClient` (pool of `HTTPClient`s,
// signing, retries, logging) and one `AWSClient+<Service>.swift` per service with typed requests and responses.
//
// Concurrency: `AWSClient` is `Sendable`; calls block the calling thread (run them off the cooperative pool). Each
// attempt checks an `HTTPClient` (one curl handle, keep-alive) out of a Mutex-protected pool of at most
// `maxPooledConnections` idle clients, so parallel callers never share a handle.
//
// Retries: standard mode, 3 attempts, full-jitter exponential backoff (base 1 s, cap 20 s), `Retry-After` and
// `x-amz-retry-after` honoured, a 500-token retry quota (5 per retry, 10 after a timeout or dropped connection).
// Operations that must not run twice (`AWSOperation.isIdempotent == false`: Batch SubmitJob — it has no client
// token —, Create*/RegisterJobDefinition, SNS Publish, PutMetricData, DynamoDB conditional puts and counter updates,
// S3 `If-None-Match: *` puts) are retried only after throttling or a failed connect, never after a 5xx or a lost
// response. Expired temporary credentials are refreshed and the call retried.
//
// Logging: pass the shared `Logger` (OdinBasics); nothing secret is ever logged (see `AWSClient.Configuration.logger`).
