"""Schemathesis hooks for the corpus runs (.ci/schemathesis-corpus.sh): response schema conformance that
lets through what the published spec itself contradicts.

tests/corpus/EXCEPTIONS.md lists the operations whose own documented response examples break their own
response schemas (`schema` rows). specbox answers such an operation from that example (or from items
seeded from it), so the answer breaks the schema exactly where the example does. The check below is
Schemathesis' own `response_schema_conformance` for every other operation. For those operations (and
only those) it runs the same validation (`APIOperation.validate_response`) and lets through every
violation that the spec's own example for that response has too, at the same place in the schema and
with the same keyword: the rule the Rust harness (tests/common/conformance.rs) applies to the same rows.
Any other violation of such an answer still fails, and a row whose examples break nothing excuses
nothing.

What such an example breaks also travels: specbox stores what a create's example shows, so an item
created through an excused operation (Square's CreatePayment, whose example's `risk_evaluation` lacks
its required `status`) breaks the schema the same way wherever it is answered again (ListPayments).
Every other operation therefore also lets through a violation of the very same subschema by the very
same keyword as one of an excused operation's examples, and nothing else.

Environment: ST_CORPUS_SPEC, the spec's name as EXCEPTIONS.md names it (e.g. `twilio`).
"""

import itertools
import json
import os
import pathlib

import schemathesis
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.openapi.checks import resolve_path
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case, response_schema_conformance

EXCEPTIONS_MD = pathlib.Path(__file__).resolve().parent.parent / "tests" / "corpus" / "EXCEPTIONS.md"


def excused_operations(spec):
    """operationIds with a `schema` row for `spec` in EXCEPTIONS.md (parsed as the Rust harness does)."""
    out = set()
    for line in EXCEPTIONS_MD.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if len(cells) >= 4 and cells[0] == spec and cells[2] == "schema":
            out.add(cells[1])
    return out


SPEC = os.environ.get("ST_CORPUS_SPEC", "")
EXCUSED = excused_operations(SPEC)


def operation_id(operation):
    # The Rust harness names an operation without an operationId "METHOD /path".
    return operation.definition.raw.get("operationId") or f"{operation.method.upper()} {operation.path}"


def _resolve(root, node):
    """`node` with local `$ref`s followed (every corpus document given to Schemathesis has only those)."""
    for _ in range(64):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target = root
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return None


def _signature(error):
    """Where in the schema, and which keyword (the instance path is left out: indices and map keys vary)."""
    return tuple(str(p) for p in error.schema_path)


def _examples(root, media):
    """The examples of a response media, as the Rust harness collects them (`examples_of`): the media's
    `example` and `examples`, and the `example` (or `examples`) of the media's schema itself."""
    examples = []
    if "example" in media:
        examples.append(media["example"])
    for example in (_resolve(root, media.get("examples")) or {}).values():
        example = _resolve(root, example)
        if isinstance(example, dict) and "value" in example:
            examples.append(example["value"])
    schema = _resolve(root, media.get("schema"))
    if isinstance(schema, dict):
        if "example" in schema:
            examples.append(schema["example"])
        if isinstance(schema.get("examples"), list):
            examples.extend(schema["examples"])
    # An example written as JSON text stands for the document it spells.
    for i, example in enumerate(examples):
        if isinstance(example, str):
            try:
                parsed = json.loads(example)
            except ValueError:
                continue
            if isinstance(parsed, (dict, list)):
                examples[i] = parsed
    return examples


def _own_violations(operation, response):
    """Signatures of the violations of the examples documented for this response's status and media."""
    definition = operation.responses.find_by_status_code(response.status_code)
    if definition is None:
        return set()
    content_type = (response.headers.get("content-type") or [None])[0]
    resolved = definition.get_schema(content_type)
    if resolved.schema is None:
        return set()
    validator = definition.get_validator(resolved.media_type, resolved.schema)
    if validator is None:
        return set()
    root = operation.schema.raw_schema
    media = _resolve(root, (_resolve(root, definition.definition.get("content")) or {}).get(resolved.media_type))
    if not isinstance(media, dict):
        return set()
    return {_signature(error) for example in _examples(root, media) for error in validator.iter_errors(example)}


def _where(schema, path):
    """The subschema holding the failing keyword, and the keyword, as one comparable value."""
    path = list(path)
    parent = resolve_path(schema, path[:-1]) if path else schema
    return (json.dumps(parent, sort_keys=True, default=str), str(path[-1]) if path else "")


_CARRIED = None


def _carried(schema):
    """(subschema, keyword) of every violation of an excused operation's own response examples."""
    global _CARRIED
    if _CARRIED is not None:
        return _CARRIED
    _CARRIED = set()
    root = schema.raw_schema
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            continue
        op = result.ok()
        if operation_id(op) not in EXCUSED:
            continue
        for code in op.responses.status_codes:
            if not str(code).isdigit():
                continue
            definition = op.responses.find_by_status_code(int(code))
            if definition is None:
                continue
            content = _resolve(root, definition.definition.get("content")) or {}
            for media_type, media in content.items():
                resolved = definition.get_schema(media_type)
                if resolved.schema is None:
                    continue
                validator = definition.get_validator(resolved.media_type, resolved.schema)
                media = _resolve(root, media)
                if validator is None or not isinstance(media, dict):
                    continue
                for example in _examples(root, media):
                    for error in validator.iter_errors(example):
                        _CARRIED.add(_where(resolved.schema, error.schema_path))
    return _CARRIED


def _without(failures, excused):
    left = [f for f in failures if not (isinstance(f, JsonSchemaError) and excused(f))]
    if len(left) == 1:
        raise left[0]
    if left:
        raise FailureGroup(left)


@schemathesis.check
def response_schema_conformance_corpus(ctx, response, case):
    """`response_schema_conformance`, less what the spec's own example breaks (EXCEPTIONS.md rows only)."""
    if operation_id(case.operation) not in EXCUSED:
        try:
            return response_schema_conformance(ctx, response, case)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except JsonSchemaError as failure:
            failures = [failure]
        carried = _carried(case.operation.schema)
        return _without(failures, lambda f: _where(f._root_schema, f.schema_path) in carried)
    if is_unexpected_http_status_case(case):
        return None  # a request-shape probe (e.g. an undocumented method), skipped as the built-in does
    try:
        case.operation.validate_response(response, case=case)
    except FailureGroup as group:
        failures = list(group.exceptions)
    except JsonSchemaError as failure:
        failures = [failure]
    else:
        return None
    own = _own_violations(case.operation, response)
    return _without(failures, lambda f: _signature(f) in own)


# Schemathesis reuses values across cases (one Idempotency-Key for many different bodies), and specbox
# refuses a key reused with another body (422 idempotency_mismatch, as it must): in a first run 60 of
# Adyen's positive requests got that 422, and the answers behind them went unchecked. Positive cases get
# a fresh key of the same length (where it is long enough to carry a counter); negative cases keep theirs.
_fresh = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not case.headers:
        return
    for name, value in case.headers.items():
        if name.lower() == "idempotency-key" and isinstance(value, str):
            tag = f"st{next(_fresh):08d}"
            if len(value) >= len(tag):
                case.headers[name] = (tag + value[len(tag) :]) if value else tag
