"""Where a validation path points in the text a user typed, and renaming a workflow in place.

Both read the text with PyYAML's composer, which keeps each node's position (JSON is YAML too), so an error at
`steps[1].params.value` moves the cursor to that value, and a duplicate keeps the original's comments and layout.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _compose(text: str) -> Any:
    import yaml

    return yaml.compose(text, Loader=yaml.SafeLoader)


def position_of(text: str, path: str) -> int | None:
    """The character offset of the part of `text` the path names (`steps[1].params.value`), or of the deepest
    part of it that exists; a text that does not parse: where the parser stopped. None when nothing fits."""
    import yaml

    try:
        node = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return mark.index if mark is not None else None
    if node is None:
        return None
    best = node.start_mark.index
    for index, key in _PART.findall(path):
        if isinstance(node, yaml.MappingNode) and key:
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if found is None:
                break
            best, node = found[0].start_mark.index, found[1]
        elif isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            node = node.value[int(index)]
            best = node.start_mark.index
        else:
            break
    return best


def renamed(text: str, name: str) -> str | None:
    """The text with its top-level `name` value replaced (quoted, which YAML and JSON both read), everything
    else as written; None when the text has no such value to replace."""
    import yaml

    try:
        node = _compose(text)
    except yaml.YAMLError:
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    value = next((v for k, v in node.value if getattr(k, "value", None) == "name"), None)
    if not isinstance(value, yaml.ScalarNode):
        return None
    start, end = value.start_mark.index, value.end_mark.index
    return text[:start] + json.dumps(name) + text[end:]


def steps_of(text: str) -> list[dict[str, str]]:
    """The steps as far as the text can be read (id, instance, action), for the Steps tab; [] if it cannot."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return []
    return [{k: str(s.get(k, "")) for k in ("id", "instance", "action")} for s in steps if isinstance(s, dict)]


def _end(node: Any) -> int:
    """Where a node's last value ends (a block node's own end is at the next token, past any comment)."""
    import yaml

    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _end(node.value[-1])
    return node.end_mark.index


def with_step(text: str, step_id: str, instance: str, action: str) -> str:
    """The text with a step appended to its `steps` block list, as a one-line flow mapping, the rest as written.
    A text in another shape (JSON, a flow list, no steps yet) is rewritten through the parser instead."""
    import yaml

    entry = {"id": step_id, "instance": instance, "action": action, "params": {}}
    flow = json.dumps(entry, ensure_ascii=False)
    try:
        node = _compose(text)
    except yaml.YAMLError:
        node = None
    steps = None
    if isinstance(node, yaml.MappingNode):
        steps = next((v for k, v in node.value if getattr(k, "value", None) == "steps"), None)
    if isinstance(steps, yaml.SequenceNode) and steps.value and not steps.flow_style:
        first, last = steps.value[0], steps.value[-1]
        line_start = text.rfind("\n", 0, first.start_mark.index) + 1
        dash = text.rfind("-", line_start, first.start_mark.index)
        pos = _end(last)
        return text[:pos] + "\n" + " " * (dash - line_start) + "- " + flow + text[pos:]
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        return text.rstrip("\n") + "\nsteps:\n  - " + flow + "\n"
    if not isinstance(data.get("steps"), list):
        data["steps"] = []
    data["steps"].append(entry)
    if text.lstrip()[:1] == "{":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
