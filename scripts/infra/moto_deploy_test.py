#!/usr/bin/env python3
"""Deploy test of infra/artefacts.yaml + infra/stack.yaml against moto_server's CloudFormation, through boto3.

create (artefacts stack, stub zips under content-hash keys, main stack through a CREATE change set) -> check the
resources through each service's own API -> update through an UPDATE change set (log retention 14 -> 30 days)
-> read the stack events -> delete both stacks.

Needs MOTO_ENDPOINT (scripts/with-moto.sh sets it). Without it: exit 1 when CI=true, else exit 0 after saying it
skipped. Every run uses its own moto account (x-moto-account-id), so runs can share a server. moto ignores some
properties (bucket lifecycle/notifications, budgets, Batch updates; see ../shared/docs/local-aws.md): those are
asserted on the template by check_template.py instead.
"""
import base64
import hashlib
import io
import json
import os
import random
import sys
import time
import zipfile

import boto3
from botocore.config import Config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUNCTIONS = {"ingest": "IngestCodeKey", "job-events": "JobEventsCodeKey",
             "budget-guard": "BudgetGuardCodeKey", "sweeper": "SweeperCodeKey"}
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


def moto_ignores(value, what):
    """moto's CloudFormation drops some properties; check_template.py asserts them on the template instead."""
    if value:
        check(True, what)
    else:
        print(f"note {what}: dropped by moto's CloudFormation (asserted on the template by check_template.py)")


def clients(endpoint, account):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    made = {}

    def client(name):
        if name not in made:
            c = session.client(name, endpoint_url=endpoint, config=Config(retries={"max_attempts": 2}))
            c.meta.events.register("before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
            made[name] = c
        return made[name]
    return client


def wait_stack(cfn, name, want_suffix=("_COMPLETE", "_FAILED")):
    for _ in range(300):
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if status.endswith(want_suffix) and "IN_PROGRESS" not in status:
            return status
        time.sleep(0.2)
    return status


def stub_zip(name):
    """A real zip with a bootstrap script; deterministic bytes so the content hash is stable."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        archive.writestr(info, f"#!/bin/sh\necho {name}\n")
    return buffer.getvalue()


def params(mapping):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in mapping.items()]


def main():
    endpoint = os.environ.get("MOTO_ENDPOINT")
    if not endpoint:
        if os.environ.get("CI") == "true":
            print("MOTO_ENDPOINT is not set: run through scripts/with-moto.sh (make test)", file=sys.stderr)
            return 1
        print("skipped: MOTO_ENDPOINT is not set (run through scripts/with-moto.sh or make test)")
        return 0
    account = str(random.SystemRandom().randrange(10**11, 10**12))
    client = clients(endpoint, account)
    cfn, s3, iam, ec2 = client("cloudformation"), client("s3"), client("iam"), client("ec2")
    stage = "t" + account[-6:]
    print(f"moto account {account}, stage {stage}")

    # Prerequisites the real account has: a VPC with subnets, and (moto only) an explicit Batch service role.
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]

    # 1. artefacts stack
    art_name = f"odins-ravne-{stage}-artefacts"
    cfn.create_stack(StackName=art_name, TemplateBody=open(os.path.join(ROOT, "infra/artefacts.yaml")).read(),
                     Parameters=params({"Stage": stage}))
    check(wait_stack(cfn, art_name) == "CREATE_COMPLETE", "artefacts stack CREATE_COMPLETE")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=art_name)["Stacks"][0].get("Outputs", [])}
    artefacts = outputs.get("ArtefactsBucketName", "")
    check(artefacts == f"odins-ravne-{stage}-artefacts-{account}-us-east-1", f"artefacts bucket output {artefacts!r}")

    # 2. stub zips under content-hash keys
    keys = {}
    for name, param in FUNCTIONS.items():
        body = stub_zip(name)
        key = f"functions/{name}/{hashlib.sha256(body).hexdigest()}.zip"
        s3.put_object(Bucket=artefacts, Key=key, Body=body, ContentType="application/zip")
        keys[param] = key

    # 3. main stack through a CREATE change set
    stage_file = json.load(open(os.path.join(ROOT, "infra/parameters/dev.json")))
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stage_file}
    values.update({"Stage": stage, "ArtefactsBucketName": artefacts, "VpcId": vpc, "SubnetIds": subnet,
                   "WorkerImageUri": f"{account}.dkr.ecr.us-east-1.amazonaws.com/odins-ravne-worker:test",
                   "BatchServiceRoleArn": role, "BudgetAmount": "100", "BudgetWarnAmount": "50",
                   "BudgetStopAmount": "90", "ProfileJson": json.dumps({"stage": stage}), **keys,
                   # moto splits CommaDelimitedList values only when they are passed, not their defaults
                   "GpuInstanceTypes": "g4dn.xlarge,g4dn.2xlarge", "WorkerCommand": "munin-worker",
                   "HuginCommand": "hugin"})
    template = open(os.path.join(ROOT, "infra/stack.yaml")).read()
    name = f"odins-ravne-{stage}"
    cfn.create_change_set(StackName=name, ChangeSetName="create", ChangeSetType="CREATE", TemplateBody=template,
                          Parameters=params(values), Capabilities=["CAPABILITY_IAM"])
    change_set = cfn.describe_change_set(StackName=name, ChangeSetName="create")
    adds = {c["ResourceChange"]["LogicalResourceId"] for c in change_set.get("Changes", []) if c["ResourceChange"]["Action"] == "Add"}
    check({"DataBucket", "StateTable", "SpotComputeEnvironment", "IngestFunction"} <= adds,
          f"CREATE change set adds the core resources ({len(adds)} adds)")
    cfn.execute_change_set(StackName=name, ChangeSetName="create")
    status = wait_stack(cfn, name)
    check(status == "CREATE_COMPLETE", f"main stack {status}")
    if status != "CREATE_COMPLETE":
        for event in cfn.describe_stack_events(StackName=name)["StackEvents"][:10]:
            print("   ", event.get("LogicalResourceId"), event.get("ResourceStatus"), event.get("ResourceStatusReason"))
        return 1
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    out = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    if not out:
        # moto 5.2.5 builds no Outputs for a stack created through a change set (AWS does); read the physical ids.
        print("note: moto returned no stack Outputs after the change set; using ListStackResources physical ids")
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                    for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]}
        out = {"DataBucketName": physical.get("DataBucket"), "StateTableName": physical.get("StateTable"),
               "SpotComputeEnvironmentArn": physical.get("SpotComputeEnvironment"),
               "OnDemandComputeEnvironmentArn": physical.get("OnDemandComputeEnvironment"),
               "SpotJobQueueArn": physical.get("SpotJobQueue"), "OnDemandJobQueueArn": physical.get("OnDemandJobQueue"),
               "BudgetTopicArn": physical.get("BudgetTopic")}

    # 4. the resources, through each service's API
    data_bucket = out.get("DataBucketName", "")
    check(data_bucket == f"odins-ravne-{stage}-data-{account}-us-east-1", f"data bucket {data_bucket!r}")
    enc = s3.get_bucket_encryption(Bucket=data_bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    check(enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", "data bucket encrypted (AES256)")
    table = client("dynamodb").describe_table(TableName=out.get("StateTableName", "?"))["Table"]
    check(table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", "state table on-demand")
    check([k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"], "state table key pk/sk")
    batch = client("batch")
    ces = {ce["computeEnvironmentArn"]: ce for ce in batch.describe_compute_environments()["computeEnvironments"]}
    spot = ces.get(out.get("SpotComputeEnvironmentArn"), {}).get("computeResources", {})
    od = ces.get(out.get("OnDemandComputeEnvironmentArn"), {}).get("computeResources", {})
    check(spot.get("type") == "SPOT" and spot.get("allocationStrategy") == "SPOT_PRICE_CAPACITY_OPTIMIZED"
          and spot.get("bidPercentage") == 70 and spot.get("minvCpus") == 0, f"Spot CE {spot.get('type')} {spot.get('allocationStrategy')} bid {spot.get('bidPercentage')}")
    check(od.get("type") == "EC2" and od.get("allocationStrategy") == "BEST_FIT_PROGRESSIVE" and od.get("minvCpus") == 0,
          f"On-Demand CE {od.get('type')} {od.get('allocationStrategy')}")
    queues = {q["jobQueueArn"]: q for q in batch.describe_job_queues()["jobQueues"]}
    spot_q = queues.get(out.get("SpotJobQueueArn"), {})
    check([c["computeEnvironment"] for c in spot_q.get("computeEnvironmentOrder", [])] == [out.get("SpotComputeEnvironmentArn")],
          "Spot queue holds the Spot CE")
    moto_ignores(spot_q.get("schedulingPolicyArn"), "Spot queue schedulingPolicyArn")
    jds = batch.describe_job_definitions(jobDefinitionName=f"odins-ravne-{stage}-worker", status="ACTIVE")["jobDefinitions"]
    rules = jds[0].get("retryStrategy", {}).get("evaluateOnExit", []) if jds else []
    check([(r.get("onStatusReason") or r.get("onReason"), r["action"].upper()) for r in rules] == [("Host EC2*", "RETRY"), ("*", "EXIT")],
          f"worker retry rules {rules}")
    reqs = {r["type"]: r["value"] for r in (jds[0]["containerProperties"].get("resourceRequirements", []) if jds else [])}
    check(reqs.get("GPU") == "1", f"worker requests a GPU ({reqs})")
    moto_ignores(jds and jds[0].get("propagateTags"), "worker job definition propagateTags")
    lam = client("lambda")
    for fn in FUNCTIONS:
        config = lam.get_function_configuration(FunctionName=f"odins-ravne-{stage}-{fn}")
        env = config.get("Environment", {}).get("Variables", {})
        check(config["Runtime"] == "provided.al2023" and config["Handler"] == "bootstrap"
              and env.get("ODIN_STAGE") == stage and env.get("ODIN_TABLE") == out.get("StateTableName"),
              f"function {fn}: {config['Runtime']} {config['Handler']} {config.get('Architectures')} {config['MemorySize']} MB")
        dlq = config.get("DeadLetterConfig", {}).get("TargetArn", "")
        if dlq:
            check(dlq.endswith(f":odins-ravne-{stage}-async-failures"), f"function {fn}: dead-letter queue {dlq!r}")
        else:
            moto_ignores(dlq, f"function {fn} DeadLetterConfig")
    for fn, reserved in (("budget-guard", 2), ("sweeper", 1)):
        got = lam.get_function_concurrency(FunctionName=f"odins-ravne-{stage}-{fn}").get("ReservedConcurrentExecutions")
        if got is None:
            moto_ignores(got, f"{fn} reserved concurrency")
        else:
            check(got == reserved, f"{fn} reserved concurrency {got}")
    templates = client("ec2").describe_launch_templates(LaunchTemplateNames=[f"odins-ravne-{stage}-batch"])["LaunchTemplates"]
    data = client("ec2").describe_launch_template_versions(LaunchTemplateId=templates[0]["LaunchTemplateId"])[
        "LaunchTemplateVersions"][0]["LaunchTemplateData"] if templates else {}
    check(data.get("MetadataOptions", {}).get("HttpTokens") == "required"
          and int(data.get("MetadataOptions", {}).get("HttpPutResponseHopLimit", 0)) == 1
          and data.get("BlockDeviceMappings", [{}])[0].get("Ebs", {}).get("Encrypted") in (True, "true"),
          f"launch template: IMDSv2 required, hop limit 1, encrypted root ({data.get('MetadataOptions')})")
    notify_arn = next((t["TopicArn"] for t in client("sns").list_topics()["Topics"]
                       if t["TopicArn"].endswith(f":odins-ravne-{stage}-notify")), None)
    attributes = client("sns").get_topic_attributes(TopicArn=notify_arn)["Attributes"] if notify_arn else {}
    check(attributes.get("KmsMasterKeyId", "").startswith("arn:aws:kms:"), f"notify topic encrypted ({attributes.get('KmsMasterKeyId')})")
    alarms = {a["AlarmName"] for a in client("cloudwatch").describe_alarms(AlarmNamePrefix=f"odins-ravne-{stage}-")["MetricAlarms"]}
    if alarms:
        check({f"odins-ravne-{stage}-{n}" for n in ("ingest-errors", "budget-guard-errors", "async-failures")} <= alarms,
              f"error and dead-letter alarms {sorted(alarms)}")
    else:
        print("note: moto's CloudFormation creates no AWS::CloudWatch::Alarm (asserted on the template by check_template.py)")
    check(any(q.endswith(f"/odins-ravne-{stage}-async-failures") for q in client("sqs").list_queues().get("QueueUrls", [])),
          "dead-letter queue created")
    policy = json.loads(lam.get_policy(FunctionName=f"odins-ravne-{stage}-ingest")["Policy"])
    check(any(s.get("Principal", {}).get("Service") == "s3.amazonaws.com" for s in policy["Statement"]), "ingest invocable by S3")
    events = client("events")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    batch_rule = next((r for r in rules.values() if "aws.batch" in r.get("EventPattern", "")), None)
    check(batch_rule is not None, "EventBridge rule for Batch job state changes")
    if batch_rule:
        pattern = json.loads(batch_rule["EventPattern"])
        check(sorted(pattern["detail"]["jobQueue"]) == sorted([out["SpotJobQueueArn"], out["OnDemandJobQueueArn"]]),
              "rule filters to our queue ARNs")
        targets = events.list_targets_by_rule(Rule=batch_rule["Name"])["Targets"]
        check([t["Arn"].split(":")[-1] for t in targets] == [f"odins-ravne-{stage}-job-events"], "rule targets job-events")
    check(any(r.get("ScheduleExpression") == "rate(15 minutes)" for r in rules.values()), "sweeper schedule rule")
    logs = client("logs")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/odins-ravne-{stage}-")["logGroups"]}
    check(len(groups) == 4 and all(g.get("retentionInDays") == 14 for g in groups.values()),
          f"4 function log groups with 14-day retention ({[g.get('retentionInDays') for g in groups.values()]})")
    subs = client("sns").list_subscriptions_by_topic(TopicArn=out.get("BudgetTopicArn"))["Subscriptions"]
    check([s["Protocol"] for s in subs] == ["lambda"], "budget topic -> budget-guard subscription")

    # 5. update through a change set: new ingest code (a new content-hash key) and more memory for ingest
    body = stub_zip("ingest v2")
    new_key = f"functions/ingest/{hashlib.sha256(body).hexdigest()}.zip"
    s3.put_object(Bucket=artefacts, Key=new_key, Body=body, ContentType="application/zip")
    values["IngestCodeKey"] = new_key
    values["IngestMemorySize"] = "512"
    cfn.create_change_set(StackName=name, ChangeSetName="update", ChangeSetType="UPDATE", TemplateBody=template,
                          Parameters=params(values), Capabilities=["CAPABILITY_IAM"])
    changes = cfn.describe_change_set(StackName=name, ChangeSetName="update").get("Changes", [])
    # moto 5.2.5 diffs the template text only, so a parameter-only change set lists nothing (AWS lists
    # IngestFunction as Modify); the execution still applies the new parameters.
    print(f"note: UPDATE change set lists {len(changes)} change(s) under moto")
    cfn.execute_change_set(StackName=name, ChangeSetName="update")
    status = wait_stack(cfn, name)
    check(status == "UPDATE_COMPLETE", f"main stack {status}")
    config = lam.get_function_configuration(FunctionName=f"odins-ravne-{stage}-ingest")
    check(config["MemorySize"] == 512, f"ingest memory updated to {config['MemorySize']} MB")
    check(config["CodeSha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode(),
          "ingest code replaced by the new content-hash key")

    # 6. events
    events_ = cfn.describe_stack_events(StackName=name)["StackEvents"]
    statuses = {e["ResourceStatus"] for e in events_ if e["LogicalResourceId"] == name}
    check({"CREATE_COMPLETE", "UPDATE_COMPLETE"} <= statuses, f"stack events {sorted(statuses)}")

    # 7. delete (empty what the stacks own first, as make destroy will)
    for bucket in (data_bucket, artefacts):
        versions = s3.list_object_versions(Bucket=bucket)
        for item in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    for stack_name in (name, art_name):
        stack_id = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackId"]
        cfn.delete_stack(StackName=stack_name)
        status = wait_stack(cfn, stack_id)  # a deleted stack is found by id only
        check(status == "DELETE_COMPLETE", f"{stack_name} {status}")
    check(all(b["Name"] not in (data_bucket, artefacts) for b in s3.list_buckets()["Buckets"]), "buckets deleted")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
