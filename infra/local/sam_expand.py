#!/usr/bin/env python3
"""template.yaml as CloudFormation receives it: the SAM transform applied offline, with the
aws-sam-translator pinned in .venv-sam (the expansion CloudFormation does server-side).

    .venv-sam/bin/python infra/local/sam_expand.py [template.yaml] [Name=Value ...]
    .venv-sam/bin/python infra/local/sam_expand.py --parse infra/pool.yaml

prints the expanded template as JSON (--parse: any template as JSON, no transform, its
short-form tags as Fn:: objects). The deploy checks of `make test`
(tests/tests/template.rs) read it, and the smoke deployment (smoke_deploy.py) deploys it.
Managed policies are not looked up (no AWS account): the translator's own ARNs stand.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform as sam_transform

REPO = Path(__file__).resolve().parents[2]


class NoManagedPolicies:
    """The translator asks for the account's managed policy names; offline there are none."""

    @staticmethod
    def load() -> dict:
        return {}


def functions(template: dict) -> dict:
    """{logical id: binary} of every function in the template (its BuildProperties.Binary)."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            binary = (resource.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
            if not binary:
                raise ValueError(f"{logical_id} has no Metadata.BuildProperties.Binary")
            found[logical_id] = binary
    return found


def packaged(template: dict, bucket: str, location_base: str) -> dict:
    """What `sam package` hands on: each function's code at s3://bucket/<binary>.zip (build
    metadata dropped, as sam build does) and each nested application at location_base/<path>."""
    for logical_id, binary in functions(template).items():
        template["Resources"][logical_id]["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": f"{binary}.zip"}
        template["Resources"][logical_id].pop("Metadata", None)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Application":
            location = resource["Properties"]["Location"]
            resource["Properties"]["Location"] = f"{location_base}/{location}"
    return template


def expand(template: dict, parameters: dict) -> dict:
    """The SAM transform of a packaged template."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return sam_transform(template, parameters, NoManagedPolicies())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--parse"] and len(argv) == 2:
        print(json.dumps(yaml_parse(Path(argv[1]).read_text()), indent=1, sort_keys=True))
        return 0
    path = REPO / "template.yaml"
    parameters = {}
    for arg in argv:
        if "=" in arg:
            name, value = arg.split("=", 1)
            parameters[name] = value
        else:
            path = Path(arg)
    try:
        template = packaged(yaml_parse(path.read_text()), "artifacts", "https://artifacts.example")
        print(json.dumps(expand(template, parameters), indent=1, sort_keys=True))
    except Exception as e:  # the translator's errors name the resource; pass them on whole
        print(f"sam_expand: {path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
