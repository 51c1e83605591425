#!/usr/bin/env python3
"""Checks an Odins Ravne CloudFormation template beyond what cfn-lint and moto check.

Usage: check_template.py [--policy-only] TEMPLATE [TEMPLATE ...]

Policy rules (every template): no IAM action containing "*", no NotAction, no managed policies (they hide
wildcards), and every statement with Resource "*" carries a comment `# Resource "*": <reason>` on the line before
the statement or inside it. Structure rules (infra/stack.yaml only, i.e. templates that define DataBucket): the
properties moto ignores (bucket lifecycle and notifications, budgets, CE scaling settings, queue time-limit
actions, retry strategies) plus tags, triggers, env-var documentation and function.json agreement.
Exit status 0 when clean, 1 with one line per finding otherwise. Runs from the project venv (needs cfn-lint).
"""
import json
import os
import re
import sys

from cfnlint.decode import decode
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STAR_COMMENT = re.compile(r'#\s*Resource "\*":\s*\S')
MEDIA_SUFFIXES = [".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".mp4", ".MP4", ".mov", ".MOV", ".avi", ".AVI"]
FUNCTIONS = {  # logical id prefix -> functions/<name>
    "Ingest": "ingest", "JobEvents": "job-events", "BudgetGuard": "budget-guard", "Sweeper": "sweeper"}


class Findings:
    def __init__(self, path):
        self.path = os.path.relpath(path, ROOT)
        self.items = []

    def add(self, where, message):
        self.items.append(f"{self.path}: {where}: {message}")

    def expect(self, condition, where, message):
        if not condition:
            self.add(where, message)


def as_list(value):
    return value if isinstance(value, list) else [value]


def line_of(node):
    mark = getattr(node, "start_mark", None)
    return mark.line if mark is not None else None  # 0-based


# ---------------------------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------------------------
def policy_documents(name, resource):
    props = resource.get("Properties", {}) or {}
    rtype = resource.get("Type", "")
    if rtype == "AWS::IAM::Role":
        for policy in props.get("Policies", []) or []:
            yield f"{name}.Policies[{policy.get('PolicyName')}]", policy.get("PolicyDocument", {})
        yield f"{name}.AssumeRolePolicyDocument", props.get("AssumeRolePolicyDocument", {})
    elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        yield name, props.get("PolicyDocument", {})
    elif rtype in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
        yield name, props.get("PolicyDocument", {})


def check_policies(template, lines, f):
    for name, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties", {}) or {}
        if props.get("ManagedPolicyArns"):
            f.add(name, "ManagedPolicyArns is not allowed (managed policies hide wildcard actions); write an inline policy")
        for where, doc in policy_documents(name, resource):
            for index, statement in enumerate(as_list(doc.get("Statement", []))):
                sid = statement.get("Sid", f"#{index}")
                at = f"{where} statement {sid}"
                if "NotAction" in statement:
                    f.add(at, "NotAction is not allowed; list the actions")
                # A Deny may cover every action of a service (the TLS-only bucket rule denies s3:*); an Allow may not.
                for action in as_list(statement.get("Action", [])):
                    if isinstance(action, str) and "*" in action and statement.get("Effect") != "Deny":
                        f.add(at, f'action "{action}" contains "*"; name each action')
                if "NotResource" in statement:
                    f.add(at, "NotResource is not allowed")
                resources = as_list(statement.get("Resource", []))
                if any(r == "*" for r in resources if isinstance(r, str)):
                    start = line_of(statement)
                    resource_line = None
                    for key in statement:
                        if key == "Resource":
                            resource_line = line_of(key)
                    if start is None or resource_line is None:
                        f.add(at, 'Resource "*" without position information; cannot verify the comment')
                        continue
                    first = start
                    while first > 0 and lines[first - 1].strip().startswith("#"):
                        first -= 1  # the contiguous comment block right above the statement
                    window = lines[first:resource_line + 1]
                    if not any(STAR_COMMENT.search(text) for text in window):
                        f.add(f"{at} (line {resource_line + 1})",
                              'Resource "*" needs a comment `# Resource "*": <why the API has no resource-level '
                              'permissions>` on the line above the statement')


# ---------------------------------------------------------------------------------------------------------------
# Structure of infra/stack.yaml
# ---------------------------------------------------------------------------------------------------------------
def is_ref(value, name):
    return isinstance(value, dict) and value.get("Ref") == name


def has_tags(resource_type):
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:  # unknown type: nothing to say about tags
        return None
    props = schema.get("properties", {})
    for key in ("Tags", "ResourceTags"):
        if key in props:
            return key
    return None


def tag_keys(value):
    if isinstance(value, dict) and "Fn::If" not in value:
        return set(value.keys())
    keys = set()
    for item in as_list(value or []):
        if isinstance(item, dict) and "Key" in item:
            keys.add(item["Key"])
    return keys


def check_structure(template, f):
    res = template.get("Resources") or {}
    params = template.get("Parameters") or {}

    def r(name):
        if name not in res:
            f.add(name, "resource missing")
            return {}
        return res[name].get("Properties", {}) or {}

    # Data bucket (moto ignores lifecycle and notifications)
    bucket = r("DataBucket")
    f.expect(bucket.get("VersioningConfiguration", {}).get("Status") == "Enabled", "DataBucket", "versioning not enabled")
    f.expect(bool(bucket.get("BucketEncryption")), "DataBucket", "no default encryption")
    pab = bucket.get("PublicAccessBlockConfiguration", {})
    for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        f.expect(pab.get(key) is True, "DataBucket", f"PublicAccessBlockConfiguration.{key} must be true")
    rules = bucket.get("LifecycleConfiguration", {}).get("Rules", [])
    for rule in rules:
        if rule.get("Transitions"):
            prefix = rule.get("Prefix") or rule.get("Filter", {}).get("Prefix")
            f.expect(prefix == "raw/", "DataBucket", f"lifecycle rule {rule.get('Id')} moves objects to colder storage "
                     "but is not limited to raw/ (state, manifests and results must stay in STANDARD)")
    transitions = {t.get("StorageClass"): t.get("TransitionInDays") for rule in rules for t in rule.get("Transitions", [])}
    f.expect(is_ref(transitions.get("STANDARD_IA"), "TransitionToIaDays"), "DataBucket", "no STANDARD_IA transition from TransitionToIaDays")
    f.expect(is_ref(transitions.get("GLACIER"), "TransitionToGlacierDays"), "DataBucket", "no GLACIER transition from TransitionToGlacierDays")
    f.expect(any(is_ref(rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays"), "NoncurrentVersionExpirationDays")
                 for rule in rules), "DataBucket", "no noncurrent-version expiration from NoncurrentVersionExpirationDays")
    for name, default in (("TransitionToIaDays", 30), ("TransitionToGlacierDays", 90), ("NoncurrentVersionExpirationDays", 30)):
        f.expect(str(params.get(name, {}).get("Default")) == str(default), f"Parameters.{name}", f"default must be {default} (profile storage.lifecycle)")
    suffixes = []
    for config in bucket.get("NotificationConfiguration", {}).get("LambdaConfigurations", []):
        rules_ = {rule.get("Name"): rule.get("Value") for rule in config.get("Filter", {}).get("S3Key", {}).get("Rules", [])}
        f.expect(rules_.get("prefix") == "raw/", "DataBucket", f"notification without prefix raw/: {rules_}")
        f.expect(config.get("Function") == {"Fn::GetAtt": ["IngestFunction", "Arn"]}, "DataBucket", "notification target is not IngestFunction")
        f.expect(str(config.get("Event", "")).startswith("s3:ObjectCreated:"), "DataBucket", "notification event is not ObjectCreated")
        suffixes.append(rules_.get("suffix"))
    f.expect(sorted(suffixes) == sorted(MEDIA_SUFFIXES), "DataBucket", f"media suffixes {sorted(suffixes)} != {sorted(MEDIA_SUFFIXES)}")
    depends = as_list(res.get("DataBucket", {}).get("DependsOn", []))
    f.expect("IngestS3Permission" in depends, "DataBucket", "must DependsOn IngestS3Permission (S3 validates the target)")
    perm = r("IngestS3Permission")
    f.expect(perm.get("Principal") == "s3.amazonaws.com" and "Fn::Sub" in (perm.get("SourceArn") or {}),
             "IngestS3Permission", "must allow s3.amazonaws.com with a spelled-out SourceArn (no GetAtt on the bucket)")
    f.expect(is_ref(perm.get("SourceAccount"), "AWS::AccountId"), "IngestS3Permission", "SourceAccount missing")

    deny = [st for st in as_list(r("DataBucketPolicy").get("PolicyDocument", {}).get("Statement", []))
            if st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition", {}))]
    f.expect(any(as_list(st.get("Action")) == ["s3:*"] and st.get("Principal") == "*" for st in deny), "DataBucketPolicy",
             "the TLS-only rule must deny s3:* to every principal when aws:SecureTransport is false")

    # Table
    table = r("StateTable")
    f.expect(table.get("DeletionProtectionEnabled") == {"Fn::If": ["ProtectState", True, False]}
             and (template.get("Conditions") or {}).get("ProtectState") == {"Fn::Equals": [{"Ref": "DeletionProtection"}, "true"]},
             "StateTable", "DeletionProtectionEnabled must follow the DeletionProtection stage parameter")
    f.expect(table.get("BillingMode") == "PAY_PER_REQUEST", "StateTable", "must be on-demand (PAY_PER_REQUEST)")
    f.expect(table.get("TimeToLiveSpecification", {}).get("Enabled") is True, "StateTable", "TTL not enabled")

    # Compute environments (moto drops updates to these)
    spot = r("SpotComputeEnvironment").get("ComputeResources", {})
    f.expect(spot.get("Type") == "SPOT", "SpotComputeEnvironment", "Type must be SPOT")
    f.expect(spot.get("AllocationStrategy") == "SPOT_PRICE_CAPACITY_OPTIMIZED", "SpotComputeEnvironment", "allocation must be SPOT_PRICE_CAPACITY_OPTIMIZED")
    f.expect(is_ref(spot.get("BidPercentage"), "SpotBidPercentage"), "SpotComputeEnvironment", "BidPercentage must come from SpotBidPercentage")
    od = r("OnDemandComputeEnvironment").get("ComputeResources", {})
    f.expect(od.get("Type") == "EC2", "OnDemandComputeEnvironment", "Type must be EC2")
    f.expect(od.get("AllocationStrategy") == "BEST_FIT_PROGRESSIVE", "OnDemandComputeEnvironment", "allocation must be BEST_FIT_PROGRESSIVE")
    f.expect("BidPercentage" not in od, "OnDemandComputeEnvironment", "BidPercentage has no effect on EC2")
    for name, ce in (("SpotComputeEnvironment", spot), ("OnDemandComputeEnvironment", od)):
        f.expect(ce.get("MinvCpus") == 0, name, "MinvCpus must be 0 (nothing runs while idle)")
        f.expect("DesiredvCpus" not in ce, name, "DesiredvCpus must not be set (it can only go up; the control logic owns it)")
        f.expect(is_ref(ce.get("InstanceTypes"), "GpuInstanceTypes"), name, "InstanceTypes must come from GpuInstanceTypes")
        f.expect(ce.get("SecurityGroupIds") == [{"Ref": "BatchSecurityGroup"}], name, "must use BatchSecurityGroup")

    # Launch template: IMDSv2 only, hop limit 1 (containers cannot reach instance credentials), encrypted root volume
    lt = r("BatchLaunchTemplate").get("LaunchTemplateData", {})
    meta = lt.get("MetadataOptions", {})
    f.expect(meta.get("HttpTokens") == "required" and meta.get("HttpPutResponseHopLimit") == 1, "BatchLaunchTemplate",
             "MetadataOptions must require IMDSv2 tokens with HttpPutResponseHopLimit 1")
    roots = [m for m in lt.get("BlockDeviceMappings", []) if m.get("DeviceName") == "/dev/xvda"]
    f.expect(roots and all(m.get("Ebs", {}).get("Encrypted") is True for m in roots), "BatchLaunchTemplate",
             "the root volume (/dev/xvda) must be encrypted")
    for name, ce in (("SpotComputeEnvironment", spot), ("OnDemandComputeEnvironment", od)):
        f.expect(ce.get("LaunchTemplate", {}).get("LaunchTemplateId") == {"Ref": "BatchLaunchTemplate"}, name,
                 "must launch its instances from BatchLaunchTemplate")

    # Queues
    spot_q = r("SpotJobQueue")
    actions = spot_q.get("JobStateTimeLimitActions", [])
    f.expect(any(a.get("State") == "RUNNABLE" and a.get("Action") == "CANCEL" and is_ref(a.get("MaxTimeSeconds"), "FallbackTimeoutSeconds")
                 and a.get("Reason") == "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY" for a in actions), "SpotJobQueue",
             "needs JobStateTimeLimitActions RUNNABLE > FallbackTimeoutSeconds -> CANCEL for CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY "
             "(the reason must be a Batch blocked-queue reason, or the action never fires)")
    f.expect(int(params.get("FallbackTimeoutSeconds", {}).get("MinValue", 0)) >= 600, "Parameters.FallbackTimeoutSeconds", "MinValue must be >= 600 (AWS Batch limit)")
    for name in ("SpotJobQueue", "OnDemandJobQueue"):
        f.expect(is_ref(r(name).get("SchedulingPolicyArn"), "PrioritySchedulingPolicy"), name, "must use PrioritySchedulingPolicy")
    f.expect(r("SpotJobQueue").get("ComputeEnvironmentOrder") == [{"Order": 1, "ComputeEnvironment": {"Ref": "SpotComputeEnvironment"}}],
             "SpotJobQueue", "must hold exactly the Spot CE")
    f.expect(r("OnDemandJobQueue").get("ComputeEnvironmentOrder") == [{"Order": 1, "ComputeEnvironment": {"Ref": "OnDemandComputeEnvironment"}}],
             "OnDemandJobQueue", "must hold exactly the On-Demand CE")
    shares = r("PrioritySchedulingPolicy").get("FairsharePolicy", {}).get("ShareDistribution", [])
    f.expect([s.get("ShareIdentifier") for s in shares] == ["odin"], "PrioritySchedulingPolicy", "expected the single share identifier odin")
    # `odin run --priority` requests (control/priority/<camera>.json) are read by the functions that seal runs; they
    # are listed first, since S3 answers a GET of a missing key with 403 when s3:ListBucket does not cover it.
    for role in ("IngestRole", "SweeperRole"):
        statements = [s for p in r(role).get("Policies", []) for s in as_list(p.get("PolicyDocument", {}).get("Statement", []))]
        reads = any("s3:GetObject" in as_list(s.get("Action")) and "control/priority/*" in json.dumps(s.get("Resource"))
                    for s in statements)
        lists = any("s3:ListBucket" in as_list(s.get("Action")) and "control/priority/*" in json.dumps(s.get("Condition", {}))
                    for s in statements)
        f.expect(reads and lists, role, "must read (s3:GetObject) and list (s3:ListBucket, prefix control/priority/*) "
                 "the priority requests")

    # Job definitions
    for name in ("WorkerJobDefinition", "HuginJobDefinition"):
        jd = r(name)
        f.expect(jd.get("PropagateTags") is True, name, "PropagateTags must be true (run id tags reach the ECS tasks)")
        rules_ = jd.get("RetryStrategy", {}).get("EvaluateOnExit", [])
        f.expect(rules_ == [{"OnStatusReason": "Host EC2*", "Action": "RETRY"}, {"OnReason": "*", "Action": "EXIT"}],
                 name, f"retry rules must be [RETRY on Host EC2*, EXIT otherwise], got {rules_}")
        f.expect(jd.get("ContainerProperties", {}).get("LogConfiguration", {}).get("Options", {}).get("awslogs-group") == {"Ref": "BatchLogGroup"},
                 name, "must log to BatchLogGroup (retention)")
    worker_reqs = json.dumps(r("WorkerJobDefinition").get("ContainerProperties", {}).get("ResourceRequirements", []))
    f.expect('"GPU"' in worker_reqs, "WorkerJobDefinition", "no GPU resource requirement")

    # Security group: no inbound rules anywhere
    f.expect("SecurityGroupIngress" not in r("BatchSecurityGroup"), "BatchSecurityGroup", "must have no inbound rules")
    for name, resource in res.items():
        f.expect(resource.get("Type") != "AWS::EC2::SecurityGroupIngress", name, "inbound rules are not allowed")

    # Functions
    readme_path = os.path.join(ROOT, "infra", "README.md")
    readme = open(readme_path).read() if os.path.exists(readme_path) else ""
    for prefix, folder in FUNCTIONS.items():
        fn = r(f"{prefix}Function")
        where = f"{prefix}Function"
        f.expect(fn.get("Runtime") == "provided.al2023", where, "Runtime must be provided.al2023")
        f.expect(fn.get("Handler") == "bootstrap", where, "Handler must be bootstrap")
        f.expect(fn.get("Architectures") == [{"Ref": "Architecture"}], where, "Architectures must come from Architecture")
        code = fn.get("Code", {})
        f.expect(is_ref(code.get("S3Bucket"), "ArtefactsBucketName") and is_ref(code.get("S3Key"), f"{prefix}CodeKey"),
                 where, f"code must come from ArtefactsBucketName/{prefix}CodeKey")
        spec_path = os.path.join(ROOT, "functions", folder, "function.json")
        try:
            spec = json.load(open(spec_path))
        except (OSError, ValueError) as error:
            f.add(where, f"cannot read {os.path.relpath(spec_path, ROOT)}: {error}")
            continue
        for key, field, param in (("MemorySize", "memoryMB", f"{prefix}MemorySize"), ("Timeout", "timeoutSeconds", f"{prefix}Timeout")):
            f.expect(is_ref(fn.get(key), param), where, f"{key} must come from {param}")
            f.expect(str(params.get(param, {}).get("Default")) == str(spec.get(field)), f"Parameters.{param}",
                     f"default {params.get(param, {}).get('Default')} != functions/{folder}/function.json {field} {spec.get(field)}")
            f.expect(spec.get("parameters", {}).get(key == "MemorySize" and "memory" or "timeout") == param,
                     f"functions/{folder}/function.json", f"parameters must name {param}")
        log_group = r(f"{prefix}LogGroup")
        f.expect(log_group.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{Project}}-${{Stage}}-{folder}"},
                 f"{prefix}LogGroup", "must be the function's default log group")
        f.expect(fn.get("FunctionName") == {"Fn::Sub": f"${{Project}}-${{Stage}}-{folder}"}, where, "unexpected FunctionName")
        f.expect(is_ref(log_group.get("RetentionInDays"), "LogRetentionDays"), f"{prefix}LogGroup", "retention must come from LogRetentionDays")
        for var in (fn.get("Environment", {}).get("Variables", {}) or {}):
            f.expect(f"`{var}`" in readme, where, f"environment variable {var} is not documented in infra/README.md")

    # Failed asynchronous invocations go to the dead-letter queue; budget-guard and ingest errors raise alarms
    for prefix in FUNCTIONS:
        fn = r(f"{prefix}Function")
        f.expect(fn.get("DeadLetterConfig", {}).get("TargetArn") == {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]},
                 f"{prefix}Function", "DeadLetterConfig must send failed async invocations to AsyncFailureQueue")
        statements = [st for pol in r(f"{prefix}Role").get("Policies", [])
                      for st in as_list(pol.get("PolicyDocument", {}).get("Statement", []))]
        f.expect(any("sqs:SendMessage" in as_list(st.get("Action")) and st.get("Resource") == {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}
                     for st in statements), f"{prefix}Role", "needs sqs:SendMessage on AsyncFailureQueue (its DLQ)")
    for prefix in ("BudgetGuard", "Ingest"):
        alarms = [a for a in res.values() if a.get("Type") == "AWS::CloudWatch::Alarm"
                  and (a.get("Properties") or {}).get("MetricName") == "Errors"
                  and {"Name": "FunctionName", "Value": {"Ref": f"{prefix}Function"}} in (a.get("Properties") or {}).get("Dimensions", [])]
        f.expect(alarms and all((a["Properties"].get("AlarmActions") or []) == [{"Ref": "NotifyTopic"}] for a in alarms),
                 f"{prefix}Function", "needs an Errors alarm that notifies NotifyTopic")
    for prefix in ("BudgetGuard", "Sweeper"):
        f.expect(r(f"{prefix}Function").get("ReservedConcurrentExecutions") ==
                 {"Fn::If": [f"Reserve{prefix}", {"Ref": f"{prefix}ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]},
                 f"{prefix}Function", f"ReservedConcurrentExecutions must come from {prefix}ReservedConcurrency")

    # The notification topic is encrypted with a key the CloudWatch alarms may use; every publisher may use it too
    f.expect(r("NotifyTopic").get("KmsMasterKeyId") == {"Fn::GetAtt": ["NotifyKey", "Arn"]}, "NotifyTopic",
             "must be encrypted with NotifyKey")
    key_policy = r("NotifyKey").get("KeyPolicy", {})
    f.expect(any(st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for st in as_list(key_policy.get("Statement", []))),
             "NotifyKey", "the key policy must let cloudwatch.amazonaws.com use the key (alarm actions)")
    for role in ("IngestRole", "JobEventsRole", "BudgetGuardRole", "SweeperRole"):  # Hugin never notifies (its role holds no sns:Publish)
        statements = [st for pol in r(role).get("Policies", []) for st in as_list(pol.get("PolicyDocument", {}).get("Statement", []))]
        publishes = any("sns:Publish" in as_list(st.get("Action")) and st.get("Resource") == {"Ref": "NotifyTopic"} for st in statements)
        keyed = any({"kms:GenerateDataKey", "kms:Decrypt"} <= set(as_list(st.get("Action")))
                    and st.get("Resource") == {"Fn::GetAtt": ["NotifyKey", "Arn"]} for st in statements)
        f.expect(publishes and keyed, role, "must publish to NotifyTopic with kms:GenerateDataKey and kms:Decrypt on NotifyKey")

    # The kill-switch (budget-guard) and its re-application (sweeper) stop jobs and write receipts where the code puts
    # them (BudgetGuardService.receiptPrefix).
    # (Read from the source when it is there; a deploy from a copy without Sources/ checks the template alone.)
    guard_path = os.path.join(ROOT, "Sources", "Odin", "Logic", "BudgetGuard.swift")
    prefix_match = None
    if os.path.exists(guard_path):
        prefix_match = re.search(r'receiptPrefix\s*=\s*"([^"]+)"', open(guard_path, encoding="utf-8").read())
        f.expect(prefix_match is not None, "BudgetGuard.swift", "receiptPrefix not found")
    for role in ("BudgetGuardRole", "SweeperRole"):
        statements = [st for pol in r(role).get("Policies", []) for st in as_list(pol.get("PolicyDocument", {}).get("Statement", []))]
        f.expect(any({"batch:TerminateJob", "batch:CancelJob"} <= set(as_list(st.get("Action"))) for st in statements),
                 role, "must hold batch:TerminateJob and batch:CancelJob (the kill-switch stops jobs)")
        if prefix_match:
            f.expect(any("s3:PutObject" in as_list(st.get("Action")) and f"/{prefix_match.group(1)}*" in json.dumps(st.get("Resource"))
                         for st in statements), role,
                     f"must allow s3:PutObject on {prefix_match.group(1)}* (where BudgetGuardService writes receipts)")

    env_sets = {prefix: frozenset((r(f"{prefix}Function").get("Environment", {}).get("Variables", {}) or {}).keys()) for prefix in FUNCTIONS}
    f.expect(len(set(env_sets.values())) == 1, "Functions", f"every function must get the same environment variables: {env_sets}")

    # Triggers
    pattern = r("BatchJobStateRule").get("EventPattern", {})
    f.expect(pattern.get("source") == ["aws.batch"] and pattern.get("detail-type") == ["Batch Job State Change"],
             "BatchJobStateRule", "must match aws.batch Batch Job State Change")
    f.expect(pattern.get("detail", {}).get("jobQueue") == [{"Ref": "SpotJobQueue"}, {"Ref": "OnDemandJobQueue"}],
             "BatchJobStateRule", "must filter to our two queues")
    f.expect(sorted(pattern.get("detail", {}).get("status", [])) == ["FAILED", "SUCCEEDED"], "BatchJobStateRule",
             "must filter to terminal states (cancel ends as FAILED)")
    targets = {"BatchJobStateRule": "JobEventsFunction", "SweeperScheduleRule": "SweeperFunction"}
    for rule, target in targets.items():
        f.expect([t.get("Arn") for t in r(rule).get("Targets", [])] == [{"Fn::GetAtt": [target, "Arn"]}], rule, f"must target {target}")
    f.expect(is_ref(r("SweeperScheduleRule").get("ScheduleExpression"), "SweeperSchedule"), "SweeperScheduleRule", "schedule must come from SweeperSchedule")
    policy = r("BudgetTopicPolicy").get("PolicyDocument", {})
    for service in ("budgets.amazonaws.com", "cloudwatch.amazonaws.com"):
        f.expect(any(s.get("Principal") == {"Service": service} and s.get("Action") == "sns:Publish"
                     and "aws:SourceAccount" in json.dumps(s.get("Condition", {})) and "aws:SourceArn" in json.dumps(s.get("Condition", {}))
                     for s in as_list(policy.get("Statement", []))),
                 "BudgetTopicPolicy", f"must let {service} publish, conditioned on aws:SourceAccount and aws:SourceArn")
    budget = r("Budget")
    f.expect(is_ref(budget.get("Budget", {}).get("BudgetLimit", {}).get("Unit"), "BudgetCurrency"), "Budget", "limit unit must be BudgetCurrency")
    subs = [s for n in budget.get("NotificationsWithSubscribers", []) for s in n.get("Subscribers", [])]
    f.expect(subs and all(s == {"SubscriptionType": "SNS", "Address": {"Ref": "BudgetTopic"}} for s in subs), "Budget", "every notification must go to BudgetTopic")
    f.expect(all(n.get("Notification", {}).get("ThresholdType") == "ABSOLUTE_VALUE" for n in budget.get("NotificationsWithSubscribers", [])),
             "Budget", "thresholds must be absolute amounts in the budget currency")
    f.expect(r("BudgetTopic").get("Subscription") == [{"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["BudgetGuardFunction", "Arn"]}}],
             "BudgetTopic", "BudgetTopic must invoke budget-guard (and nothing else)")
    for perm_name, principal in (("JobEventsPermission", "events.amazonaws.com"), ("BudgetGuardPermission", "sns.amazonaws.com"),
                                 ("SweeperPermission", "events.amazonaws.com")):
        perm = r(perm_name)
        f.expect(perm.get("Principal") == principal and "SourceArn" in perm, perm_name, f"must allow {principal} with a SourceArn")

    # Dashboard
    body = r("Dashboard").get("DashboardBody", {})
    body = body.get("Fn::Sub", "") if isinstance(body, dict) else str(body)
    for metric in ("RunsStarted", "ChunksDone", "ChunksFailed", "Fallbacks", "Teardowns", "EstimatedSpend", "BucketSizeBytes"):
        f.expect(metric in body, "Dashboard", f"metric {metric} missing")
    f.expect('"OdinsRavne"' in body, "Dashboard", "namespace OdinsRavne missing")
    try:
        json.loads(re.sub(r"\$\{[^}]+\}", "0", body))
    except ValueError as error:
        f.add("Dashboard", f"body is not JSON once substituted: {error}")


def code_partitions():
    """Partition keys (pk) the deployed code builds: StateKey("…") literals and the Schema's *Partition names, with
    interpolations as `*`. Local-mode-only code (Sources/OdinLocal, the CLI, the cost tools) is not deployed."""
    partitions = set()
    skip = (os.path.join("Sources", "OdinLocal"), os.path.join("Sources", "OdinCLI"), os.path.join("Sources", "OdinCost"),
            os.path.join("Sources", "OdinBench"))
    for folder, _, files in os.walk(os.path.join(ROOT, "Sources")):
        if any(os.path.relpath(folder, ROOT).startswith(s) for s in skip):
            continue
        for name in files:
            if not name.endswith(".swift"):
                continue
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            literals = re.findall(r'StateKey\(\s*"((?:[^"\\]|\\.)*)"', text)
            literals += re.findall(r'Partition\s*=\s*"([^"]+)"', text)
            literals += re.findall(r'Partition\([^)]*\)\s*->\s*String\s*\{\s*"((?:[^"\\]|\\.)*)"', text)
            for literal in literals:
                head = literal.split("\\(")[0]
                if head:
                    partitions.add(head + ("*" if "\\(" in literal else ""))
    return partitions


def check_leading_keys(template, f):
    """Every role with DynamoDB access is limited by dynamodb:LeadingKeys, and every partition the code builds is
    allowed to at least one role (a new partition without a grant fails here before it fails on AWS)."""
    from fnmatch import fnmatchcase
    granted = set()
    for name, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for policy in (resource.get("Properties") or {}).get("Policies", []) or []:
            for statement in as_list(policy.get("PolicyDocument", {}).get("Statement", [])):
                if not any(str(a).startswith("dynamodb:") for a in as_list(statement.get("Action", []))):
                    continue
                keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                f.expect(bool(keys), f"{name} statement {statement.get('Sid')}",
                         "DynamoDB access must be limited with ForAllValues:StringLike dynamodb:LeadingKeys")
                granted |= set(as_list(keys or []))
    for partition in sorted(code_partitions()):
        probe = partition.replace("*", "x")
        f.expect(any(fnmatchcase(probe, pattern) for pattern in granted), "dynamodb:LeadingKeys",
                 f"partition {partition!r} built by the code is granted to no role; add it to the roles that use it")


# Resource types that stay untagged on purpose: moto 5.2.5 cannot create an AWS::KMS::Key with CloudFormation tags
# (it reads them as its API's TagKey/TagValue), and the deploy tests run the real template against moto.
UNTAGGED = {"AWS::KMS::Key"}


def check_tags(template, f):
    for name, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") in UNTAGGED:
            continue
        key = has_tags(resource.get("Type", ""))
        if key is None:
            continue
        props = resource.get("Properties", {}) or {}
        keys = tag_keys(props.get(key))
        missing = {"project", "stage"} - keys
        f.expect(not missing, name, f"{key} lacks cost-allocation tag(s) {sorted(missing)}")
        compute = props.get("ComputeResources")
        if isinstance(compute, dict):
            missing = {"project", "stage"} - tag_keys(compute.get("Tags"))
            f.expect(not missing, name, f"ComputeResources.Tags (instances) lack {sorted(missing)}")


def main(argv):
    policy_only = "--policy-only" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    findings = []
    for path in paths:
        f = Findings(path)
        template, matches = decode(path)
        if template is None:
            for match in matches:
                f.add("parse", str(match))
            findings.extend(f.items)
            continue
        lines = open(path).read().splitlines()
        check_policies(template, lines, f)
        if not policy_only:
            check_tags(template, f)
            if "DataBucket" in (template.get("Resources") or {}):
                check_structure(template, f)
                check_leading_keys(template, f)
        findings.extend(f.items)
    for item in findings:
        print(item)
    if findings:
        print(f"{len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"ok: {', '.join(os.path.relpath(p, ROOT) for p in paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
