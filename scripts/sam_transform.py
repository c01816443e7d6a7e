"""Prints template.yaml transformed to plain CloudFormation (JSON), as AWS SAM's transform does on
deploy: each function's role with its policies, SAM policy templates expanded into statements.
Intrinsic functions (Ref, GetAtt, Sub, If) are left for the reader to resolve.

    .venv/bin/python scripts/sam_transform.py template.yaml eu-west-1

The region is the stack's (SAM reads AWS::Region from the environment); nothing is fetched.
"""

import json
import os
import sys

import yaml
from samtranslator.translator.transform import transform

from cfn_yaml import CfnLoader


class ManagedPolicies:
    """AWS managed policy names resolve to their ARNs without asking IAM."""

    def load(self):
        return {}


def main() -> None:
    os.environ["AWS_DEFAULT_REGION"] = sys.argv[2] if len(sys.argv) > 2 else "eu-west-1"
    with open(sys.argv[1]) as f:
        template = yaml.load(f, Loader=CfnLoader)
    # `sam package` uploads the code and puts its S3 location in CodeUri before the transform.
    for section in (template.get("Globals", {}).get("Function", {}), *(
            r.get("Properties", {}) for r in template["Resources"].values() if r.get("Type") == "AWS::Serverless::Function")):
        if isinstance(section.get("CodeUri"), str):
            section["CodeUri"] = "s3://packaged/code.zip"
    loader = ManagedPolicies()
    output = transform(template, {}, loader)
    json.dump(output, sys.stdout)


if __name__ == "__main__":
    main()
