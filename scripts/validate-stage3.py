#!/usr/bin/env python3
"""Validate a Stage 3 folder with the tools that read each format, offline.

  megadetector.json  MegaDetector's own validate_batch_results (PyPI megadetector-utils); with --media-root, every
                     `file` must exist under that folder (the one that holds raw/).
  Camtrap DP         the official Camtrap DP profile (JSON Schema, with the Data Package and GeoJSON schemas it
                     references) and the official table schemas through `frictionless`, all read from the local
                     copies in --schemas (default ../shared/schemas/camtrap-dp beside the repository); then the
                     package is read again with frictionless' Package API and its rows counted.
  sites.geojson      the official GeoJSON JSON Schema (geojson.org) with `jsonschema`.

Prints one JSON object: what was validated, the errors found, and row counts. Exit status 0 only when no errors.
No network: a schema URL that has no local copy is an error.

usage: validate-stage3.py STAGE3_DIR [--media-root DIR] [--schemas DIR]
"""
import argparse
import copy
import json
import os
import sys
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SCHEMAS = os.path.join(os.path.dirname(REPO), "shared", "schemas", "camtrap-dp")
CAMTRAP_PREFIX = "https://raw.githubusercontent.com/tdwg/camtrap-dp/"


def local_copies(schemas):
    """URL -> local file, for every schema the Camtrap DP profile can reach."""
    ext = os.path.join(schemas, "ext")
    urls = {
        "https://frictionlessdata.io/schemas/data-package.json": os.path.join(ext, "data-package.json"),
        "https://specs.frictionlessdata.io/schemas/data-package.json": os.path.join(ext, "data-package.json"),
        "http://json.schemastore.org/geojson.json": os.path.join(ext, "geojson.json"),
        "https://json.schemastore.org/geojson.json": os.path.join(ext, "geojson.json"),
        "https://geojson.org/schema/GeoJSON.json": os.path.join(ext, "GeoJSON.json"),
    }
    for version in sorted(os.listdir(schemas)):
        folder = os.path.join(schemas, version)
        if version == "ext" or not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            urls[CAMTRAP_PREFIX + version + "/" + name] = os.path.join(folder, name)
    return urls


def load_schema(urls, url):
    path = urls.get(url.rstrip("#"))
    if path is None:
        raise ValueError("no local copy of schema %s (validation is offline; add it to the schemas folder)" % url)
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    text = json.dumps(schema)
    if '"#$defs/' in text:  # Camtrap DP 1.0's profile: "#$defs/version", fixed to "#/$defs/version" in 1.0.1
        schema = json.loads(text.replace('"#$defs/', '"#/$defs/'))
    return schema


def validate_megadetector(folder, media_root, result):
    from megadetector.postprocessing.validate_batch_results import (ValidateBatchResultsOptions,
                                                                    validate_batch_results)
    path = os.path.join(folder, "megadetector.json")
    options = ValidateBatchResultsOptions()
    if media_root:
        options.check_image_existence = True
        options.relative_path_base = media_root
    outcome = validate_batch_results(path, options)["validation_results"]
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    images = data.get("images", [])
    result["megadetector"] = {
        "validator": "megadetector.postprocessing.validate_batch_results",
        "checked_file_existence": bool(media_root),
        "errors": outcome["errors"],
        "warnings": outcome["warnings"],
        "format_version": data.get("info", {}).get("format_version"),
        "detector": data.get("info", {}).get("detector"),
        "detection_categories": data.get("detection_categories"),
        "entries": len(images),
        "videos": sum(1 for im in images if "frame_rate" in im),
        "failures": sum(1 for im in images if im.get("failure") is not None),
        "detections": sum(len(im.get("detections") or []) for im in images),
    }


def validate_camtrap(folder, schemas, media_root, result):
    import jsonschema
    import referencing
    from frictionless import Package, system

    urls = local_copies(schemas)
    out = {"validator": "jsonschema (Camtrap DP profile) + frictionless %s (table schemas)" % frictionless_version(),
           "errors": []}
    result["camtrap_dp"] = out
    with open(os.path.join(folder, "datapackage.json"), encoding="utf-8") as f:
        descriptor = json.load(f)
    profile_url = descriptor.get("profile", "")
    out["profile"] = profile_url

    def retrieve(uri):
        return referencing.Resource.from_contents(load_schema(urls, uri),
                                                  default_specification=referencing.jsonschema.DRAFT4)

    try:
        profile = load_schema(urls, profile_url)
    except ValueError as e:
        out["errors"].append(str(e))
        return
    registry = referencing.Registry(retrieve=retrieve)
    validator = jsonschema.Draft4Validator(profile, registry=registry,
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    for error in sorted(validator.iter_errors(descriptor), key=lambda e: list(e.path)):
        out["errors"].append("profile: %s at /%s" % (error.message, "/".join(map(str, error.path))))

    # Tables: the package with each resource's schema URL replaced by the local copy's content.
    local = copy.deepcopy(descriptor)
    local.pop("profile", None)  # checked above; frictionless would fetch it
    for resource in local.get("resources", []):
        schema = resource.get("schema")
        if isinstance(schema, str):
            try:
                resource["schema"] = load_schema(urls, schema)
            except ValueError as e:
                out["errors"].append(str(e))
                return
    with system.use_context(trusted=False):
        package = Package(local, basepath=folder)
        report = package.validate()
    for task in report.tasks:
        for error in task.errors:
            out["errors"].append("%s: %s" % (task.name, error.message))
    for error in report.errors:
        out["errors"].append(error.message)

    # A second reader: the package API reads the rows back; counts are compared with report.json by the caller.
    counts = {}
    reread = Package(local, basepath=folder)
    for name in ("deployments", "media", "observations"):
        rows = reread.get_resource(name).read_rows()
        counts[name] = len(rows)
        if name == "observations":
            counts["event_observations"] = sum(1 for r in rows if r["observationLevel"] == "event")
            counts["media_observations"] = sum(1 for r in rows if r["observationLevel"] == "media")
            counts["media_observations_with_bbox"] = sum(1 for r in rows if r["observationLevel"] == "media"
                                                         and r["bboxWidth"] is not None)
        if name == "media":
            counts["file_paths"] = sorted({urllib.parse.urlparse(r["filePath"]).scheme for r in rows})
            local_missing = [r["filePath"] for r in rows if media_root and r["filePath"].startswith("file://")
                             and not os.path.isfile(r["filePath"][len("file://"):])]
            counts["file_paths_checked"] = bool(media_root)
            for path in local_missing[:5]:
                out["errors"].append("media.filePath does not resolve: %s" % path)
    out["counts"] = counts
    out["spatial"] = descriptor.get("spatial", {}).get("type")
    out["temporal"] = descriptor.get("temporal")


def frictionless_version():
    import frictionless
    return getattr(frictionless, "__version__", "?")


def validate_geojson(folder, schemas, result):
    import jsonschema
    urls = local_copies(schemas)
    schema = load_schema(urls, "https://geojson.org/schema/GeoJSON.json")
    with open(os.path.join(folder, "sites.geojson"), encoding="utf-8") as f:
        document = json.load(f)
    validator = jsonschema.Draft7Validator(schema)
    errors = ["%s at /%s" % (e.message, "/".join(map(str, e.path))) for e in validator.iter_errors(document)]
    result["geojson"] = {"validator": "jsonschema against geojson.org/schema/GeoJSON.json", "errors": errors,
                         "type": document.get("type"), "features": len(document.get("features") or [])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage3")
    parser.add_argument("--media-root", help="the folder that holds raw/: check that every media file exists")
    parser.add_argument("--schemas", default=os.environ.get("CAMTRAP_DP_SCHEMAS", DEFAULT_SCHEMAS))
    args = parser.parse_args()
    if not os.path.isdir(args.schemas):
        print(json.dumps({"error": "no schema folder %s (set --schemas or CAMTRAP_DP_SCHEMAS)" % args.schemas}))
        return 2
    result = {"stage3": args.stage3, "schemas": args.schemas}
    for step in (lambda: validate_megadetector(args.stage3, args.media_root, result),
                 lambda: validate_camtrap(args.stage3, args.schemas, args.media_root, result),
                 lambda: validate_geojson(args.stage3, args.schemas, result)):
        step()
    ok = all(not result[k]["errors"] for k in ("megadetector", "camtrap_dp", "geojson"))
    result["ok"] = ok
    print(json.dumps(result, indent=1, sort_keys=True, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
