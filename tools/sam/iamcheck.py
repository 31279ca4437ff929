#!/usr/bin/env python3
"""Check the IAM policies of a transformed (plain CloudFormation) template
against the IAM action table cfn-lint ships (AdditionalSpecs/Policies.json,
from the AWS Service Authorization Reference).

Usage: iamcheck.py TRANSFORMED.json

For every Allow statement of every AWS::IAM::Role and AWS::IAM::Policy:
- each action exists (no wildcards in actions);
- an action without resource-level permissions has Resource "*" (any ARN
  would never match, so the call would be denied on AWS);
- an action with resource-level permissions does not use Resource "*" (too
  broad; NEEDS_STAR lists the documented exceptions), and each ARN it names fits one of the action's resource types.

Exit codes: 0 clean, 1 problems (one a line on stdout), 2 usage or I/O,
3 cfn-lint's data is not importable.
"""

import json
import re
import sys

try:
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource
except ImportError as e:
    print(f"iamcheck.py: cfn-lint not importable: {e}", file=sys.stderr)
    sys.exit(3)

# Actions whose documentation requires Resource "*" for part of what they
# return, although the table lists resource types for them.
NEEDS_STAR = {
    # DescribeAlarms: "You can't return information about composite alarms
    # if your cloudwatch:DescribeAlarms permission has a narrower scope."
    "cloudwatch:describealarms",
}

# Values a deployed stack would see; only the shape of the ARN matters.
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "pushdeploy",
}

# ARN prefixes of the resource types whose Arn attribute policies here use.
GETATT_ARN = {
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:{}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:us-east-1:123456789012:table/{}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:{}",
    "AWS::Events::Rule": "arn:aws:events:us-east-1:123456789012:rule/{}",
    "AWS::Logs::LogGroup": "arn:aws:logs:us-east-1:123456789012:log-group:{}:*",
    "AWS::SNS::Topic": "arn:aws:sns:us-east-1:123456789012:{}",
}


class Unresolved(Exception):
    pass


def resolve(v, resources, local=None):
    """Render a Resource value to a sample ARN string."""
    if isinstance(v, str):
        return v
    if not isinstance(v, dict) or len(v) != 1:
        raise Unresolved(json.dumps(v))
    fn, arg = next(iter(v.items()))
    if fn == "Fn::GetAtt":
        name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
        typ = resources.get(name, {}).get("Type")
        if attr != "Arn" or typ not in GETATT_ARN:
            raise Unresolved(json.dumps(v))
        return GETATT_ARN[typ].format(name)
    if fn == "Ref":
        if arg in PSEUDO:
            return PSEUDO[arg]
        if local and arg in local:
            return local[arg]
        if arg in resources:
            return arg  # a physical name, e.g. a function name
        raise Unresolved(json.dumps(v))
    if fn == "Fn::Sub":
        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        vals = {k: resolve(x, resources) for k, x in names.items()}

        def sub(m):
            key = m.group(1)
            if key in vals:
                return vals[key]
            if key in PSEUDO:
                return PSEUDO[key]
            if "." in key:
                return resolve({"Fn::GetAtt": key.split(".", 1)}, resources)
            return resolve({"Ref": key}, resources)

        return re.sub(r"\$\{([^}!]+)\}", sub, text)
    raise Unresolved(json.dumps(v))


def arn_regex(fmt):
    # ARNFormats look like arn:${Partition}:ecs:${Region}:${Account}:service/.*
    parts = re.split(r"(\$\{[^}]+\})", fmt)
    out = []
    for p in parts:
        if p.startswith("${"):
            out.append(r"[^:]+")
        else:
            out.append(p.replace(".*", "\0").replace(".", r"\.").replace("\0", ".*"))
    return re.compile("".join(out) + "$")


def as_list(v):
    return v if isinstance(v, list) else [v]


def check(template, table):
    problems = []
    resources = template.get("Resources", {})
    for rid, res in sorted(resources.items()):
        typ = res.get("Type")
        props = res.get("Properties", {})
        if typ == "AWS::IAM::Role":
            docs = [(p.get("PolicyName", "?"), p.get("PolicyDocument", {})) for p in props.get("Policies", [])]
        elif typ == "AWS::IAM::Policy":
            docs = [(props.get("PolicyName", "?"), props.get("PolicyDocument", {}))]
        else:
            continue
        for pname, doc in docs:
            for i, st in enumerate(as_list(doc.get("Statement", []))):
                where = f"{rid}/{pname}/{st.get('Sid', i)}"
                if st.get("Effect") != "Allow":
                    continue
                try:
                    arns = [resolve(r, resources) for r in as_list(st.get("Resource", []))]
                except Unresolved as e:
                    problems.append(f"{where}: cannot resolve Resource {e}")
                    continue
                for action in as_list(st.get("Action", [])):
                    svc, _, name = action.partition(":")
                    spec = table.get(svc.lower(), {})
                    act = spec.get("Actions", {}).get(name.lower())
                    if "*" in action or act is None:
                        problems.append(f"{where}: {action} is not an IAM action (or is a wildcard)")
                        continue
                    types = act.get("Resources", [])
                    if not types:
                        if arns != ["*"]:
                            problems.append(f"{where}: {action} has no resource-level permissions; Resource must be \"*\", not {arns}")
                        continue
                    if "*" in arns and action.lower() in NEEDS_STAR:
                        continue
                    if "*" in arns:
                        problems.append(f"{where}: {action} supports {types}; Resource \"*\" is broader than needed")
                        continue
                    formats = [f for t in types for f in spec.get("Resources", {}).get(t, {}).get("ARNFormats", [])]
                    regexes = [arn_regex(f) for f in formats]
                    for arn in arns:
                        if not any(rx.match(arn) for rx in regexes):
                            problems.append(f"{where}: {action} on {arn} fits none of {formats}")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            template = json.load(f)
    except (OSError, ValueError) as e:
        print(f"iamcheck.py: {e}", file=sys.stderr)
        return 2
    table = load_resource(AdditionalSpecs, "Policies.json")
    problems = check(template, table)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
