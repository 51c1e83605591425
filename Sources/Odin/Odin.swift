// Odin: the control plane as pure logic over ports, with a local binding.
//
// Entry points (one per Lambda function; the thin `functions/<name>/src/main.swift` builds `OdinServices` once at cold
// start and calls `handle(eventBytes, services:)` per invocation, returning the JSON bytes or throwing):
//   IngestFunction      S3 ObjectCreated (direct, SQS-wrapped, EventBridge "Object Created"), s3:TestEvent
//   JobEventsFunction   EventBridge "Batch Job State Change" (rule: SUCCEEDED/FAILED of our queues; the warm
//                       minvCpus floor is reset on a run's first RUNNING event if one arrives, else its first
//                       terminal chunk event)
//   BudgetGuardFunction SNS: AWS Budgets plain text or CloudWatch alarm JSON
//   SweeperFunction     EventBridge "Scheduled Event" (e.g. rate(5 minutes))
// `ResumeService` is `odin resume RUN`; `LocalBinding.make` wires the local mode.
//
// Burst design (ingest): each invocation records its objects (dedup create-if-absent, a pending item, one window ADD
// per camera) and seals only *settled* collecting windows (no upload for settle_seconds, or open for
// max_wait_seconds, or max_objects_per_run reached). A sealed window becomes one run: its pending objects are claimed
// with conditional updates, cut into chunks, written as one manifest, and submitted as ⌈chunks / 10,000⌉ array jobs.
// Windows with no later upload are sealed by the sweeper. So a 10,000-object burst gives ≤ ⌈burst / max_wait⌉ runs
// per camera and one SubmitJob per ≤ 10,000 chunks.
//
// Priority (`odin run --priority`): the CLI writes `control/priority/<camera>.json` to the object store before
// uploading (`PriorityRequest`); sealing copies the camera's unexpired request into the run record, and every job of
// the run is submitted with it (schedulingPriorityOverride on AWS, start order locally).
//
// State layout (one DynamoDB table, pk/sk, TTL attribute `expiresAt` as in infra/stack.yaml): see `Schema`.
//   obj#<bucket>/<key> | v#<version>         dedup of object versions (TTL dedup_ttl_days)
//   collect | <camera>                       open collecting window (ADD count, version; lastSeen, openedAt)
//   pending#<camera> | <bucket>/<key>#<ver>  objects waiting for a run (claimedBy)
//   run#<id> | meta, counters                run record (optimistic `version`), atomic counters and run ledger
//   run#<id> | done#<i>, fbpending#<i>       terminal / waiting-for-fallback markers per chunk (create-if-absent)
//   run#<id> | fallback#<g>, flush#<n>       fallback/resume index lists; one-flush locks
//   run#<id> | condense                      exactly-once condensation marker
//   event#<jobId> | <attempts>#<status>      job-event dedup (TTL 14 days)
//   active-runs | <id>, runs | <id>          run indexes;  job#<jobId> | meta   job → run (events without tags)
//   control | teardown, budget-stop          last teardown; kill-switch state and receipt key
//   ledger | <yyyy-MM>                       vCPU-ms on Spot / On-Demand and estimated cost (micro-units)
//
// AWS mapping of the ports (each method is one call; the bindings paginate):
//   StateStore.get      GetItem(ConsistentRead)
//   StateStore.put      PutItem + ConditionExpression (itemAbsent: attribute_not_exists(pk); itemExists:
//                       attribute_exists(pk); attributeAbsent(a): attribute_not_exists(#a); equals(a,v): #a = :v;
//                       absentOrEquals(a,v): attribute_not_exists(#a) OR #a = :v); ConditionalCheckFailed → .conditionFailed
//   StateStore.update   UpdateItem "SET #a = :a … REMOVE #r …" (+ SET expiresAt) + condition, ReturnValues ALL_NEW
//   StateStore.add      UpdateItem "ADD #c :n … SET #s = :s", ReturnValues ALL_NEW (return the N attributes)
//   StateStore.delete   DeleteItem + condition, ReturnValues ALL_OLD
//   StateStore.query    Query "pk = :p AND begins_with(sk, :s)" (no begins_with for ""), ConsistentRead
//   StateValue          string→S, int/double→N, bool→BOOL, list→L, map→M, null→NULL; expiresAt→expiresAt (N)
//   Compute.describeQueues              DescribeJobQueues(jobQueues) → state == ENABLED
//   Compute.setQueueEnabled             UpdateJobQueue(jobQueue, state ENABLED|DISABLED)
//   Compute.describeComputeEnvironments DescribeComputeEnvironments → state, computeResources.min/max/desiredvCpus
//   Compute.updateComputeEnvironment    UpdateComputeEnvironment(state?, computeResources{minvCpus?, maxvCpus?});
//                                       never desiredvCpus
//   Compute.submitJob   SubmitJob(jobName, jobQueue, jobDefinition, shareIdentifier, schedulingPriorityOverride
//                       (the run's priority, else ODIN_PRIORITY), arrayProperties.size if ≥ 2,
//                       containerOverrides{environment, resourceRequirements[VCPU]}, retryStrategy{attempts,
//                       evaluateOnExit: [{onStatusReason: g, action: RETRY}…, {onReason: "*", action: EXIT}]},
//                       timeout.attemptDurationSeconds, tags, propagateTags: true) → jobId
//   Compute.listJobs    ListJobs(jobQueue+jobStatus | arrayJobId+jobStatus | jobQueue+filters[JOB_NAME "<prefix>*"])
//   Compute.describeJobs DescribeJobs(jobs ≤ 100) → jobs[] decoded as BatchJobDetail (same shape as the event)
//   Compute.terminateJob / cancelJob    TerminateJob / CancelJob(jobId, reason)
//   Notifier.publish    SNS Publish(TopicArn, Subject ≤ 100 chars, Message)
//   MetricsSink         EMF lines on stdout (EMFMetrics); no API call
//
// The worker contract (Munin): ODIN_RUN_ID, ODIN_MANIFEST (object key), ODIN_INDEX_OFFSET; manifest line
// (offset + AWS_BATCH_JOB_ARRAY_INDEX) is its `Chunk`; write Stage 1 to `StoreLayout.stage1Key(run:, chunk: chunk.index)`
// (fallback/resume manifests keep the original chunk index).
