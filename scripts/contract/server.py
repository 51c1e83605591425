"""The contract checker the tests' recording proxy asks about every request it forwards to moto.

  POST /stack   {"endpoint", "credentials": {"accessKeyId", "secretAccessKey"}, "parameters": {...},
                 "resources": {logical id: {"Ref": ..., "Arn": ...}}}
                -> creates every AWS::IAM::Role of infra/stack.yaml in that moto (the template's own inline policies,
                   rendered with the test's names), assumes each one and answers the temporary credentials per
                   function and per job definition, as the template assigns the roles:
                   {"functions": {"ingest": creds, ...}, "jobs": {"worker": creds, ...}, "roles": {...}}
  POST /check   {"method", "target", "headers": [[name, value]], "body": base64[, "expect": outcome]}
                -> {"allowed": bool, "violations": [...], "denied": [...], "role", "operation"}
                ("expect": "deny" | "violation" | "allow" marks a self-test request of the checker; counted apart;
                 "operator": true marks a CLI call on an operator's credentials: model validation, no IAM)
  GET  /totals  -> the run's totals.

Every checked call is appended to the recording (--record, JSON lines) that scripts/contract/report.py turns into
infra/README.md's per-role table. Run: python scripts/contract/server.py --port P --record FILE [--template T]."""

import argparse
import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import iam  # noqa: E402
import model  # noqa: E402
import template  # noqa: E402
import wire  # noqa: E402


class Checker:
    def __init__(self, template_path, record_path):
        self.template_path = template_path
        self.template = template.load(template_path)
        self.lock = threading.Lock()
        self.stacks = {}
        self.identities = {}
        self.record = open(record_path, "a", encoding="utf-8") if record_path else None
        self.totals = {"calls": 0, "validated": 0, "iamEvaluated": 0, "accessDenied": 0, "modelViolations": 0,
                       "unknownCallers": 0, "checkerErrors": 0, "stacks": 0, "selfTests": 0,
                       "selfTestsFailed": 0}

    # ---- stacks and roles ----------------------------------------------------------------------------------------

    def register(self, request):
        parameters = dict(request["parameters"])
        account, region = parameters["AWS::AccountId"], parameters["AWS::Region"]
        stack_id = f"{parameters['Project']}-{parameters['Stage']}"
        resources = dict(request.get("resources", {}))
        for logical in template.roles(self.template):
            # The roles' names and ARNs as created below, so policies that name a role (key policies) resolve.
            name = f"{stack_id}-{logical}"[:64]
            resources.setdefault(logical, {"Ref": name, "Arn": f"arn:aws:iam::{account}:role/{name}"})
        renderer = template.Renderer(self.template, parameters, resources)
        session = boto3.session.Session(aws_access_key_id=request["credentials"]["accessKeyId"],
                                        aws_secret_access_key=request["credentials"]["secretAccessKey"],
                                        region_name=region)
        endpoint = request["endpoint"]
        iam_client = session.client("iam", endpoint_url=endpoint)
        sts_client = session.client("sts", endpoint_url=endpoint)
        caller = sts_client.get_caller_identity()["Arn"]
        roles, policies = {}, {}
        for logical in template.roles(self.template):
            documents = template.role_policies(renderer, logical)
            policies[logical] = [document for _, document in documents]
            name = f"{stack_id}-{logical}"[:64]
            # moto cannot act as lambda.amazonaws.com or ecs-tasks.amazonaws.com: the test user assumes the role
            # instead. The trust policy is not what the contract checks; the permission policies are the template's.
            trust = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "sts:AssumeRole"}]}
            role = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
            if role["Arn"] != resources[logical]["Arn"]:
                raise template.RenderError(f"moto named {logical} {role['Arn']}, not {resources[logical]['Arn']}")
            for policy_name, document in documents:
                iam_client.put_role_policy(RoleName=name, PolicyName=policy_name,
                                           PolicyDocument=json.dumps(_moto_projection(document)))
            credentials = sts_client.assume_role(RoleArn=role["Arn"], RoleSessionName=logical)["Credentials"]
            roles[logical] = {"accessKeyId": credentials["AccessKeyId"],
                              "secretAccessKey": credentials["SecretAccessKey"],
                              "sessionToken": credentials["SessionToken"], "roleArn": role["Arn"]}
        hash_keys = {}
        for name, resource in self.template.get("Resources", {}).items():
            if resource.get("Type") == "AWS::DynamoDB::Table":
                properties = resource["Properties"]
                table = renderer.resolve(properties.get("TableName")) if "TableName" in properties else None
                for key in properties.get("KeySchema", []):
                    if key["KeyType"] == "HASH" and table:
                        hash_keys[table] = key["AttributeName"]
        stack = {"id": stack_id, "policies": policies, "resourcePolicies": template.resource_policies(renderer),
                 "env": {"region": region, "account": account, "partition": parameters.get("AWS::Partition", "aws"),
                         "hash_keys": hash_keys, "topic_keys": template.topic_keys(renderer)}}
        prefix = stack_id + "-"
        functions, jobs = {}, {}
        for name, resource in self.template.get("Resources", {}).items():
            properties = resource.get("Properties", {})
            if resource.get("Type") == "AWS::Lambda::Function":
                role = properties["Role"]["Fn::GetAtt"][0]
                function = renderer.resolve(properties["FunctionName"])
                functions[function[len(prefix):] if function.startswith(prefix) else function] = roles[role]
            elif resource.get("Type") == "AWS::Batch::JobDefinition":
                role = properties.get("ContainerProperties", {}).get("JobRoleArn", {}).get("Fn::GetAtt", [None])[0]
                definition = renderer.resolve(properties["JobDefinitionName"])
                if role:
                    jobs[definition[len(prefix):] if definition.startswith(prefix) else definition] = roles[role]
        with self.lock:
            self.stacks[stack_id] = stack
            for logical, credentials in roles.items():
                self.identities[credentials["accessKeyId"]] = (stack_id, logical, credentials["roleArn"])
            self.totals["stacks"] += 1
        return {"functions": functions, "jobs": jobs, "roles": roles}

    # ---- one request ---------------------------------------------------------------------------------------------

    def check(self, call):
        request = wire.Request(call["method"], call["target"], call["headers"], base64.b64decode(call["body"]))
        entry = {"role": None, "stack": None, "service": None, "operation": None, "requirements": [],
                 "violations": [], "denied": []}
        try:
            access_key, signing_name, _ = request.signing()
            entry["service"] = signing_name
            identity = self.identities.get(access_key)
            if call.get("operator"):
                entry["role"] = "operator"  # the CLI on an operator's credentials: model validation only
            elif identity is None:
                entry["violations"].append(
                    "caller is not one of infra/stack.yaml's roles (the test gave this process other credentials)")
            service, operation, params, unknown = wire.parse(request)
            entry["operation"] = operation.name
            entry["violations"] += [f"{operation.name}: {item} is not a member of the model's input" for item in unknown]
            entry["violations"] += model.validate(operation, params)
            entry["validated"] = True
            if identity is not None and not call.get("operator"):
                stack_id, logical, role_arn = identity
                stack = self.stacks[stack_id]
                entry["role"], entry["stack"] = logical, stack_id
                principal = role_arn
                global_context = {"aws:SecureTransport": ["true"], "aws:RequestedRegion": [stack["env"]["region"]],
                                  "aws:PrincipalArn": [role_arn], "aws:PrincipalAccount": [stack["env"]["account"]]}
                for requirement in iam.requirements(service, operation, params, stack["env"]):
                    resource_docs = [document for kind, target, document in stack["resourcePolicies"]
                                     if _applies(kind, target, requirement)]
                    if requirement.action.startswith("kms:") and resource_docs:
                        verdict, sids = iam.evaluate_key(stack["policies"][logical], resource_docs, requirement,
                                                         global_context, principal, stack["env"]["account"])
                    else:
                        verdict, sids = iam.evaluate(stack["policies"][logical], resource_docs, requirement,
                                                     global_context, principal)
                    entry["requirements"].append({"action": requirement.action, "resource": requirement.resource,
                                                  "verdict": verdict, "statements": sids})
                    if verdict != "allow":
                        entry["denied"].append(f"{requirement.action} on {requirement.resource} ({verdict})")
                entry["iamEvaluated"] = True
        except (wire.WireError, iam.Unsupported, ValueError, KeyError) as error:
            entry["violations"].append(f"checker: {type(error).__name__}: {error}")
            entry["checkerError"] = True
        expected = call.get("expect")
        if expected is not None:
            # A self-test request of the checker (ContractCheckerTests): it must be rejected the stated way (or pass,
            # for "allow"). It is counted apart and never in the product's totals or the per-role table.
            found = ({"deny"} if entry["denied"] else set()) | ({"violation"} if entry["violations"] else set())
            outcome = expected if expected in found else "allow" if not found else "/".join(sorted(found))
            entry["expected"] = expected
            if outcome != expected:
                print(f"contract: self-test {entry['role']} {entry['operation']}: expected {expected}, got {outcome} "
                      f"({'; '.join(entry['denied'] + entry['violations'])})", file=sys.stderr, flush=True)
            with self.lock:
                self.totals["selfTests"] += 1
                self.totals["selfTestsFailed"] += 0 if outcome == expected else 1
                if self.record:
                    self.record.write(json.dumps(entry, sort_keys=True) + "\n")
                    self.record.flush()
            return {"allowed": not entry["denied"], "violations": entry["violations"], "denied": entry["denied"],
                    "role": entry["role"], "operation": entry["operation"], "outcome": outcome}
        with self.lock:
            totals = self.totals
            totals["calls"] += 1
            totals["validated"] += 1 if entry.get("validated") else 0
            totals["iamEvaluated"] += 1 if entry.get("iamEvaluated") else 0
            totals["accessDenied"] += 1 if entry["denied"] else 0
            totals["modelViolations"] += 1 if entry["violations"] and not entry.get("checkerError") else 0
            totals["checkerErrors"] += 1 if entry.get("checkerError") else 0
            totals["unknownCallers"] += 1 if entry["role"] is None and not entry.get("checkerError") else 0
            if self.record:
                self.record.write(json.dumps(entry, sort_keys=True) + "\n")
                self.record.flush()
            if entry["denied"] or entry["violations"]:
                print(f"contract: {entry['role']} {entry['service']} {entry['operation']}: "
                      f"{'; '.join(entry['denied'] + entry['violations'])}", file=sys.stderr, flush=True)
        return {"allowed": not entry["denied"], "violations": entry["violations"], "denied": entry["denied"],
                "role": entry["role"], "operation": entry["operation"]}


def _moto_projection(document):
    """The document as moto can enforce it: moto evaluates non-S3 calls against resource "*" only, spells Batch REST
    actions in lower case, CloudWatch's with the signing name (`monitoring:`) and DynamoDB transactions with the
    operation's name (no IAM action: AWS checks each item's), and knows few condition operators.
    So moto gets each Allow statement's actions (in those spellings too) on "*" without conditions: it enforces the
    action level, and this checker (iam.evaluate over the unmodified document) enforces resources and conditions."""
    statements = []
    for statement in iam._as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        actions = []
        for action in iam._as_list(statement["Action"]):
            prefix, _, name = action.partition(":")
            actions += [action, f"{prefix}:{name.lower()}"]
            if prefix == "cloudwatch":
                actions += [f"monitoring:{name}", f"monitoring:{name.lower()}"]
            # AWS authorises a transaction per contained item action (iam.requirements evaluates each item);
            # moto checks the operation's own name, which no IAM action spells.
            if prefix == "dynamodb" and name in ("PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"):
                actions.append("dynamodb:TransactWriteItems")
            if prefix == "dynamodb" and name == "GetItem":
                actions.append("dynamodb:TransactGetItems")
        statements.append({"Effect": "Allow", "Action": sorted(set(actions)), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _applies(kind, target, requirement):
    if kind == "bucket":
        return requirement.action.startswith("s3:") and (
            requirement.resource == f"arn:aws:s3:::{target}" or requirement.resource.startswith(
                f"arn:aws:s3:::{target}/"))
    if kind in ("topic", "key"):
        return requirement.resource == target
    return False


def serve(checker, port):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/totals":
                with checker.lock:
                    self.reply(200, dict(checker.totals))
            else:
                self.reply(404, {"error": "unknown path"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            data = json.loads(self.rfile.read(length) or b"{}")
            try:
                if self.path == "/check":
                    self.reply(200, checker.check(data))
                elif self.path == "/stack":
                    self.reply(200, checker.register(data))
                else:
                    self.reply(404, {"error": "unknown path"})
            except Exception as error:  # reported to the test, which fails
                self.reply(500, {"error": f"{type(error).__name__}: {error}"})

    class Server(ThreadingHTTPServer):
        # Parallel tests open many connections at once; the default backlog of 5 drops some of them.
        request_queue_size = 512
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", default=None)
    parser.add_argument("--template", default=os.path.join(os.path.dirname(__file__), "..", "..", "infra",
                                                          "stack.yaml"))
    arguments = parser.parse_args()
    serve(Checker(arguments.template, arguments.record), arguments.port)


if __name__ == "__main__":
    main()
