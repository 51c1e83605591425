"""infra/stack.yaml as the tests deploy it: the template's own IAM policy documents, rendered with the test's resource
names and ARNs. Intrinsics are resolved from the template itself (!Sub, !Ref, !GetAtt, !Join, !If, !Select, !Split,
!Equals, !Not, !And, !Or); a reference to a resource the test did not create resolves to an ARN that matches nothing
real (`arn:unresolved:...`), so a grant on it can never allow a call by accident."""

import re
import yaml

INTRINSICS = ["Sub", "Ref", "GetAtt", "Join", "If", "Select", "Split", "Equals", "Not", "And", "Or", "FindInMap",
              "Base64", "GetAZs", "ImportValue", "Condition"]


class _Loader(yaml.SafeLoader):
    pass


def _construct(tag):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {("Fn::" + tag) if tag not in ("Ref", "Condition") else tag: value}
    return construct


for _tag in INTRINSICS:
    _Loader.add_constructor("!" + _tag, _construct(_tag))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)


class RenderError(Exception):
    pass


class Renderer:
    """Resolves intrinsics with `parameters` (template parameters plus AWS::AccountId/Region/Partition) and
    `resources` ({logical id: {"Ref": value, "<Attribute>": value}}) given by the test."""

    def __init__(self, template, parameters, resources):
        self.template = template
        self.parameters = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        self.parameters.update(parameters)
        self.parameters.setdefault("AWS::Partition", "aws")
        self.parameters.setdefault("AWS::URLSuffix", "amazonaws.com")
        self.parameters["AWS::NoValue"] = _NO_VALUE
        self.resources = resources
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def ref(self, name):
        if name in self.parameters:
            if self.parameters[name] is None:
                raise RenderError(f"parameter {name} has no value: pass it in the stack registration")
            return self.parameters[name]
        return self.attribute(name, "Ref")

    def attribute(self, name, attribute):
        given = self.resources.get(name, {})
        if attribute in given:
            return given[attribute]
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise RenderError(f"unknown reference {name}.{attribute}")
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        region, account = self.parameters["AWS::Region"], self.parameters["AWS::AccountId"]
        partition = self.parameters["AWS::Partition"]
        # Attributes that follow from the template's own properties (names the template sets itself).
        if kind == "AWS::S3::Bucket" and "BucketName" in properties:
            bucket = self.resolve(properties["BucketName"])
            return {"Ref": bucket, "Arn": f"arn:{partition}:s3:::{bucket}"}.get(attribute, _unresolved(name, attribute))
        if kind == "AWS::DynamoDB::Table" and "TableName" in properties:
            table = self.resolve(properties["TableName"])
            return {"Ref": table, "Arn": f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"}.get(
                attribute, _unresolved(name, attribute))
        if kind == "AWS::Logs::LogGroup" and "LogGroupName" in properties:
            group = self.resolve(properties["LogGroupName"])
            return {"Ref": group, "Arn": f"arn:{partition}:logs:{region}:{account}:log-group:{group}:*"}.get(
                attribute, _unresolved(name, attribute))
        if kind == "AWS::SNS::Topic" and "TopicName" in properties:
            topic = self.resolve(properties["TopicName"])
            arn = f"arn:{partition}:sns:{region}:{account}:{topic}"
            return {"Ref": arn, "TopicArn": arn, "TopicName": topic}.get(attribute, _unresolved(name, attribute))
        return _unresolved(name, attribute)

    def resolve(self, node):
        if isinstance(node, list):
            return [value for value in (self.resolve(item) for item in node) if value is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
            if key == "Fn::GetAtt":
                name, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.attribute(name, attribute)
            if key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else (value[0], self.resolve(value[1]))
                def substitute(match):
                    expression = match.group(1)
                    if expression.startswith("!"):
                        return "${" + expression[1:] + "}"
                    if expression in local:
                        return str(local[expression])
                    if "." in expression and not expression.startswith("AWS::"):
                        return str(self.attribute(*expression.split(".", 1)))
                    return str(self.ref(expression))
                return re.sub(r"\$\{([^}]+)\}", substitute, text)
            if key == "Fn::Join":
                return value[0].join(str(item) for item in self.resolve(value[1]))
            if key == "Fn::Split":
                return self.resolve(value[1]).split(value[0])
            if key == "Fn::Select":
                return self.resolve(value[1])[int(self.resolve(value[0]))]
            if key == "Fn::If":
                return self.resolve(value[1] if self.condition(value[0]) else value[2])
            if key == "Fn::Equals":
                return self.resolve(value[0]) == self.resolve(value[1])
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::And":
                return all(self.resolve(item) for item in value)
            if key == "Fn::Or":
                return any(self.resolve(item) for item in value)
            if key.startswith("Fn::"):
                raise RenderError(f"intrinsic {key} is not supported by scripts/contract/template.py")
        return {key: item for key, item in ((k, self.resolve(v)) for k, v in node.items()) if item is not _NO_VALUE}


class _NoValue:
    def __repr__(self):
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def _unresolved(name, attribute):
    return f"arn:unresolved:{name}.{attribute}"


def roles(template):
    """{logical id: resource} of every AWS::IAM::Role in the template."""
    return {name: resource for name, resource in template.get("Resources", {}).items()
            if resource.get("Type") == "AWS::IAM::Role"}


def role_policies(renderer, logical_id):
    """The role's inline policies, rendered: [(policy name, document)]. Managed policy ARNs are refused (the
    evaluator could not see their statements)."""
    properties = renderer.template["Resources"][logical_id].get("Properties", {})
    if properties.get("ManagedPolicyArns"):
        raise RenderError(f"{logical_id} uses managed policies; the contract checker evaluates inline policies only")
    return [(policy["PolicyName"], renderer.resolve(policy["PolicyDocument"]))
            for policy in renderer.resolve(properties.get("Policies", []))]


def topic_keys(renderer):
    """{topic ARN: KMS key ARN} of the topics encrypted with a customer managed key (SSE with alias/aws/sns needs no
    grant from the publisher)."""
    found = {}
    for name, resource in renderer.template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") != "AWS::SNS::Topic" or "KmsMasterKeyId" not in properties:
            continue
        key = properties["KmsMasterKeyId"]
        if isinstance(key, dict) and "Ref" in key and key["Ref"] in renderer.template.get("Resources", {}):
            key_arn = renderer.attribute(key["Ref"], "Arn")
        else:
            key_arn = renderer.resolve(key)
        if str(key_arn) in ("alias/aws/sns", f"arn:{renderer.parameters['AWS::Partition']}:kms:"
                            f"{renderer.parameters['AWS::Region']}:{renderer.parameters['AWS::AccountId']}:alias/aws/sns"):
            continue
        found[renderer.attribute(name, "Ref")] = key_arn
    return found


def resource_policies(renderer):
    """Resource policies the template attaches: [(kind, target, document)] for buckets, topics and KMS keys."""
    found = []
    for name, resource in renderer.template.get("Resources", {}).items():
        kind = resource.get("Type")
        if "Condition" in resource and not renderer.condition(resource["Condition"]):
            continue
        properties = resource.get("Properties", {})
        if kind == "AWS::S3::BucketPolicy":
            found.append(("bucket", renderer.resolve(properties["Bucket"]), renderer.resolve(properties["PolicyDocument"])))
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in renderer.resolve(properties["Topics"]):
                found.append(("topic", topic, renderer.resolve(properties["PolicyDocument"])))
        elif kind == "AWS::KMS::Key" and "KeyPolicy" in properties:
            found.append(("key", renderer.attribute(name, "Arn"), renderer.resolve(properties["KeyPolicy"])))
    return found
