"""CloudFormation templates as Python data: YAML with the short-form intrinsic tags in their long
form (`!Ref x` is `{"Ref": "x"}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Condition C` is
`{"Condition": "C"}`), as CloudFormation reads them. Used by scripts/sam_transform.py and the
template tests."""

import yaml


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags turned into their long form."""


def _intrinsic(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path):
    """The template at `path` (a pathlib.Path)."""
    return yaml.load(path.read_text(), Loader=CfnLoader)
