"""IAM for one request: the action(s), resource ARN(s) and condition keys an operation needs per the Service
Authorization Reference, and the evaluation of the caller's policy documents (rendered from infra/stack.yaml) plus
the resource policies of the target: explicit Deny wins, else an Allow in an identity or same-account resource
policy, else implicit deny."""

import fnmatch
import re

# IAM service prefix where it differs from the SigV4 signing name.
PREFIX = {"monitoring": "cloudwatch"}


class Requirement:
    def __init__(self, action, resource, context=None):
        self.action = action
        self.resource = resource
        self.context = context or {}

    def __repr__(self):
        return f"{self.action} on {self.resource}"


class Unsupported(Exception):
    """The policy uses something the evaluator does not implement: refused loudly, never guessed."""


# ---- operation -> requirements -----------------------------------------------------------------------------------

def requirements(model, operation, params, env):
    """env: region, account, partition, hash_keys {table name: partition key attribute}."""
    service = model.signing_name
    prefix = PREFIX.get(service, service)
    name = operation.name
    handler = _HANDLERS.get(service)
    if handler is not None:
        found = handler(name, params, env)
        if found is not None:
            return found
    if service == "sts" and name == "GetCallerIdentity":
        return []  # needs no permission (AWS always allows it)
    # Operations without a resource-level mapping here: the action against "*", which only a "*" grant allows.
    return [Requirement(f"{prefix}:{name}", "*")]


def _arn(env, service, rest, region=True):
    return f"arn:{env['partition']}:{service}:{env['region'] if region else ''}:{env['account']}:{rest}"


def _dynamodb(name, params, env):
    def table_arn(table, index=None):
        arn = table if table.startswith("arn:") else _arn(env, "dynamodb", f"table/{table}")
        return arn + (f"/index/{index}" if index else "")

    def leading(table, key=None, item=None, expression=None, values=None, names=None):
        hash_key = env["hash_keys"].get(table.split("/")[-1])
        context = {}
        if hash_key is None:
            return context
        source = key or item
        if source and hash_key in source:
            context["dynamodb:LeadingKeys"] = [_attribute_value(source[hash_key])]
        elif expression:
            for left, right in re.findall(r"(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)", expression):
                attribute = (names or {}).get(left, left)
                if attribute == hash_key and right in (values or {}):
                    context["dynamodb:LeadingKeys"] = [_attribute_value(values[right])]
        return context

    def single(action, params):
        table = params.get("TableName", "")
        context = leading(table, params.get("Key"), params.get("Item"), params.get("KeyConditionExpression"),
                          params.get("ExpressionAttributeValues"), params.get("ExpressionAttributeNames"))
        for key, member in (("dynamodb:ReturnValues", "ReturnValues"), ("dynamodb:Select", "Select")):
            if member in params:
                context[key] = [params[member]]
        return Requirement(action, table_arn(table, params.get("IndexName")), context)

    if name in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable",
                "DescribeTimeToLive", "UpdateTimeToLive", "UpdateTable", "DeleteTable", "CreateTable"):
        return [single(f"dynamodb:{name}", params)]
    if name == "TransactWriteItems":
        actions = {"ConditionCheck": "ConditionCheckItem", "Put": "PutItem", "Update": "UpdateItem",
                   "Delete": "DeleteItem"}
        return [single(f"dynamodb:{actions[kind]}", body) for item in params.get("TransactItems", [])
                for kind, body in item.items()]
    if name == "TransactGetItems":
        return [single("dynamodb:GetItem", item["Get"]) for item in params.get("TransactItems", [])]
    if name in ("BatchGetItem", "BatchWriteItem"):
        found = []
        for table, body in params.get("RequestItems", {}).items():
            entries = body.get("Keys", []) if name == "BatchGetItem" else body
            for entry in entries:
                key = entry if name == "BatchGetItem" else (entry.get("PutRequest", {}).get("Item")
                                                            or entry.get("DeleteRequest", {}).get("Key"))
                found.append(Requirement(f"dynamodb:{name}", table_arn(table), leading(table, key=key)))
        return found
    return None


def _attribute_value(value):
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value.values())))
    return str(value)


def _batch(name, params, env):
    def arn(kind, value):
        return value if value.startswith("arn:") else _arn(env, "batch", f"{kind}/{value}")

    if name == "SubmitJob":
        definition = params.get("jobDefinition", "")
        context = {}
        if "shareIdentifier" in params:
            context["batch:ShareIdentifier"] = [params["shareIdentifier"]]
        found = [Requirement("batch:SubmitJob", arn("job-queue", params.get("jobQueue", "")), context),
                 Requirement("batch:SubmitJob", arn("job-definition", definition), context)]
        if params.get("tags"):
            # Tag-on-create: batch:TagResource on the new job (its id is not known before the call).
            tags = {f"aws:RequestTag/{key}": [value] for key, value in params["tags"].items()}
            tags["aws:TagKeys"] = sorted(params["tags"])
            tags["batch:CreateAction"] = ["SubmitJob"]
            found.append(Requirement("batch:TagResource", arn("job", "<new-job-id>"), tags))
        return found
    if name in ("CancelJob", "TerminateJob"):
        return [Requirement(f"batch:{name}", arn("job", params.get("jobId", "")))]
    if name == "UpdateComputeEnvironment":
        return [Requirement(f"batch:{name}", arn("compute-environment", params.get("computeEnvironment", "")))]
    if name == "UpdateJobQueue":
        return [Requirement(f"batch:{name}", arn("job-queue", params.get("jobQueue", "")))]
    if name in ("TagResource", "UntagResource", "ListTagsForResource"):
        return [Requirement(f"batch:{name}", params.get("resourceArn", ""))]
    if name.startswith("Describe") or name.startswith("List"):
        return [Requirement(f"batch:{name}", "*")]
    return None


def _s3(name, params, env):
    bucket = params.get("Bucket", "")
    bucket_arn = f"arn:{env['partition']}:s3:::{bucket}"
    object_arn = f"{bucket_arn}/{params.get('Key', '')}"
    versioned = "VersionId" in params
    if name in ("GetObject", "HeadObject"):
        return [Requirement("s3:GetObjectVersion" if versioned else "s3:GetObject", object_arn)]
    if name in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        found = [Requirement("s3:PutObject", object_arn)]
        if params.get("Tagging"):
            found.append(Requirement("s3:PutObjectTagging", object_arn))
        if params.get("ACL"):
            found.append(Requirement("s3:PutObjectAcl", object_arn))
        return found
    if name == "CopyObject":
        source = params.get("CopySource", "").lstrip("/").split("?versionId=")[0]
        return [Requirement("s3:PutObject", object_arn),
                Requirement("s3:GetObject", f"arn:{env['partition']}:s3:::{source}")]
    if name == "DeleteObject":
        return [Requirement("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", object_arn)]
    if name == "DeleteObjects":
        return [Requirement("s3:DeleteObject", f"{bucket_arn}/{item.get('Key', '')}")
                for item in params.get("Delete", {}).get("Objects", [])]
    if name == "AbortMultipartUpload":
        return [Requirement("s3:AbortMultipartUpload", object_arn)]
    if name == "ListParts":
        return [Requirement("s3:ListMultipartUploadParts", object_arn)]
    if name in ("ListObjects", "ListObjectsV2", "HeadBucket", "ListObjectVersions", "ListMultipartUploads"):
        action = {"ListObjectVersions": "s3:ListBucketVersions",
                  "ListMultipartUploads": "s3:ListBucketMultipartUploads"}.get(name, "s3:ListBucket")
        context = {}
        for key, member in (("s3:prefix", "Prefix"), ("s3:delimiter", "Delimiter"), ("s3:max-keys", "MaxKeys")):
            if member in params:
                context[key] = [str(params[member])]
        return [Requirement(action, bucket_arn, context)]
    return [Requirement(f"s3:{name}", bucket_arn)]


def _sns(name, params, env):
    topic = params.get("TopicArn") or params.get("TargetArn")
    if name in ("Publish", "PublishBatch"):
        found = [Requirement("sns:Publish", topic or params.get("PhoneNumber", "*"))]
        key = env.get("topic_keys", {}).get(topic)
        if key:
            # Publishing to a topic encrypted with a customer managed key needs these on the key (SNS SSE docs).
            found += [Requirement("kms:GenerateDataKey", key), Requirement("kms:Decrypt", key)]
        return found
    if topic:
        return [Requirement(f"sns:{name}", topic)]
    return None


def _cloudwatch(name, params, env):
    if name == "PutMetricData":
        return [Requirement("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": [params.get("Namespace", "")]})]
    return None


def _cloudformation(name, params, env):
    stack = params.get("StackName")
    if stack:
        arn = stack if stack.startswith("arn:") else _arn(env, "cloudformation", f"stack/{stack}/*")
        return [Requirement(f"cloudformation:{name}", arn)]
    return None


def _sts(name, params, env):
    if name == "AssumeRole":
        return [Requirement("sts:AssumeRole", params.get("RoleArn", ""))]
    return None


def _budgets(name, params, env):
    if name in ("DescribeBudget", "DescribeBudgets", "DescribeBudgetPerformanceHistory"):
        budget = params.get("BudgetName")
        resource = f"arn:{env['partition']}:budgets::{params.get('AccountId', env['account'])}:budget/{budget}" \
            if budget else "*"
        return [Requirement("budgets:ViewBudget", resource)]
    return None


_HANDLERS = {"dynamodb": _dynamodb, "batch": _batch, "s3": _s3, "sns": _sns, "monitoring": _cloudwatch,
             "cloudformation": _cloudformation, "sts": _sts, "budgets": _budgets}


# ---- evaluation --------------------------------------------------------------------------------------------------

def _glob(pattern, value, ignore_case=False):
    if "${" in pattern:
        raise Unsupported(f"policy variable in {pattern!r}")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _arn_like(pattern, value):
    left, right = pattern.split(":", 5), value.split(":", 5)
    if len(left) != 6 or len(right) != 6:
        return _glob(pattern, value)
    return all(_glob(p, v) for p, v in zip(left, right))


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _compare(base, wanted, actual):
    wanted, actual = str(wanted), str(actual)
    if base == "StringEquals":
        return actual == wanted
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == wanted.lower()
    if base == "StringLike":
        return _glob(wanted, actual)
    if base in ("ArnEquals",):
        return actual == wanted
    if base in ("ArnLike",):
        return _arn_like(wanted, actual)
    if base == "Bool":
        return actual.lower() == wanted.lower()
    if base.startswith("Numeric"):
        a, w = float(actual), float(wanted)
        return {"NumericEquals": a == w, "NumericLessThan": a < w, "NumericLessThanEquals": a <= w,
                "NumericGreaterThan": a > w, "NumericGreaterThanEquals": a >= w}[base]
    raise Unsupported(f"condition operator {base}")


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
            "NumericNotEquals": "NumericEquals"}
_KNOWN = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "NumericEquals",
          "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"}


def _condition_block(operator, keys, context):
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            raise Unsupported(f"condition qualifier {qualifier}")
    if_exists = operator.endswith("IfExists")
    operator = operator[:-len("IfExists")] if if_exists else operator
    for key, wanted in keys.items():
        values = context.get(key) if key in context else context.get(key.lower())
        wanted = _as_list(wanted)
        if operator == "Null":
            if (values is None or values == []) != (str(wanted[0]).lower() == "true"):
                return False
            continue
        negated = operator in _NEGATED
        base = _NEGATED.get(operator, operator)
        if base not in _KNOWN:
            raise Unsupported(f"condition operator {operator}")
        if values is None:
            if qualifier == "ForAllValues":
                continue  # vacuously true over an empty set
            if if_exists or negated:
                continue
            return False
        values = _as_list(values)

        def hit(actual):
            return any(_compare(base, item, actual) for item in wanted)
        if qualifier == "ForAllValues":
            ok = all((not hit(v)) if negated else hit(v) for v in values)
        elif qualifier == "ForAnyValue":
            ok = any((not hit(v)) if negated else hit(v) for v in values)
        else:
            ok = not any(hit(v) for v in values) if negated else any(hit(v) for v in values)
        if not ok:
            return False
    return True


def _matches(statement, requirement, context, principal):
    if "NotPrincipal" in statement:
        raise Unsupported("NotPrincipal")
    if "Principal" in statement and principal is not None:
        wanted = statement["Principal"]
        if wanted != "*":
            aws = [_account_root(item) for item in _as_list(wanted.get("AWS", []))] if isinstance(wanted, dict) else []
            if "*" not in aws and principal not in aws:
                return False
    if "Action" in statement:
        if not any(_glob(pattern, requirement.action, ignore_case=True) for pattern in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_glob(pattern, requirement.action, ignore_case=True) for pattern in _as_list(statement["NotAction"])):
            return False
    if "Resource" in statement:
        if not any(_glob(pattern, requirement.resource) for pattern in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(_glob(pattern, requirement.resource) for pattern in _as_list(statement["NotResource"])):
            return False
    for operator, keys in statement.get("Condition", {}).items():
        if not _condition_block(operator, keys, context):
            return False
    return True


def _account_root(principal):
    """A bare account id in a Principal means the account's root principal."""
    return f"arn:aws:iam::{principal}:root" if re.fullmatch(r"\d{12}", str(principal)) else principal


def evaluate_key(identity_documents, key_documents, requirement, global_context, principal, account):
    """KMS: the key policy decides. It allows the role directly, or it allows the account root, which enables IAM
    policies, and then the role's identity policy must allow too. An explicit Deny in either wins."""
    direct, direct_sids = evaluate([], key_documents, requirement, global_context, principal)
    root, _ = evaluate([], key_documents, requirement, global_context, f"arn:aws:iam::{account}:root")
    identity, identity_sids = evaluate(identity_documents, [], requirement, global_context, principal)
    if "explicit-deny" in (direct, identity):
        return "explicit-deny", direct_sids + identity_sids
    if direct == "allow":
        return "allow", direct_sids
    if root == "allow" and identity == "allow":
        return "allow", identity_sids
    return "implicit-deny", []


def evaluate(identity_documents, resource_documents, requirement, global_context, principal):
    """-> ("allow" | "explicit-deny" | "implicit-deny", [Sid of deciding statements])."""
    context = dict(global_context)
    context.update(requirement.context)
    allowed, denied = [], []
    for documents, is_resource in ((identity_documents, False), (resource_documents, True)):
        for document in documents:
            for statement in _as_list(document.get("Statement", [])):
                if _matches(statement, requirement, context, principal if is_resource else None):
                    (allowed if statement.get("Effect") == "Allow" else denied).append(statement.get("Sid", "?"))
    if denied:
        return "explicit-deny", denied
    if allowed:
        return "allow", allowed
    return "implicit-deny", []
