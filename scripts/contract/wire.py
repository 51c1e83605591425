"""A raw HTTP request as the product sent it -> (service model, operation model, input params), guided by botocore's
own model of the operation for the request's protocol (json, rest-json, query, ec2, rest-xml). Anything the model
does not name (an unknown JSON member, form key or query parameter) is reported, never dropped silently."""

import base64
import datetime
import json
import re
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.session

_SESSION = botocore.session.get_session()
_MODELS = {}
# SigV4 signing name -> botocore service name, where they differ.
SIGNING_TO_SERVICE = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}


class WireError(Exception):
    """The request does not fit its service's model at all (no operation, undecodable body)."""


def service_model(signing_name):
    name = SIGNING_TO_SERVICE.get(signing_name, signing_name)
    if name not in _MODELS:
        model = _SESSION.get_service_model(name)
        if model.signing_name != signing_name:
            raise WireError(f"SigV4 signing name {signing_name!r} is not {name}'s ({model.signing_name!r})")
        _MODELS[name] = model
    return _MODELS[name]


class Request:
    def __init__(self, method, target, headers, body):
        self.method = method.upper()
        path, _, query = target.partition("?")
        self.path = path
        self.raw_query = query
        self.query = urllib.parse.parse_qsl(query, keep_blank_values=True)
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body

    def signing(self):
        """(access key id, signing service, region) from the Authorization header's credential scope."""
        auth = self.headers.get("authorization", "")
        # A presigned URL carries the credential scope in its query string instead.
        presigned = dict(self.query).get("X-Amz-Credential", "")
        match = re.search(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request", auth) or \
            re.fullmatch(r"([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request", presigned)
        if not match:
            raise WireError("request is not SigV4-signed (no Authorization header, no X-Amz-Credential)")
        return match.group(1), match.group(4), match.group(3)


def parse(request):
    """-> (service model, operation model, params, unknown: [member path])."""
    _, signing_name, _ = request.signing()
    model = service_model(signing_name)
    target = request.headers.get("x-amz-target")
    content_type = request.headers.get("content-type", "")
    if target:
        if "json" not in model.metadata.get("protocols", [model.protocol]):
            raise WireError(f"{model.service_name} does not speak the JSON protocol (X-Amz-Target {target})")
        prefix, _, name = target.rpartition(".")
        if prefix != model.metadata.get("targetPrefix"):
            raise WireError(f"X-Amz-Target prefix {prefix!r} is not {model.metadata.get('targetPrefix')!r}")
        operation = _operation(model, name)
        unknown = []
        data = json.loads(request.body or b"{}")
        params = _from_json(operation.input_shape, data, "", unknown)
        return model, operation, params, unknown
    if "smithy-protocol" in request.headers:
        raise WireError("smithy-rpc-v2-cbor requests are not decoded by the contract checker")
    protocol = model.protocol
    if protocol in ("query", "ec2") or (content_type.startswith("application/x-www-form-urlencoded")
                                       and "query" in model.metadata.get("protocols", [])):
        form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)) if request.body \
            else dict(request.query)
        name = form.pop("Action", None)
        version = form.pop("Version", None)
        if name is None:
            raise WireError("query request without Action")
        if version != model.api_version:
            raise WireError(f"Version {version!r} is not {model.service_name}'s API version {model.api_version}")
        operation = _operation(model, name)
        consumed = set()
        params = _from_query(operation.input_shape, form, "", consumed, ec2=protocol == "ec2")
        unknown = sorted(set(form) - consumed)
        return model, operation, params, unknown
    if protocol in ("rest-json", "rest-xml"):
        return _from_rest(model, request)
    raise WireError(f"protocol {protocol} of {model.service_name} is not decoded by the contract checker")


def _operation(model, name):
    if name not in model.operation_names:
        raise WireError(f"{model.service_name} has no operation {name!r}")
    return model.operation_model(name)


# ---- scalars -----------------------------------------------------------------------------------------------------

def _scalar(shape, text, path, unknown):
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                unknown.append(f"{path} (boolean {text!r})")
                return text
            return text == "true"
        if kind == "timestamp":
            return _timestamp(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        unknown.append(f"{path} (not a {kind}: {text!r})")
        return text
    return text


def _timestamp(value):
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    try:
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
    except ValueError:
        pass
    for parse in (lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00")),
                  lambda v: datetime.datetime.strptime(v, "%a, %d %b %Y %H:%M:%S GMT")):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValueError(value)


# ---- JSON bodies (json, rest-json) -------------------------------------------------------------------------------

def _json_name(name, member):
    return member.serialization.get("name", name)


def _from_json(shape, data, path, unknown):
    if shape is None:
        if data:
            unknown.append(f"{path or '<body>'} (operation takes no input)")
        return {}
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(data, dict):
            return data
        names = {_json_name(name, member): (name, member) for name, member in shape.members.items()
                 if member.serialization.get("location") is None}
        params = {}
        for key, value in data.items():
            if key not in names:
                unknown.append(f"{path}.{key}".lstrip("."))
                continue
            name, member = names[key]
            params[name] = _from_json(member, value, f"{path}.{name}".lstrip("."), unknown)
        return params
    if kind == "list":
        return [_from_json(shape.member, item, f"{path}[{i}]", unknown) for i, item in enumerate(data)] \
            if isinstance(data, list) else data
    if kind == "map":
        return {key: _from_json(shape.value, value, f"{path}.{key}", unknown) for key, value in data.items()} \
            if isinstance(data, dict) else data
    if kind == "timestamp" and isinstance(data, (int, float, str)):
        try:
            return _timestamp(data)
        except ValueError:
            unknown.append(f"{path} (not a timestamp: {data!r})")
            return data
    if kind == "blob" and isinstance(data, str):
        return _scalar(shape, data, path, unknown)
    return data


# ---- query and ec2 forms -----------------------------------------------------------------------------------------

def _query_name(name, member, ec2):
    if ec2:
        if "queryName" in member.serialization:
            return member.serialization["queryName"]
        if "name" in member.serialization:
            located = member.serialization["name"]
            return located[0].upper() + located[1:]
        return name
    return member.serialization.get("name", name)


def _from_query(shape, form, prefix, consumed, ec2):
    params = {}
    if shape is None:
        return params
    for name, member in shape.members.items():
        key = prefix + _query_name(name, member, ec2)
        value = _query_value(member, form, key, consumed, ec2)
        if value is not None:
            params[name] = value
    return params


def _present(form, key):
    return key in form or any(name.startswith(key + ".") for name in form)


def _query_value(shape, form, key, consumed, ec2):
    kind = shape.type_name
    if kind == "structure":
        if not any(name.startswith(key + ".") for name in form):
            return None
        return _from_query(shape, form, key + ".", consumed, ec2)
    if kind == "list":
        if key in form and form[key] == "":
            consumed.add(key)
            return []
        if ec2 or shape.serialization.get("flattened"):
            base = key
            if not ec2 and shape.member.serialization.get("name"):
                base = ".".join(key.split(".")[:-1] + [shape.member.serialization["name"]])
        else:
            base = f"{key}.{shape.member.serialization.get('name', 'member')}"
        items, index = [], 1
        while _present(form, f"{base}.{index}"):
            items.append(_query_value(shape.member, form, f"{base}.{index}", consumed, ec2))
            index += 1
        return items if items else None
    if kind == "map":
        base = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        entries, index = {}, 1
        while _present(form, f"{base}.{index}.{key_name}"):
            consumed.add(f"{base}.{index}.{key_name}")
            entries[form[f"{base}.{index}.{key_name}"]] = _query_value(
                shape.value, form, f"{base}.{index}.{value_name}", consumed, ec2)
            index += 1
        return entries if entries else None
    if key not in form:
        return None
    consumed.add(key)
    return _scalar(shape, form[key], key, [])


# ---- REST (rest-json, rest-xml) ----------------------------------------------------------------------------------

def _uri_pattern(request_uri):
    path, _, query = request_uri.partition("?")
    labels = []

    def label(match):
        name = match.group(1).replace("\\", "")
        greedy = name.endswith("+")
        labels.append(name.rstrip("+"))
        return "(.+)" if greedy else "([^/]+)"
    regex = "^" + re.sub(r"\\\{([^}]+)\\\}", label, re.escape(path)) + "$"
    literal = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    literal.pop("x-id", None)
    return re.compile(regex), labels, literal


def _match_operation(model, request):
    query_keys = {key for key, _ in request.query}
    best = None
    for name in model.operation_names:
        operation = model.operation_model(name)
        if operation.http.get("method") != request.method:
            continue
        regex, labels, literal = _uri_pattern(operation.http["requestUri"])
        match = regex.match(request.path)
        if not match:
            continue
        if any(key not in query_keys or (value and dict(request.query).get(key) != value)
               for key, value in literal.items()):
            continue
        required = _required_located_present(operation, request, query_keys)
        if required is None:
            continue
        score = (len(literal), required, -len(labels))
        if best is None or score > best[0]:
            best = (score, operation, dict(zip(labels, match.groups())))
    if best is None:
        raise WireError(f"no {model.service_name} operation for {request.method} {request.path}?{request.raw_query}")
    return best[1], best[2], best[0][0]


def _required_located_present(operation, request, query_keys):
    """Operations sharing a URI are told apart by their required headers and query members (CopyObject needs
    x-amz-copy-source, UploadPart needs partNumber and uploadId): None when one is missing, else how many matched
    (the operation that names more of the request wins)."""
    shape = operation.input_shape
    if shape is None:
        return 0
    count = 0
    for name in shape.required_members:
        member = shape.members[name]
        location = member.serialization.get("location")
        located = member.serialization.get("name", name)
        if location == "header":
            if located.lower() not in request.headers:
                return None
            count += 1
        if location == "querystring":
            if located not in query_keys:
                return None
            count += 1
    return count


def _from_rest(model, request):
    path = request.path
    host = request.headers.get("host", "")
    if model.service_name == "s3" and re.match(r"^[a-z0-9-]+\.(s3[.-]|localhost|127\.)", host):
        # Virtual-hosted style: the bucket is the first label of the host.
        path = "/" + host.split(".", 1)[0] + (path if path != "/" else "")
    request = Request(request.method, path + ("?" + request.raw_query if request.raw_query else ""),
                      list(request.headers.items()), request.body)
    operation, labels, _ = _match_operation(model, request)
    shape = operation.input_shape
    unknown, params = [], {}
    if shape is None:
        return model, operation, params, unknown
    _, _, literal = _uri_pattern(operation.http["requestUri"])
    query_members = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        located = member.serialization.get("name", name)
        if location == "uri":
            if located in labels:
                params[name] = _scalar(member, urllib.parse.unquote(labels[located]), name, unknown)
        elif location == "querystring":
            query_members[located] = (name, member)
        elif location == "header":
            if member.type_name == "map":
                values = {header[len(located.lower()):]: value for header, value in request.headers.items()
                          if header.startswith(located.lower())}
                if values:
                    params[name] = values
            elif located.lower() in request.headers:
                text = request.headers[located.lower()]
                params[name] = [item.strip() for item in text.split(",")] if member.type_name == "list" \
                    else _scalar(member, text, name, unknown)
    map_member = next(((name, member) for name, member in query_members.values() if member.type_name == "map"), None)
    for key, value in request.query:
        if key in query_members:
            name, member = query_members[key]
            if member.type_name == "list":
                params.setdefault(name, []).append(_scalar(member.member, value, name, unknown))
            else:
                params[name] = _scalar(member, value, name, unknown)
        elif key in literal or key == "x-id" or key.lower().startswith("x-amz-"):
            continue
        elif map_member is not None:
            params.setdefault(map_member[0], {})[key] = value
        else:
            unknown.append(f"?{key}")
    payload = shape.serialization.get("payload")
    body = request.body or b""
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string"):
            params[payload] = body if member.type_name == "blob" else body.decode("utf-8")
        elif body:
            params[payload] = _from_payload(model, member, body, payload, unknown)
    elif body:
        body_members = {n: m for n, m in shape.members.items() if m.serialization.get("location") is None}
        if model.protocol == "rest-json":
            data = json.loads(body)
            known = {_json_name(n, m): (n, m) for n, m in body_members.items()}
            for key, value in data.items():
                if key not in known:
                    unknown.append(key)
                    continue
                name, member = known[key]
                params[name] = _from_json(member, value, name, unknown)
        else:
            params.update(_from_xml_members(body_members, ET.fromstring(body), unknown, ""))
    return model, operation, params, unknown


def _from_payload(model, member, body, path, unknown):
    if model.protocol == "rest-json":
        return _from_json(member, json.loads(body), path, unknown)
    root = ET.fromstring(body)
    expected = member.serialization.get("name", member.name)
    if _local(root.tag) != expected:
        unknown.append(f"{path} (root element <{_local(root.tag)}>, model names <{expected}>)")
    return _from_xml(member, root, path, unknown)


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _from_xml_members(members, element, unknown, path):
    by_name = {}
    for name, member in members.items():
        if member.type_name == "list" and member.serialization.get("flattened"):
            by_name[member.member.serialization.get("name", member.serialization.get("name", name))] = (name, member)
        else:
            by_name[member.serialization.get("name", name)] = (name, member)
    params = {}
    for child in element:
        tag = _local(child.tag)
        if tag not in by_name:
            unknown.append(f"{path}.{tag}".lstrip("."))
            continue
        name, member = by_name[tag]
        if member.type_name == "list" and member.serialization.get("flattened"):
            params.setdefault(name, []).append(_from_xml(member.member, child, f"{path}.{name}", unknown))
        else:
            params[name] = _from_xml(member, child, f"{path}.{name}".lstrip("."), unknown)
    return params


def _from_xml(shape, element, path, unknown):
    kind = shape.type_name
    if kind == "structure":
        return _from_xml_members(shape.members, element, unknown, path)
    if kind == "list":
        return [_from_xml(shape.member, child, f"{path}[{i}]", unknown) for i, child in enumerate(element)]
    return _scalar(shape, element.text or "", path, unknown)
