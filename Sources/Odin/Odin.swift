// Odin: the control plane as pure logic over ports (the bindings: OdinAWS, and OdinLocal for the local mode).
//
// Entry points (one per Lambda function; the thin `functions/<name>/src/main.swift` builds `OdinServices` once at cold
// start and calls `handle(eventBytes, services:)` per invocation, returning the JSON bytes or throwing):
//   IngestHandler       S3 ObjectCreated (direct, SQS-wrapped, EventBridge "Object Created"), s3:TestEvent
//   JobEventsHandler    EventBridge "Batch Job State Change" (rule: SUCCEEDED/FAILED of our queues; the warm
//                       minvCpus floor is reset on a run's first RUNNING event if one arrives, else its first
//                       terminal chunk event)
//   BudgetGuardHandler  SNS: AWS Budgets plain text or CloudWatch alarm JSON
//   SweeperHandler      EventBridge "Scheduled Event" (e.g. rate(5 minutes))
// `ResumeService` is `odin resume RUN`; `LocalBinding.make` (OdinLocal) wires the local mode.
//
// Exactly once under faults (the idempotency design). Every AWS call may fail (before or after it took effect), every
// event may arrive twice, every invocation may die between two writes; a redelivery or the sweeper then runs the step
// again. Rules, applied to ingest, job events, the sweeper and `odin resume`:
//   1. A marker means "done", never "started". A marker and the effects it stands for commit in ONE
//      `StateStore.transact` (DynamoDB TransactWriteItems; the local store journals a multi-partition write):
//        ingest        obj#<version> dedup item + its pending item
//        seal          run record (sealing) + run index + active-runs entry (the seal's lease) + removal of the
//                      collecting window (conditional on its version: exactly one sealer wins; a run exists iff its
//                      window was taken)
//        chunk event   done#/fbpending# marker + its counter ADD + the event item + the ledger charge (run and month)
//        Hugin event   event item + ledger charge
//        any record    run#|meta (optimistic version) + runs|<id> index
//      A redelivery that finds the marker skips the recording and re-runs only the idempotent follow-up (advance,
//      flush, condense, teardown), which a failure may have cut short; so the ledger charges only attempts that did
//      work, once.
//   2. Steps that cannot be in a transaction (SubmitJob, an in-process condensation, a seal's claims, manifest and
//      submission) run under a LEASE: an item with `leaseUntil` (960 s, longer than any invocation; a seal's: 600 s
//      on its active-runs entry, longer than an ingest or sweeper invocation), released at once when the step fails,
//      taken over (a conditional write: one holder at a time) by whoever finds it released or expired (redelivery,
//      sweeper, resume), and marked done (`startedAt` / `jobID` / the run's status) only after the effect is
//      recorded. Every job has a deterministic name (munin-<run>-p<part>, -fb<generation>, -rs<n>, hugin-<run>)
//      and is looked up by name (ListJobs) before SubmitJob, so a SubmitJob whose answer was lost is never repeated.
//      A fallback flush's generation is the number of chunks ever queued, so every invocation addresses the same flush.
//   3. Truth is in the markers: counters lag them only for runs recorded before rule 1; the sweeper and resume add the
//      difference (markers read before counters, so never over-counted). A seal that failed after taking its window
//      (run `sealing` or `submitting`) is finished (claim, manifest, submit) under its lease by the redelivered ingest
//      invocation (it finds its objects recorded, no window, the camera's unfinished seal: the window's objects go to
//      that run, never to a later window's run), by the sweeper once the lease is released or expired (its holder
//      died), or at once by `odin resume`; a run left `done`/`failed` in the active index is cleaned up by the
//      sweeper.
//   4. Tags are not trusted: an event for a tagged run without a record fails before writing anything; a condense
//      event counts only if its job is the run's latest recorded Hugin job; a FAILED Hugin job makes the run `failed`
//      (Stage 1 kept, `odin resume` condenses again), never `done`.
//   5. Keys are bytes: `StateKey` compares, hashes and orders by UTF-8 (as DynamoDB does; Swift's String == merges NFC
//      and NFD spellings); camera names and object keys are never normalised. A key over DynamoDB's limits (sort key
//      1,024 bytes, partition key 2,048) is replaced by `h#<sha256>`, the full key kept as an attribute. An object
//      of a bucket other than the deployment's is rejected (logged with the fix); several versions of one key in a
//      window are one manifest entry.
//   6. The kill-switch acts once per signal (the SNS message ids): the `control|budget-stop` item records the signal,
//      the stop's start and the jobs it stops (listed before any is stopped); a redelivery of the signal continues that
//      stop (same receipt `state/teardowns/<start>.json`, jobs merged, every action applied again), a step that failed
//      fails the invocation after the receipt is written (so it is redelivered), and a cleared stop's signal is not
//      acted on again. The sweeper reconciles only jobs its run recorded, attributing them itself (a job it has just
//      submitted may carry no tags or array index yet).
// The fault sweep (Tests/OdinTests/FaultInjectionTests.swift at the ports, Tests/FunctionTests/FaultProxyTests.swift
// through the AWS binding and moto) fails the k-th call of each scenario once, for every k, and requires the
// fault-free end state.
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
//   obj#<bucket>/<key> | v#<version>         dedup of object versions (TTL dedup_ttl_days); h#<sha256> when too long
//   collect | <camera>                       open collecting window (ADD count, version; lastSeen, openedAt)
//   pending#<camera> | <bucket>/<key>#<ver>  objects waiting for a run (claimedBy); h#<sha256> over 1,024 bytes
//   run#<id> | meta, counters                run record (optimistic `version`), atomic counters and run ledger
//   run#<id> | done#<i>, fbpending#<i>       terminal / waiting-for-fallback markers per chunk (create-if-absent)
//   run#<id> | fallback#<g>                  fallback (g = chunks queued) / resume (g < 0) index lists, lease, jobID
//   run#<id> | condense                      condensation lease (leaseUntil) and done marker (startedAt)
//   event#<jobId> | <attempts>#<status>      job event recorded (with its effects; TTL 14 days)
//   active-runs | <id>, runs | <id>          run indexes;  job#<jobId> | meta   job → run (events without tags)
//   control | teardown, budget-stop          last teardown; kill-switch state and receipt key
//   ledger | <yyyy-MM>                       vCPU-ms on Spot / On-Demand and estimated cost (micro-units)
//
// AWS mapping of the ports (each method is one call; the bindings paginate):
//   StateStore.get      GetItem(ConsistentRead)
//   StateStore.put      PutItem + ConditionExpression (itemAbsent: attribute_not_exists(pk); itemExists:
//                       attribute_exists(pk); attributeAbsent(a): attribute_not_exists(#a); equals(a,v): #a = :v;
//                       absentOrEquals(a,v): attribute_not_exists(#a) OR #a = :v; allOf: (c1) AND (c2) …);
//                       ConditionalCheckFailed → .conditionFailed
//   StateStore.update   UpdateItem "SET #a = :a … REMOVE #r …" (+ SET expiresAt) + condition, ReturnValues ALL_NEW
//   StateStore.add      UpdateItem "ADD #c :n … SET #s = :s", ReturnValues ALL_NEW (return the N attributes)
//   StateStore.delete   DeleteItem + condition, ReturnValues ALL_OLD
//   StateStore.query    Query "pk = :p AND begins_with(sk, :s)" (no begins_with for ""), ConsistentRead
//   StateStore.transact TransactWriteItems (Put + condition, Update "ADD … SET …", Delete + condition);
//                       a ConditionalCheckFailed cancellation reason → .conditionFailed
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
