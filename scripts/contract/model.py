"""Validation of input params against botocore's model: botocore's own ParamValidator (required members, types)
plus the constraints it leaves out: enums, min/max lengths of strings, blobs, lists and maps, numeric ranges and
patterns. Each violation names the operation and the member."""

import re

from botocore.validate import ParamValidator

_PATTERNS = {}


def _pattern(text):
    if text not in _PATTERNS:
        try:
            # Smithy patterns are ECMA-262; the ones botocore ships compile under Python's re (\p classes aside).
            _PATTERNS[text] = re.compile(text)
        except re.error:
            _PATTERNS[text] = None
    return _PATTERNS[text]


def validate(operation, params):
    """-> [violation text] (empty when the request is valid per the model)."""
    shape = operation.input_shape
    if shape is None:
        return [f"{operation.name}: takes no input, got {sorted(params)}"] if params else []
    found = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        found += [f"{operation.name}: {line.strip()}" for line in report.generate_report().splitlines()
                  if line.strip()]
    _constraints(shape, params, operation.name, found)
    return found


def _length(value):
    if isinstance(value, str):
        # AWS counts characters (code points) for string lengths.
        return len(value)
    return len(value)


def _constraints(shape, value, path, found):
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _constraints(member, value[name], f"{path}.{name}", found)
        return
    if kind == "list" and isinstance(value, list):
        _bounds(meta, len(value), path, "items", found)
        for index, item in enumerate(value):
            _constraints(shape.member, item, f"{path}[{index}]", found)
        return
    if kind == "map" and isinstance(value, dict):
        _bounds(meta, len(value), path, "entries", found)
        for key, item in value.items():
            _constraints(shape.key, key, f"{path} key {key!r}", found)
            _constraints(shape.value, item, f"{path}[{key!r}]", found)
        return
    if kind == "string" and isinstance(value, str):
        _bounds(meta, _length(value), path, "characters", found)
        if shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.enum}")
        pattern = meta.get("pattern")
        if pattern and _pattern(pattern) is not None and not _pattern(pattern).search(value):
            found.append(f"{path}: {value!r} does not match the pattern {pattern}")
        return
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        _bounds(meta, len(value), path, "bytes", found)
        return
    if kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            found.append(f"{path}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.append(f"{path}: {value} is above the maximum {meta['max']}")


def _bounds(meta, size, path, unit, found):
    if "min" in meta and size < meta["min"]:
        found.append(f"{path}: {size} {unit}, the model's minimum is {meta['min']}")
    if "max" in meta and size > meta["max"]:
        found.append(f"{path}: {size} {unit}, the model's maximum is {meta['max']}")
