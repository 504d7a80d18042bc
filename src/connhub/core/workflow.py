"""Workflows without I/O: the definition read and checked, references resolved, `when` expressions evaluated.

A workflow is a document (YAML or JSON) naming steps; each step runs one action of a saved instance. Values
may hold references: `${steps.<id>.result.<path>}` (dots and `[i]`), `${inputs.<name>}` and `${env:NAME}`.
A reference that is the whole string keeps the value's type; one inside text is formatted into it.

`when` is a small expression language read by a hand-written tokenizer and recursive-descent parser
(comparisons, and/or/not, parentheses, numbers, quoted strings, true/false/null, references); nothing is
ever handed to `eval`. Every problem is a `WorkflowError` whose `errors` are {path: message}, the path
written as `steps[1].params.value`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connhub.core.errors import ConfigError

ON_FAILURE = ("stop", "continue")
MAX_STEPS = 500
MAX_EXPRESSION = 4096
MAX_NESTING = 32
MAX_RETRIES = 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_STEP_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_REF = re.compile(r"\$\{([^{}]*)\}")
_SEGMENT = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d{1,9})\]")
_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
_STEP_KEYS = {"id", "instance", "action", "params", "when", "timeout", "retries", "backoff_seconds", "on_failure",
              "parallel"}
_TOP_KEYS = {"name", "description", "inputs", "on_failure", "steps", "schedule", "on"}


class WorkflowError(ConfigError):
    """A workflow that cannot be read, checked or resolved: `errors` is {path: message}."""

    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"(workflow)": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(f"{path}: {message}" if path else message
                                   for path, message in self.errors.items()))


# --- the definition ----------------------------------------------------------------------------------------

@dataclass
class Step:
    id: str
    instance: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    when: str | None = None
    timeout: float | None = None
    retries: int = 0
    backoff_seconds: float = 1.0
    on_failure: str | None = None
    parallel: bool = False


@dataclass
class Workflow:
    name: str
    steps: list[Step]
    description: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    on_failure: str = "stop"
    schedule: Any = None
    #: `{instance: NAME, event: TYPE}`: run when that instance's webhook receiver accepts that event; the
    #: payload is read as `${event.<path>}`.
    on: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.inputs:
            out["inputs"] = self.inputs
        out["on_failure"] = self.on_failure
        if self.schedule is not None:
            out["schedule"] = self.schedule
        if self.on is not None:
            out["on"] = dict(self.on)
        out["steps"] = [_step_dict(s) for s in self.steps]
        return out

    @property
    def version(self) -> str:
        return version_hash(self.to_dict())

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


def _step_dict(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"id": step.id, "instance": step.instance, "action": step.action}
    if step.params:
        out["params"] = step.params
    if step.when is not None:
        out["when"] = step.when
    if step.timeout is not None:
        out["timeout"] = step.timeout
    if step.retries:
        out["retries"] = step.retries
        out["backoff_seconds"] = step.backoff_seconds
    if step.on_failure is not None:
        out["on_failure"] = step.on_failure
    if step.parallel:
        out["parallel"] = True
    return out


def version_hash(definition: Mapping[str, Any]) -> str:
    """The hash of the definition's canonical JSON: the same workflow spelled in YAML or JSON has the same one."""
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_workflow(source: Any, *, name: str | None = None) -> Workflow:
    """A workflow from a path, stream or bytes (YAML or JSON) through the bounded reader."""
    from connhub.core.reading import DocumentError, read_document

    try:
        data = read_document(source, formats=("json", "yaml"), name=name, max_bytes=4 << 20)
    except DocumentError as exc:
        raise WorkflowError({"(document)": str(exc)}) from None
    return parse_workflow(data)


def parse_text(text: str, *, name: str = "the workflow") -> Workflow:
    from connhub.core.reading import DocumentError, parse_document

    try:
        data = parse_document(text, formats=("json", "yaml"), name=name, max_bytes=4 << 20)
    except DocumentError as exc:
        raise WorkflowError({"(document)": str(exc)}) from None
    return parse_workflow(data)


def dump_workflow(workflow: Workflow, fmt: str = "yaml") -> str:
    data = workflow.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def parse_workflow(data: Any) -> Workflow:
    """The definition's shape checked (not yet against instances or actions): WorkflowError with every problem."""
    errors: dict[str, str] = {}
    if not isinstance(data, Mapping):
        raise WorkflowError({"(workflow)": "a workflow is an object with `name` and `steps`"})
    for key in data:
        if key not in _TOP_KEYS:
            errors[str(key)] = f"not a workflow field (known: {', '.join(sorted(_TOP_KEYS))})"
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        errors["name"] = "a name of letters, digits, '.', '_' or '-' (at most 100), starting with a letter or digit"
        name = ""
    description = data.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        errors["description"] = "text"
        description = ""
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        errors["inputs"] = "a JSON Schema object (type: object, properties: …)"
        inputs = {}
    else:
        inputs = dict(inputs)
        problem = _schema_problem(inputs)
        if problem:
            errors["inputs"] = problem
    on_failure = data.get("on_failure", "stop")
    if on_failure not in ON_FAILURE:
        errors["on_failure"] = "stop or continue"
        on_failure = "stop"
    schedule = data.get("schedule")
    if schedule is not None:
        try:
            from datetime import UTC, datetime

            parse_schedule(schedule).next_after(datetime(2000, 1, 1, tzinfo=UTC))  # one that never comes, too
        except WorkflowError as exc:
            errors["schedule"] = _first_message(exc)
    on = data.get("on")
    if on is not None:
        if not (isinstance(on, Mapping) and set(on) == {"instance", "event"}
                and all(isinstance(v, str) and v.strip() for v in on.values())):
            errors["on"] = "{instance: NAME, event: TYPE}: the saved instance whose webhooks start it, and the event"
            on = None
        else:
            on = {"instance": on["instance"], "event": on["event"]}
    raw_steps = data.get("steps")
    steps: list[Step] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        errors["steps"] = "a list of at least one step"
    elif len(raw_steps) > MAX_STEPS:
        errors["steps"] = f"at most {MAX_STEPS} steps"
    else:
        for i, raw in enumerate(raw_steps):
            step = _parse_step(raw, f"steps[{i}]", errors)
            if step is not None:
                steps.append(step)
    if errors:
        raise WorkflowError(errors)
    return Workflow(name, steps, description, inputs, on_failure, data.get("schedule"), on)


def _schema_problem(schema: dict[str, Any]) -> str | None:
    try:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)
    except Exception as exc:  # noqa: BLE001 - any schema error is a message at `inputs`
        return f"not a valid JSON Schema: {str(getattr(exc, 'message', exc))[:200]}"
    if schema.get("type", "object") != "object" or not isinstance(schema.get("properties", {}), Mapping):
        return "a JSON Schema of type object, one property per input"
    return None


def _parse_step(raw: Any, at: str, errors: dict[str, str]) -> Step | None:
    if not isinstance(raw, Mapping):
        errors[at] = "a step is an object with id, instance, action and params"
        return None
    bad = len(errors)
    for key in raw:
        if key not in _STEP_KEYS:
            errors[f"{at}.{key}"] = f"not a step field (known: {', '.join(sorted(_STEP_KEYS))})"
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not _STEP_ID.fullmatch(step_id):
        errors[f"{at}.id"] = "an id of letters, digits, '_' or '-', starting with a letter or '_'"
    for key in ("instance", "action"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            errors[f"{at}.{key}"] = f"the {key}'s name"
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        errors[f"{at}.params"] = "an object of param name → value"
        params = {}
    when = raw.get("when")
    if when is not None and not isinstance(when, (str, bool)):
        errors[f"{at}.when"] = "an expression, as text"
    elif isinstance(when, bool):
        when = "true" if when else "false"
    if isinstance(when, str):
        try:
            parse_expression(when)
        except WorkflowError as exc:
            errors[f"{at}.when"] = exc.errors.get("(expression)", str(exc))
    timeout = raw.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not (0 < timeout <= 86400) or math.isnan(timeout)):
        errors[f"{at}.timeout"] = "seconds, more than 0 and at most 86400"
    retries = raw.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        errors[f"{at}.retries"] = f"a whole number from 0 to {MAX_RETRIES}"
    backoff = raw.get("backoff_seconds", 1.0)
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not (0 <= backoff <= 3600):
        errors[f"{at}.backoff_seconds"] = "seconds from 0 to 3600"
    on_failure = raw.get("on_failure")
    if on_failure is not None and on_failure not in ON_FAILURE:
        errors[f"{at}.on_failure"] = "stop or continue"
    parallel = raw.get("parallel", False)
    if not isinstance(parallel, bool):
        errors[f"{at}.parallel"] = "true or false"
    if len(errors) > bad:
        return None
    return Step(step_id, raw["instance"], raw["action"], dict(params), when, timeout, retries, float(backoff),
                on_failure, parallel)


# --- references --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """`${steps.count.result.rows[0].n}` → kind "steps", name "count", path ("rows", 0, "n")."""

    kind: str  # "steps", "inputs" or "env"
    name: str
    path: tuple[str | int, ...] = ()
    text: str = ""


def parse_reference(inner: str) -> Reference:
    """The text between `${` and `}`; WorkflowError for anything else."""
    env = _ENV.fullmatch(inner)
    if env:
        return Reference("env", env.group(1), (), inner)
    head, _, rest = inner.partition(".")
    if head not in ("steps", "inputs", "event"):
        raise WorkflowError({"(reference)": f"${{{_shown(inner)}}} is not a reference: use "
                             "${steps.<id>.result.<path>}, ${inputs.<name>}, ${event.<path>} or ${env:NAME}"})
    segments = _segments("." + rest if rest else "", inner)
    if not segments or not isinstance(segments[0], str):
        raise WorkflowError({"(reference)": f"${{{_shown(inner)}}} names no "
                             f"{ {'steps': 'step', 'inputs': 'input'}.get(head, 'field of the event') }"})
    name, path = segments[0], tuple(segments[1:])
    if head == "steps":
        if not path or path[0] != "result":
            raise WorkflowError({"(reference)": f"${{{_shown(inner)}}}: a step's value is read as "
                                 "${steps.<id>.result…}"})
        path = path[1:]
    return Reference(head, name, path, inner)


def _segments(text: str, inner: str) -> list[str | int]:
    out: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None:
            raise WorkflowError({"(reference)": f"${{{_shown(inner)}}}: cannot read the path at "
                                 f"{_shown(text[pos:pos + 20])!r} (use .name and [index])"})
        out.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return out


def _shown(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def references_in(value: Any, depth: int = 0) -> list[Reference]:
    """Every reference in a value (strings inside lists and objects included), in order."""
    if depth > MAX_NESTING:
        raise WorkflowError({"(params)": f"nested deeper than {MAX_NESTING}"})
    if isinstance(value, str):
        return [parse_reference(m.group(1)) for m in _REF.finditer(value)]
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in references_in(v, depth + 1)]
    if isinstance(value, list):
        return [r for v in value for r in references_in(v, depth + 1)]
    return []


def has_reference(value: Any) -> bool:
    try:
        return bool(references_in(value))
    except WorkflowError:
        return True


@dataclass
class Scope:
    """What references resolve against: earlier steps' results, the run's inputs, the environment."""

    steps: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] | None = None
    event: Any = None  # the webhook payload that started the run (`on:`), read as ${event.<path>}

    def lookup(self, ref: Reference) -> Any:
        if ref.kind == "env":
            env = os.environ if self.environ is None else self.environ
            if ref.name not in env:
                raise WorkflowError({"(reference)": f"${{{ref.text}}}: the environment variable {ref.name} "
                                     "is not set"})
            return env[ref.name]
        if ref.kind == "event":
            if not isinstance(self.event, Mapping):
                raise WorkflowError({"(reference)": f"${{{_shown(ref.text)}}}: this run was not started by an event"})
            source: Any = self.event
        else:
            source = self.steps if ref.kind == "steps" else self.inputs
        if ref.name not in source:
            what = {"steps": "no step result named", "inputs": "no input named"}.get(ref.kind, "the event has no")
            raise WorkflowError({"(reference)": f"${{{_shown(ref.text)}}}: {what} {ref.name!r}"})
        value = source[ref.name]
        columns: list | None = None  # a query's result: rows are lists, named through its `columns`
        for i, segment in enumerate(ref.path):
            if isinstance(value, Mapping) and isinstance(value.get("columns"), list):
                columns = value["columns"]
            if isinstance(value, list) and isinstance(segment, str) and columns and segment in columns \
                    and len(value) == len(columns):
                value = value[columns.index(segment)]  # rows[0].n: the row's value in column "n"
                continue
            value = _step_into(value, segment, ref, i)
        return value


def _step_into(value: Any, segment: str | int, ref: Reference, i: int) -> Any:
    if isinstance(segment, int):
        if isinstance(value, list) and segment < len(value):
            return value[segment]
    elif isinstance(value, Mapping) and segment in value:
        return value[segment]
    elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
        return value[int(segment)]
    where = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in ref.path[:i + 1])
    raise WorkflowError({"(reference)": f"${{{_shown(ref.text)}}}: nothing at {_shown(where)}"})


def format_value(value: Any) -> str:
    """A value as it reads inside text: strings as they are, everything else as JSON (null, true, 3, [1])."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except (ValueError, TypeError):
        return str(value)


def resolve(value: Any, scope: Scope, depth: int = 0) -> Any:
    """The value with every reference replaced: a whole-string reference keeps the value's type."""
    if depth > MAX_NESTING:
        raise WorkflowError({"(params)": f"nested deeper than {MAX_NESTING}"})
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return scope.lookup(parse_reference(whole.group(1)))
        if "${" not in value:
            return value
        return _REF.sub(lambda m: format_value(scope.lookup(parse_reference(m.group(1)))), value)
    if isinstance(value, Mapping):
        return {k: resolve(v, scope, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope, depth + 1) for v in value]
    return value


def resolve_params(params: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """Each param resolved; an error says which param: {"<key>": message}."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in params.items():
        try:
            out[key] = resolve(value, scope)
        except WorkflowError as exc:
            errors[f"params.{key}"] = next(iter(exc.errors.values()))
    if errors:
        raise WorkflowError(errors)
    return out


# --- the `when` expression language -------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ref>\$\{[^{}]*\})
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|\(|\))
  | (?P<word>[A-Za-z_]+)
""", re.VERBOSE | re.DOTALL)
_WORDS = {"and", "or", "not", "true", "false", "null"}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")


def _tokens(text: str) -> list[tuple[str, Any]]:
    if len(text) > MAX_EXPRESSION:
        raise _expr_error(f"longer than {MAX_EXPRESSION} characters")
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _expr_error(f"unexpected {text[pos]!r} at position {pos + 1}")
        kind, raw = match.lastgroup, match.group()
        pos = match.end()
        if kind == "space":
            continue
        if kind == "ref":
            out.append(("ref", parse_reference(raw[2:-1])))
        elif kind == "number":
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            if isinstance(number, float) and not math.isfinite(number):
                raise _expr_error(f"{raw[:20]} is not a finite number")
            out.append(("value", number))
        elif kind == "string":
            out.append(("value", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw[1:-1],
                                        flags=re.DOTALL)))
        elif kind == "op":
            out.append(("op", raw))
        else:
            word = raw.lower()
            if word not in _WORDS:
                raise _expr_error(f"unknown word {raw[:30]!r} (use and, or, not, true, false, null, quoted text "
                                  "or a ${…} reference)")
            if word in ("true", "false", "null"):
                out.append(("value", {"true": True, "false": False, "null": None}[word]))
            else:
                out.append(("op", word))
    return out


def _expr_error(message: str) -> WorkflowError:
    return WorkflowError({"(expression)": message})


class _Parser:
    """or := and ('or' and)* ; and := not ('and' not)* ; not := 'not' not | cmp ;
    cmp := atom (op atom)? ; atom := value | ref | '(' or ')'"""

    def __init__(self, tokens: list[tuple[str, Any]]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise _expr_error("the expression ends too soon")
        self.pos += 1
        return token

    def parse(self) -> tuple:
        if not self.tokens:
            raise _expr_error("the expression is empty")
        node = self.or_()
        if self.peek() is not None:
            raise _expr_error(f"unexpected {_token_text(self.peek())} after a complete expression")
        return node

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _expr_error(f"nested deeper than {MAX_NESTING}")

    def or_(self) -> tuple:
        node = self.and_()
        while self.peek() == ("op", "or"):
            self.pos += 1
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple:
        node = self.not_()
        while self.peek() == ("op", "and"):
            self.pos += 1
            node = ("and", node, self.not_())
        return node

    def not_(self) -> tuple:
        if self.peek() == ("op", "not"):
            self.pos += 1
            self.nest()
            node = ("not", self.not_())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> tuple:
        left = self.atom()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in _COMPARE:
            self.pos += 1
            right = self.atom()
            follow = self.peek()
            if follow is not None and follow[0] == "op" and follow[1] in _COMPARE:
                raise _expr_error("comparisons do not chain: join them with and")
            return ("cmp", token[1], left, right)
        return left

    def atom(self) -> tuple:
        kind, value = self.take()
        if kind == "value":
            return ("value", value)
        if kind == "ref":
            return ("ref", value)
        if (kind, value) == ("op", "("):
            self.nest()
            node = self.or_()
            if self.peek() != ("op", ")"):
                raise _expr_error("a '(' is not closed")
            self.pos += 1
            self.depth -= 1
            return node
        raise _expr_error(f"unexpected {_token_text((kind, value))}")


def _token_text(token: tuple[str, Any] | None) -> str:
    if token is None:
        return "the end"
    kind, value = token
    if kind == "ref":
        return f"${{{_shown(value.text)}}}"
    return repr(value) if kind == "value" else f"'{value}'"


def parse_expression(text: str) -> tuple:
    """The expression's tree; WorkflowError({"(expression)": …}) for anything that is not one."""
    if not isinstance(text, str):
        raise _expr_error("an expression is text")
    return _Parser(_tokens(text)).parse()


def expression_references(text: str) -> list[Reference]:
    return [value for kind, value in _tokens(text) if kind == "ref"]


def evaluate(text: str, scope: Scope) -> bool:
    """The expression's truth against the scope's values."""
    return _truth(_eval(parse_expression(text), scope))


def _eval(node: tuple, scope: Scope) -> Any:
    kind = node[0]
    if kind == "value":
        return node[1]
    if kind == "ref":
        return scope.lookup(node[1])
    if kind == "not":
        return not _truth(_eval(node[1], scope))
    if kind == "and":
        return _truth(_eval(node[1], scope)) and _truth(_eval(node[2], scope))
    if kind == "or":
        return _truth(_eval(node[1], scope)) or _truth(_eval(node[2], scope))
    _, op, left, right = node
    return _compare(op, _eval(left, scope), _eval(right, scope))


def _truth(value: Any) -> bool:
    return bool(value)


def _number(value: Any) -> Any:
    """A number, or a string that reads as one (a query result's "3"), for comparing with a number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return value
            return number if math.isfinite(number) else value
    try:  # Decimal and the like
        number = float(value)
    except (TypeError, ValueError):
        return value
    return number if math.isfinite(number) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    numeric = (isinstance(left, (int, float)) and not isinstance(left, bool)) or \
              (isinstance(right, (int, float)) and not isinstance(right, bool))
    if numeric:
        left, right = _number(left), _number(right)
    if op == "==":
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    ordered = (all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
               or all(isinstance(v, str) for v in (left, right)))
    if not ordered:
        raise _expr_error(f"cannot compare {_type_name(left)} {op} {_type_name(right)}")
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    try:
        return bool(left == right)
    except Exception:  # noqa: BLE001 - an odd value's __eq__
        return False


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


# --- validation against instances and actions -------------------------------------------------------------

#: What the validator is told about an instance: None if there is no such instance, else {action: spec}.
ActionsOf = Callable[[str], "Mapping[str, Any] | None"]

_PLACEHOLDERS = {"string": "x", "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}


def validate_workflow(workflow: Workflow, actions_of: ActionsOf) -> dict[str, str]:
    """{path: message} for every problem found before a run: duplicate ids, unknown instances and actions,
    params invalid against the action's schema, references to missing or later steps or undeclared inputs.
    `actions_of(instance)` gives the instance's {action name: ActionSpec}, or None when there is no such
    instance. {} when the workflow can run."""
    from connhub.core.actions import param_errors

    errors: dict[str, str] = {}
    inputs = set((workflow.inputs.get("properties") or {}).keys())
    if workflow.on is not None and actions_of(workflow.on["instance"]) is None:
        errors["on.instance"] = f"there is no saved instance named {workflow.on['instance']!r}"
    seen: dict[str, int] = {}
    all_ids = {s.id: i for i, s in reversed(list(enumerate(workflow.steps)))}
    for i, step in enumerate(workflow.steps):
        at = f"steps[{i}]"
        if step.id in seen:
            errors[f"{at}.id"] = f"the id {step.id!r} is already used by steps[{seen[step.id]}]"
        actions = actions_of(step.instance)
        spec = None
        if actions is None:
            errors[f"{at}.instance"] = f"step {step.id!r}: there is no saved instance named {step.instance!r}"
        elif step.action not in actions:
            known = ", ".join(sorted(actions)) or "none"
            errors[f"{at}.action"] = f"step {step.id!r}: {step.instance!r} has no action {step.action!r} " \
                                     f"(its actions: {known})"
        else:
            spec = actions[step.action]
        for key, value in step.params.items():
            problem = _reference_problem(value, seen, all_ids, inputs, step.id, workflow.on is not None)
            if problem:
                errors[f"{at}.params.{key}"] = problem
        if step.when is not None:
            try:
                problem = _refs_problem(expression_references(step.when), seen, all_ids, inputs, step.id,
                                        workflow.on is not None)
            except WorkflowError as exc:
                problem = next(iter(exc.errors.values()))
            if problem:
                errors[f"{at}.when"] = problem
        if spec is not None:
            props = (getattr(spec, "params", None) or {}).get("properties", {})
            stand_in = {}
            referring = set()
            for key, value in step.params.items():
                if has_reference(value):
                    referring.add(key)
                    kind = (props.get(key) or {}).get("type")
                    stand_in[key] = _PLACEHOLDERS.get(kind if isinstance(kind, str) else "string", "x")
                else:
                    stand_in[key] = value
            for key, message in param_errors(spec, stand_in).items():
                if key in referring:
                    continue
                path = f"{at}.params" if key.startswith("(") else f"{at}.params.{key}"
                errors.setdefault(path, message)
        seen.setdefault(step.id, i)
    return errors


def _reference_problem(value: Any, seen: Mapping[str, int], all_ids: Mapping[str, int], inputs: set[str],
                       step_id: str, has_event: bool = False) -> str | None:
    try:
        return _refs_problem(references_in(value), seen, all_ids, inputs, step_id, has_event)
    except WorkflowError as exc:
        return next(iter(exc.errors.values()))


def _refs_problem(refs: list[Reference], seen: Mapping[str, int], all_ids: Mapping[str, int], inputs: set[str],
                  step_id: str, has_event: bool = False) -> str | None:
    for ref in refs:
        if ref.kind == "event" and not has_event:
            return (f"${{{_shown(ref.text)}}} reads the event that starts the workflow, but it declares none: add "
                    "on: {instance: NAME, event: TYPE}")
        if ref.kind == "steps" and ref.name not in seen:
            if ref.name == step_id:
                return f"${{{_shown(ref.text)}}} refers to its own step (a cycle)"
            if ref.name in all_ids:
                return (f"${{{_shown(ref.text)}}} refers to step {ref.name!r}, which runs later "
                        f"(steps[{all_ids[ref.name]}]): a step reads only earlier steps' results")
            return f"${{{_shown(ref.text)}}} refers to a step {ref.name!r} that does not exist"
        if ref.kind == "inputs" and ref.name not in inputs:
            return f"${{{_shown(ref.text)}}} refers to an input {ref.name!r} not declared under inputs"
    return None


def check_inputs(workflow: Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
    """The run's inputs with defaults filled in, checked against the `inputs` schema; WorkflowError at
    `inputs.<name>` otherwise."""
    schema = workflow.inputs or {}
    props = schema.get("properties") or {}
    values = {k: v["default"] for k, v in props.items() if isinstance(v, Mapping) and "default" in v}
    values.update(given)
    errors: dict[str, str] = {}
    for key in given:
        if key not in props:
            errors[f"inputs.{key}"] = f"not an input of this workflow (its inputs: {', '.join(props) or 'none'})"
    if schema:
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema)
        for error in validator.iter_errors(values):
            where = ".".join(str(p) for p in error.absolute_path)
            if not where and error.validator == "required":
                missing = re.findall(r"'([^']+)' is a required property", error.message)
                where = missing[0] if missing else ""
                message = "required"
            else:
                secret = bool(where) and props.get(where.split(".")[0], {}).get("format") == "password"
                message = f"invalid ({error.validator})" if secret else error.message
            errors.setdefault(f"inputs.{where}" if where else "inputs", message[:200])
    if errors:
        raise WorkflowError(errors)
    return values


def parse_input(workflow: Workflow, key: str, text: str) -> Any:
    """A `--input key=text` value: read as JSON when the input's type is not text and it parses."""
    prop = (workflow.inputs.get("properties") or {}).get(key) or {}
    kind = prop.get("type")
    if kind == "string" or kind is None and not text[:1] in "-0123456789[{tfn":
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def mask_inputs(workflow: Workflow, values: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as the run log keeps them: secret-kind ones (writeOnly or format: password) masked."""
    from connhub.core.actions import MASK
    from connhub.core.manifest import is_secret_param

    props = workflow.inputs.get("properties") or {}
    return {k: MASK if isinstance(props.get(k), Mapping) and is_secret_param(props[k]) and v not in (None, "")
            else v for k, v in values.items()}


# --- what the catalog and the run log keep -------------------------------------------------------------------

STEP_OUTCOMES = ("pending", "running", "ok", "failed", "skipped", "cancelled", "interrupted")
RUN_STATUSES = ("running", "ok", "failed", "cancelled", "interrupted", "missed")


@dataclass
class WorkflowRecord:
    """A saved workflow: the definition's text as written (YAML or JSON) and its version hash."""

    id: str
    workspace: str
    name: str
    definition: str
    version: str
    created_at: Any = None
    updated_at: Any = None


@dataclass
class StepRun:
    """One step of a run as the log keeps it: masked params, a capped result preview, never a secret."""

    id: str
    instance: str
    action: str
    outcome: str = "pending"
    started_at: str | None = None
    duration_ms: float = 0.0
    attempts: int = 0
    error_class: str | None = None
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    preview: str = ""
    truncated: bool = False
    action_run_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRun:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class WorkflowRun:
    workflow_id: str
    version: str
    trigger: str
    inputs: dict[str, Any]
    status: str
    started_at: Any
    steps: list[StepRun] = field(default_factory=list)
    finished_at: Any = None
    duration_ms: float | None = None
    message: str = ""
    pid: int | None = None
    host: str = ""
    id: int | None = None
    workflow_name: str = ""
    scheduled_for: Any = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def fit_params(resolved: Mapping[str, Any], action_params_schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """A number or boolean a whole-string reference gave to a text param becomes its text (`3` → "3"): the
    issue's `value: "${steps.count.result.rows[0].n}"` fills Redis's string `value` with a query's count.
    Nothing else changes type."""
    props = (action_params_schema or {}).get("properties") or {}
    out = dict(resolved)
    for key, value in resolved.items():
        prop = props.get(key)
        if (isinstance(prop, Mapping) and prop.get("type") == "string" and isinstance(value, (int, float, bool))
                and not (isinstance(value, float) and not math.isfinite(value))):
            out[key] = format_value(value)
    return out


def _first_message(exc: WorkflowError) -> str:
    return next(iter(exc.errors.values()), str(exc))


# --- schedules ------------------------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"(\d{1,7})\s*([smhd])")
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
                ("day of week", 0, 6))


@dataclass(frozen=True)
class Schedule:
    """`{every: "15m"}` (or seconds) or a five-field cron expression (`{cron: "0 6 * * 1-5"}`, or the bare
    string), in UTC. Slots of an interval are aligned on the epoch (every 15m: :00, :15, :30, :45)."""

    every: int | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    any_day: bool = True
    any_weekday: bool = True
    text: str = ""

    @property
    def period_hint(self) -> float:
        """Seconds between slots (a cron's shortest: one minute, at least)."""
        return float(self.every) if self.every else 60.0

    def next_after(self, moment: Any) -> Any:
        """The first slot strictly after `moment` (an aware datetime)."""
        from datetime import UTC, datetime, timedelta

        moment = moment.astimezone(UTC)
        if self.every:
            stamp = moment.timestamp()
            return datetime.fromtimestamp((math.floor(stamp / self.every) + 1) * self.every, UTC)
        t = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(366 * 5):  # day by day, at most five years ahead (29 February)
            if t.month in self.months and self._day_matches(t):
                for hour in sorted(h for h in self.hours if h >= t.hour):
                    start = t.minute if hour == t.hour else 0
                    minute = next((m for m in sorted(self.minutes) if m >= start), None)
                    if minute is not None:
                        return t.replace(hour=hour, minute=minute)
            t = (t + timedelta(days=1)).replace(hour=0, minute=0)
        raise WorkflowError({"schedule": f"{self.text!r} never comes"})

    def _day_matches(self, t: Any) -> bool:
        weekday = (t.weekday() + 1) % 7  # cron: 0 = Sunday
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return weekday in self.weekdays
        if self.any_weekday:
            return t.day in self.days
        return t.day in self.days or weekday in self.weekdays  # cron: either, when both are restricted

    def due(self, after: Any, until: Any, cap: int = 10_000) -> tuple[int, Any, Any]:
        """(how many slots s with after < s <= until, the first, the newest); a cron's count stops at `cap`
        (then the newest is found from `until` back). (0, None, None) when none."""
        from datetime import UTC, datetime

        first = self.next_after(after)
        if first > until:
            return 0, None, None
        if self.every:
            newest_stamp = math.floor(until.timestamp() / self.every) * self.every
            count = int(round((newest_stamp - first.timestamp()) / self.every)) + 1
            return count, first, datetime.fromtimestamp(newest_stamp, UTC)
        count, t, newest = 0, first, first
        while t <= until and count < cap:
            count, newest = count + 1, t
            t = self.next_after(t)
        if t <= until:  # more than `cap`: the newest is the last slot at or before `until`
            probe = until
            while True:
                from datetime import timedelta

                probe = probe - timedelta(days=1)
                candidate = self.next_after(max(probe, newest))
                if candidate <= until:
                    while (later := self.next_after(candidate)) <= until:
                        candidate = later
                    newest = candidate
                    break
        return count, first, newest


def parse_schedule(value: Any) -> Schedule:
    if isinstance(value, Mapping):
        if set(value) == {"every"}:
            return _interval(value["every"])
        if set(value) == {"cron"} and isinstance(value["cron"], str):
            return _cron(value["cron"])
        raise WorkflowError({"schedule": "{every: 15m} or {cron: \"0 6 * * 1-5\"}"})
    if isinstance(value, str):
        return _cron(value) if len(value.split()) == 5 else _interval(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _interval(value)
    raise WorkflowError({"schedule": "{every: 15m} or {cron: \"0 6 * * 1-5\"}"})


def _interval(value: Any) -> Schedule:
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (match := _INTERVAL.fullmatch(value.strip().lower())):
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise WorkflowError({"schedule": "an interval is a number and a unit: 30s, 15m, 2h, 1d"})
    if not 10 <= seconds <= 366 * 86400:
        raise WorkflowError({"schedule": "an interval from 10 seconds to 366 days"})
    return Schedule(every=seconds, text=str(value))


def _cron(text: str) -> Schedule:
    parts = text.split()
    if len(parts) != 5 or len(text) > 200:
        raise WorkflowError({"schedule": "a cron expression has five fields: minute hour day month weekday"})
    sets = []
    for part, (label, low, high) in zip(parts, _CRON_FIELDS):
        values: set[int] = set()
        for item in part.split(","):
            values |= _cron_item(item, label, low, high)
        if label == "day of week" and 7 in values:
            values = (values - {7}) | {0}
        sets.append(frozenset(values))
    return Schedule(None, *sets, any_day=parts[2] == "*", any_weekday=parts[4] == "*", text=text)


def _cron_item(item: str, label: str, low: int, high: int) -> set[int]:
    top = 7 if label == "day of week" else high
    body, _, step_text = item.partition("/")
    try:
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(body)
            if step_text:
                end = high
    except ValueError:
        raise WorkflowError({"schedule": f"the {label} field: {item[:20]!r} is not a number, range or */step"}) \
            from None
    if step < 1 or not (low <= start <= end <= top):
        raise WorkflowError({"schedule": f"the {label} field: {item[:20]!r} is outside {low}-{top}"})
    return set(range(start, end + 1, step))
