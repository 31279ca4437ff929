#!/usr/bin/env python3
"""Transform a SAM template to plain CloudFormation, offline.

Usage: transform.py TEMPLATE [OUT.json]

Does what `sam build && sam deploy` would hand CloudFormation, without AWS:
local CodeUri folders and DefinitionUri files become placeholder S3 locations
(sam package uploads them; a DefinitionUri file must parse as JSON).
Policy names in Policies are resolved from cfn-lint's copy of the AWS managed
policy list when cfn-lint is installed (the translator would ask IAM).

Exit codes: 0 ok, 1 the translator rejected the template, 2 usage or I/O,
3 aws-sam-translator (or PyYAML) is not importable.
"""

import json
import os
import sys

try:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as e:  # the Go test skips on exit code 3
    print(f"transform.py: aws-sam-translator not importable: {e}", file=sys.stderr)
    sys.exit(3)


class ManagedPolicyLoader:
    """Offline stand-in for samtranslator's IAM-backed loader."""

    def load(self):
        try:
            from cfnlint.data import Serverless
            from cfnlint.helpers import load_resource

            return load_resource(Serverless, "ManagedPolicies.json")
        except Exception:  # no cfn-lint: only inline policies and templates
            return {}


def localize(template, base):
    for rid, res in template.get("Resources", {}).items():
        props = res.get("Properties")
        if not isinstance(props, dict):
            continue
        typ = res.get("Type")
        if typ == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            if not props["CodeUri"].startswith("s3://"):
                path = os.path.join(base, props["CodeUri"])
                if not os.path.isdir(path):
                    raise ValueError(f"{rid}: CodeUri {props['CodeUri']} is not a folder")
                props["CodeUri"] = f"s3://pushdeploy-artifacts/{rid}.zip"
        if typ == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            uri = props["DefinitionUri"]
            if not uri.startswith("s3://"):
                # Parse it here so a broken file fails the transform; the
                # output keeps an S3 location, as sam package leaves it (an
                # inlined definition becomes a Fn::Join cfn-lint cannot walk).
                with open(os.path.join(base, uri), encoding="utf-8") as f:
                    json.load(f)
                props["DefinitionUri"] = f"s3://pushdeploy-artifacts/{rid}.asl.json"


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    try:
        with open(path, encoding="utf-8") as f:
            template = yaml_parse(f.read())
        localize(template, os.path.dirname(os.path.abspath(path)))
    except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        print(f"transform.py: {e}", file=sys.stderr)
        return 2
    # The translator builds ARNs for this region's partition.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        out = transform(template, {}, ManagedPolicyLoader())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"transform.py: {cause.message}", file=sys.stderr)
        return 1
    text = json.dumps(out, indent=2, sort_keys=True) + "\n"
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
