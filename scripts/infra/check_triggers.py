#!/usr/bin/env python3
"""Proves the stack's triggers against the sample events in events/, evaluated from the template itself.

Usage: check_triggers.py [TEMPLATE]   (default infra/stack.yaml)

- Every AWS::Events::Rule with an EventPattern: the pattern is read from the template, its intrinsics resolved for
  one deployment (below), and evaluated with moto's EventBridge pattern matcher (moto.events.models.EventPattern, an
  implementation independent of this repository). It must match the samples the rule is meant for and reject every
  other sample in events/ plus near misses (other statuses, another stack's queue, another source).
- A schedule rule (no pattern) must carry only a ScheduleExpression and target its function.
- The S3 notification filters (prefix/suffix, S3's own semantics) must match uploads under raw/ with a media suffix
  and nothing the pipeline itself writes (runs/, state/, control/, manifests, receipts); no role may write under raw/.
- Every AWS::Lambda::Permission names its SourceArn, and it is the trigger that invokes that function; the S3 one also
  names SourceAccount.

The deployment used to resolve intrinsics: account and region of the samples, the Spot queue named in
events/job-done.json, the On-Demand queue next to it. Exit status 0 when every expectation holds, 1 otherwise.
"""
import copy
import glob
import json
import os
import re
import sys

from cfnlint.decode import decode
from moto.events.models import EventPattern, EventPatternParser

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EVENTS = os.path.join(ROOT, "events")

# Which rule each sample is meant for (every other rule must reject it). Samples not listed are meant for no rule.
MEANT_FOR = {
    "BatchJobStateRule": ["job-done.json", "job-failed-host-ec2.json", "job-runnable-timeout.json"],
}
SCHEDULE_RULES = {"SweeperScheduleRule": ("SweeperFunction", "scheduled.json")}
# Lambda permission -> (function, principal, the trigger its SourceArn must name)
PERMISSIONS = {
    "IngestS3Permission": ("IngestFunction", "s3.amazonaws.com", "bucket"),
    "JobEventsPermission": ("JobEventsFunction", "events.amazonaws.com", {"Fn::GetAtt": ["BatchJobStateRule", "Arn"]}),
    "BudgetGuardPermission": ("BudgetGuardFunction", "sns.amazonaws.com", {"Ref": "BudgetTopic"}),
    "SweeperPermission": ("SweeperFunction", "events.amazonaws.com", {"Fn::GetAtt": ["SweeperScheduleRule", "Arn"]}),
}
UPLOADS = ["raw/cam01/DCIM/100MEDIA/IMG_0001.JPG", "raw/cam01/a.jpg", "raw/c/b.jpeg", "raw/c/B.JPEG", "raw/c/p.png",
           "raw/c/P.PNG", "raw/c/v.mp4", "raw/c/V.MP4", "raw/c/m.mov", "raw/c/M.MOV", "raw/c/x.avi", "raw/c/X.AVI"]
NOT_UPLOADS = ["runs/r1/manifest.jsonl", "runs/r1/stage1/0000000.jsonl", "runs/r1/stage3/media.csv",
               "runs/r1/stage3/preview.jpg", "state/sites.json", "state/teardowns/20260614-081244.json",
               "control/priority/cam01.json", "raw/cam01/notes.txt", "raw/cam01/IMG_0001.JPG.json",
               "cam01/IMG_0001.JPG", "rawx/IMG_0001.JPG", "raw/cam01/IMG_0001.Jpg"]


class Findings:
    def __init__(self):
        self.items = []
        self.checked = 0

    def expect(self, condition, message):
        self.checked += 1
        if not condition:
            self.items.append(message)


def load_events():
    events = {}
    for path in sorted(glob.glob(os.path.join(EVENTS, "*.json"))):
        with open(path) as handle:
            events[os.path.basename(path)] = json.load(handle)
    return events


def deployment(events):
    """Values for Ref/GetAtt/Sub, taken from the samples so that the deployed names are the samples' names."""
    spot = events["job-done.json"]["detail"]["jobQueue"]
    prefix, name = spot.rsplit("/", 1)
    on_demand = prefix + "/" + re.sub(r"spot$", "on-demand", name)
    region, account = spot.split(":")[3], spot.split(":")[4]
    return {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
            "SpotJobQueue": spot, "OnDemandJobQueue": on_demand}


def resolve(node, values, where):
    """Resolves the intrinsics an event pattern may use; anything else is a finding (so it gets looked at)."""
    if isinstance(node, list):
        return [resolve(item, values, where) for item in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            if node["Ref"] not in values:
                raise ValueError(f"{where}: cannot resolve Ref {node['Ref']} (add it to deployment())")
            return values[node["Ref"]]
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            def sub(match):
                if match.group(1) not in values:
                    raise ValueError(f"{where}: cannot resolve ${{{match.group(1)}}}")
                return values[match.group(1)]
            return re.sub(r"\$\{([^}!]+)\}", sub, node["Fn::Sub"])
        if any(key.startswith("Fn::") for key in node):
            raise ValueError(f"{where}: unsupported intrinsic {sorted(node)}")
        return {key: resolve(value, values, where) for key, value in node.items()}
    return node


def matcher(pattern):
    parsed = EventPatternParser(json.dumps(pattern)).parse()  # moto's validation of the pattern itself
    return EventPattern(json.dumps(pattern), parsed)


def near_misses(events, values):
    """Events a rule for our terminal Batch states must reject although they look alike."""
    done = events["job-done.json"]
    misses = {}
    for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"):
        event = copy.deepcopy(done)
        event["detail"]["status"] = status
        misses[f"job-done.json with status {status}"] = event
    other = copy.deepcopy(done)
    other["detail"]["jobQueue"] = values["SpotJobQueue"].rsplit("/", 1)[0] + "/someone-elses-queue"
    misses["job-done.json from another stack's queue"] = other
    source = copy.deepcopy(done)
    source["source"] = "custom.batch"
    misses["job-done.json from source custom.batch"] = source
    kind = copy.deepcopy(done)
    kind["detail-type"] = "Batch Job Queue Blocked"
    misses["job-done.json with detail-type Batch Job Queue Blocked"] = kind
    return misses


def near_hits(events, values):
    """Variants a rule must still match: the On-Demand queue (fallbacks, Hugin)."""
    hits = {}
    for name in MEANT_FOR["BatchJobStateRule"]:
        event = copy.deepcopy(events[name])
        event["detail"]["jobQueue"] = values["OnDemandJobQueue"]
        hits[f"{name} on the On-Demand queue"] = event
    return hits


def check_rules(template, events, f):
    resources = template.get("Resources") or {}
    values = deployment(events)
    rules = {name: r for name, r in resources.items() if r.get("Type") == "AWS::Events::Rule"}
    f.expect(set(rules) == set(MEANT_FOR) | set(SCHEDULE_RULES),
             f"EventBridge rules {sorted(rules)} != the rules this check knows {sorted(set(MEANT_FOR) | set(SCHEDULE_RULES))}: "
             "add the new rule's samples to MEANT_FOR or SCHEDULE_RULES")
    summary = []
    for name, rule in sorted(rules.items()):
        props = rule.get("Properties") or {}
        if name in SCHEDULE_RULES:
            function, sample = SCHEDULE_RULES[name]
            f.expect("EventPattern" not in props and "ScheduleExpression" in props,
                     f"{name}: a schedule rule must have a ScheduleExpression and no EventPattern")
            f.expect([t.get("Arn") for t in props.get("Targets", [])] == [{"Fn::GetAtt": [function, "Arn"]}],
                     f"{name}: must target {function} only")
            scheduled = events[sample]
            f.expect(scheduled.get("source") == "aws.events" and scheduled.get("detail-type") == "Scheduled Event",
                     f"{sample} is not an EventBridge Scheduled Event")
            continue
        if "EventPattern" not in props:
            f.expect(False, f"{name}: neither an EventPattern nor a known schedule rule")
            continue
        try:
            pattern = resolve(props["EventPattern"], values, name)
            match = matcher(pattern)
        except Exception as error:  # an unresolvable intrinsic or a pattern moto rejects
            f.expect(False, f"{name}: {error}")
            continue
        meant = MEANT_FOR.get(name, [])
        hits = {sample: events[sample] for sample in meant}
        hits.update(near_hits(events, values) if name == "BatchJobStateRule" else {})
        misses = {sample: event for sample, event in events.items() if sample not in meant}
        misses.update(near_misses(events, values) if name == "BatchJobStateRule" else {})
        for label, event in hits.items():
            f.expect(match.matches_event(event), f"{name}: pattern {json.dumps(pattern)} does not match {label}")
        for label, event in misses.items():
            f.expect(not match.matches_event(event), f"{name}: pattern {json.dumps(pattern)} matches {label}, which it must reject")
        summary.append(f"{name}: {len(hits)} matched, {len(misses)} rejected")
    return summary


def check_s3_filters(template, f):
    resources = template.get("Resources") or {}
    bucket = (resources.get("DataBucket") or {}).get("Properties") or {}
    configs = bucket.get("NotificationConfiguration", {}).get("LambdaConfigurations", [])
    f.expect(bool(configs), "DataBucket: no Lambda notification")
    filters = []
    for config in configs:
        rules = {r.get("Name", "").lower(): r.get("Value", "") for r in config.get("Filter", {}).get("S3Key", {}).get("Rules", [])}
        filters.append((rules.get("prefix", ""), rules.get("suffix", "")))
    for kind in ("Queue", "Topic"):
        f.expect(not bucket.get("NotificationConfiguration", {}).get(f"{kind}Configurations"),
                 f"DataBucket: unexpected {kind}Configurations (only ingest is triggered)")

    def triggers(key):  # S3: the key must start with the prefix and end with the suffix (case-sensitive)
        return any(key.startswith(prefix) and key.endswith(suffix) for prefix, suffix in filters)

    for key in UPLOADS:
        f.expect(triggers(key), f"DataBucket notification: upload {key!r} does not trigger ingest")
    for key in NOT_UPLOADS:
        f.expect(not triggers(key), f"DataBucket notification: {key!r} triggers ingest, which it must not")
    f.expect(all(prefix == "raw/" for prefix, _ in filters), f"DataBucket notification prefixes {sorted({p for p, _ in filters})} != raw/")
    # Nothing the pipeline writes may land under raw/ (it would trigger ingest again).
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for policy in (resource.get("Properties") or {}).get("Policies", []):
            for statement in policy.get("PolicyDocument", {}).get("Statement", []):
                actions = statement.get("Action") if isinstance(statement.get("Action"), list) else [statement.get("Action")]
                if statement.get("Effect") == "Allow" and "s3:PutObject" in actions:
                    f.expect("/raw/" not in json.dumps(statement.get("Resource")),
                             f"{name}: may write under raw/ (statement {statement.get('Sid')}), which re-triggers ingest")
    return [f"S3 filter: {len(UPLOADS)} uploads trigger, {len(NOT_UPLOADS)} other keys do not"]


def check_permissions(template, f):
    resources = template.get("Resources") or {}
    permissions = {n: r for n, r in resources.items() if r.get("Type") == "AWS::Lambda::Permission"}
    f.expect(set(permissions) == set(PERMISSIONS), f"Lambda permissions {sorted(permissions)} != {sorted(PERMISSIONS)}")
    bucket_arn = "arn:${AWS::Partition}:s3:::${Project}-${Stage}-data-${AWS::AccountId}-${AWS::Region}"
    for name, (function, principal, source) in PERMISSIONS.items():
        props = (permissions.get(name) or {}).get("Properties") or {}
        f.expect(props.get("FunctionName") == {"Fn::GetAtt": [function, "Arn"]}, f"{name}: must be for {function}")
        f.expect(props.get("Principal") == principal, f"{name}: principal must be {principal}")
        f.expect(props.get("Action") == "lambda:InvokeFunction", f"{name}: action must be lambda:InvokeFunction")
        if source == "bucket":
            f.expect(props.get("SourceArn") == {"Fn::Sub": bucket_arn}, f"{name}: SourceArn must be the data bucket's ARN")
            f.expect(props.get("SourceAccount") == {"Ref": "AWS::AccountId"}, f"{name}: SourceAccount must be the stack's account")
            bucket_name = ((resources.get("DataBucket") or {}).get("Properties") or {}).get("BucketName")
            f.expect(bucket_name == {"Fn::Sub": "${Project}-${Stage}-data-${AWS::AccountId}-${AWS::Region}"},
                     f"{name}: SourceArn must spell the bucket name DataBucket really has ({bucket_name})")
        else:
            f.expect(props.get("SourceArn") == source, f"{name}: SourceArn must be {source}, is {props.get('SourceArn')}")
    # The budget topic invokes budget-guard; the rules target the functions their permissions name.
    topic = ((resources.get("BudgetTopic") or {}).get("Properties") or {}).get("Subscription", [])
    f.expect(topic == [{"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["BudgetGuardFunction", "Arn"]}}],
             "BudgetTopic must invoke BudgetGuardFunction only")
    return [f"{len(permissions)} Lambda permissions name their source"]


def main(argv):
    path = argv[0] if argv else os.path.join(ROOT, "infra", "stack.yaml")
    template, matches = decode(path)
    if template is None:
        for match in matches:
            print(f"{path}: {match}")
        return 1
    events = load_events()
    f = Findings()
    summary = check_rules(template, events, f) + check_s3_filters(template, f) + check_permissions(template, f)
    for item in f.items:
        print(item)
    for line in summary:
        print(line)
    print(f"{f.checked} trigger expectations, {len(f.items)} failed ({os.path.relpath(path, ROOT) if path.startswith(ROOT) else path})")
    return 1 if f.items else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
