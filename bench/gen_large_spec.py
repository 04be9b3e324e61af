#!/usr/bin/env python3
"""Writes a large synthetic OpenAPI 3.1 document, to time specbox's startup and memory on a big spec.

    python3 bench/gen_large_spec.py [OUT] [RESOURCES] [DEPTH]        deep $ref chains (bench/run.sh)
    python3 bench/gen_large_spec.py --realistic [OUT] [RESOURCES]    shaped like a published spec (bench/corpus.sh)

Chains (the default): OUT=bench/out/large.json, RESOURCES=300, DEPTH=12, about 5.6 MB. Each
resource gets a collection path (list + create) and an item path (read, update, replace, delete),
so 600 paths and 1,800 operations. Its schema is a chain of DEPTH schemas, each level an allOf of a
shared base schema and its own properties with a $ref to the next level, so every operation's
schema resolves through DEPTH+ levels of $ref (and a shared pool of "Common" schemas referenced
from every level): a stress test of $ref resolution.

Realistic (--realistic): OUT=bench/out/realistic.json, RESOURCES=200, about 13 MB (indented, as
vendors publish them) and 1,200 operations: per resource a list (cursor paging, filters) and a
create, a read, an update, a delete and an action (POST .../{id}/cancel). Schemas share components
(Money, Address, Metadata, a list envelope, an error envelope, enums), refer to other resources'
summaries, and carry prose descriptions; every operation documents examples that validate against
its schemas, and every third resource answers in an envelope named after it ({"invoice_3": {...}}),
as Square does. Deterministic: the same arguments write the same bytes.
"""

import json
import os
import sys

FIELD_TYPES = [
    {"type": "string", "maxLength": 200},
    {"type": "integer", "minimum": 0},
    {"type": "boolean"},
    {"type": "string", "format": "date-time"},
    {"type": "number"},
    {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 10},
    {"type": ["string", "null"]},
]


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def level_schema(r, k, depth):
    props = {}
    for j in range(5):
        p = dict(FIELD_TYPES[(r + k + j) % len(FIELD_TYPES)])
        p["description"] = (
            f"Field {j} of level {k} of resource {r}. Synthetic: present so that the document is as "
            f"big as a real-world API description."
        )
        props[f"field_{k}_{j}"] = p
    if k < depth:
        props["child"] = ref(f"Res{r}Level{k + 1}")
        props["children"] = {"type": "array", "items": ref(f"Res{r}Level{k + 1}"), "maxItems": 5}
    return {
        "description": f"Level {k} of the nested structure of resource {r}.",
        "allOf": [
            ref(f"Common{k % 10}"),
            {"type": "object", "properties": props},
        ],
    }


def common_schema(c):
    return {
        "type": "object",
        "description": f"Shared fields, group {c}.",
        "properties": {
            f"common_{c}_{j}": {"type": "string", "maxLength": 100, "description": f"Common field {j}."}
            for j in range(4)
        },
    }


def resource_schemas(r, depth):
    out = {}
    out[f"Res{r}"] = {
        "description": f"Resource {r}.",
        "allOf": [
            ref(f"Res{r}Writable"),
            {
                "type": "object",
                "required": ["id", "created_at"],
                "properties": {
                    "id": {"type": "string", "description": "Identifier."},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
        ],
    }
    out[f"Res{r}Writable"] = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 120},
            "status": {"type": "string", "enum": ["active", "inactive", "pending"]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
            "details": ref(f"Res{r}Level1"),
        },
    }
    out[f"Res{r}Create"] = {"allOf": [ref(f"Res{r}Writable"), {"required": ["name"]}]}
    out[f"Res{r}List"] = {
        "type": "object",
        "required": ["data", "has_more"],
        "properties": {
            "data": {"type": "array", "items": ref(f"Res{r}")},
            "has_more": {"type": "boolean"},
            "total_count": {"type": "integer"},
        },
    }
    for k in range(1, depth + 1):
        out[f"Res{r}Level{k}"] = level_schema(r, k, depth)
    return out


def json_response(desc, schema_name):
    return {"description": desc, "content": {"application/json": {"schema": ref(schema_name)}}}


ERRORS = {
    "400": json_response("Bad request.", "Error"),
    "404": json_response("Not found.", "Error"),
    "422": json_response("Validation failed.", "Error"),
}


def paths_for(r):
    coll = f"/resources{r}"
    item = f"{coll}/{{id}}"
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    body = lambda name: {  # noqa: E731
        "required": True,
        "content": {"application/json": {"schema": ref(name)}},
    }
    return {
        coll: {
            "get": {
                "operationId": f"listResources{r}",
                "summary": f"List resources of kind {r}",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": json_response("A page.", f"Res{r}List"), "400": ERRORS["400"]},
            },
            "post": {
                "operationId": f"createResource{r}",
                "summary": f"Create a resource of kind {r}",
                "requestBody": body(f"Res{r}Create"),
                "responses": {"201": json_response("Created.", f"Res{r}"), **ERRORS},
            },
        },
        item: {
            "get": {
                "operationId": f"getResource{r}",
                "parameters": [id_param],
                "responses": {"200": json_response("The resource.", f"Res{r}"), "404": ERRORS["404"]},
            },
            "patch": {
                "operationId": f"updateResource{r}",
                "parameters": [id_param],
                "requestBody": body(f"Res{r}Writable"),
                "responses": {"200": json_response("Updated.", f"Res{r}"), **ERRORS},
            },
            "put": {
                "operationId": f"replaceResource{r}",
                "parameters": [id_param],
                "requestBody": body(f"Res{r}Create"),
                "responses": {"200": json_response("Replaced.", f"Res{r}"), **ERRORS},
            },
            "delete": {
                "operationId": f"deleteResource{r}",
                "parameters": [id_param],
                "responses": {"204": {"description": "Deleted."}, "404": ERRORS["404"]},
            },
        },
    }


def chains(resources, depth):
    schemas = {f"Common{c}": common_schema(c) for c in range(10)}
    schemas["Error"] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    }
    paths = {}
    for r in range(resources):
        schemas.update(resource_schemas(r, depth))
        paths.update(paths_for(r))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Large synthetic API", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
# ---------------------------------------------------------------------------------------------
# The realistic style (--realistic): a spec shaped like the published ones in tests/corpus/
# (Square, Stripe-like APIs) rather than a stress test of $ref chains. Each resource has a
# collection (list with cursor paging and filters, create), an item (read, update, delete) and
# an action (POST .../{id}/cancel): 6 operations. Its schemas share components (Money, Address,
# Metadata, a list envelope, an error envelope, shared enums), refer to two other resources'
# summaries, and carry prose descriptions. Every operation documents examples that validate
# against its schemas (a read's and a list's examples are what specbox seeds resources from).
# Some resources answer in an envelope named after the resource ({"invoice_7": {...}}), as
# Square does. Deterministic: the same arguments write the same bytes.

WORDS = (
    "the a of to and in is for that this with on be by as are or it from at an which can when "
    "will not if its has have all any more each than other only also into after before about "
    "request response object field value account customer payment order invoice amount currency "
    "status created updated returned list page cursor limit filter sort time date identifier "
    "unique string number merchant location team project token event webhook delivery attempt "
    "refund dispute balance transfer payout fee tax discount product price quantity unit "
    "address country region postal code email phone name description metadata key pair "
    "maximum minimum default optional required deprecated later version release documentation"
).split()

NOUNS = [
    "customer", "invoice", "payment", "order", "refund", "product", "subscription", "shipment",
    "payout", "dispute", "coupon", "webhook_endpoint", "account", "transfer", "location", "device",
    "team", "project", "ticket", "report",
]


class Prose:
    """Deterministic sentences of realistic length (a linear congruential generator over WORDS)."""

    def __init__(self, seed):
        self.state = seed or 1

    def next(self, n):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.state % n

    def sentence(self, words):
        text = " ".join(WORDS[self.next(len(WORDS))] for _ in range(words))
        return text[0].upper() + text[1:] + "."

    def text(self, sentences, words=14):
        return " ".join(self.sentence(words + self.next(8)) for _ in range(sentences))


def camel(snake):
    return "".join(p.capitalize() for p in snake.split("_"))


SCALARS = [
    ({"type": "string", "maxLength": 255}, "text"),
    ({"type": "integer", "minimum": 0, "format": "int64"}, 42),
    ({"type": "boolean"}, True),
    ({"type": "string", "format": "date-time"}, "2024-03-01T12:00:00Z"),
    ({"type": "string", "format": "email"}, "jane@example.com"),
    ({"type": "string", "format": "uri"}, "https://example.com/x"),
    ({"type": ["string", "null"], "maxLength": 100}, None),
    ({"type": "number", "minimum": 0}, 12.5),
    ({"type": "string", "enum": ["low", "normal", "high", "urgent"]}, "normal"),
    ({"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 20}, ["a", "b"]),
]


def shared_components(prose):
    schemas = {
        "Money": {
            "type": "object",
            "description": prose.text(2),
            "required": ["amount", "currency"],
            "properties": {
                "amount": {"type": "integer", "description": prose.text(1), "format": "int64"},
                "currency": {"$ref": "#/components/schemas/Currency"},
            },
            "example": {"amount": 1000, "currency": "USD"},
        },
        "Currency": {
            "type": "string",
            "description": prose.text(1),
            "enum": ["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK"],
        },
        "Country": {
            "type": "string",
            "description": prose.text(1),
            "enum": ["US", "GB", "DE", "FR", "CH", "JP", "CA", "AU", "SE", "NO", "DK", "NL"],
        },
        "Address": {
            "type": "object",
            "description": prose.text(2),
            "properties": {
                "line1": {"type": "string", "maxLength": 200, "description": prose.text(1)},
                "line2": {"type": ["string", "null"], "maxLength": 200, "description": prose.text(1)},
                "city": {"type": "string", "maxLength": 100, "description": prose.text(1)},
                "region": {"type": "string", "maxLength": 100, "description": prose.text(1)},
                "postal_code": {"type": "string", "maxLength": 20, "description": prose.text(1)},
                "country": {"$ref": "#/components/schemas/Country"},
            },
        },
        "Metadata": {
            "type": "object",
            "description": prose.text(2),
            "additionalProperties": {"type": "string", "maxLength": 500},
            "maxProperties": 50,
        },
        "ListEnvelope": {
            "type": "object",
            "description": prose.text(2),
            "required": ["object", "has_more"],
            "properties": {
                "object": {"type": "string", "enum": ["list"], "description": prose.text(1)},
                "has_more": {"type": "boolean", "description": prose.text(2)},
                "next_cursor": {"type": ["string", "null"], "description": prose.text(2)},
                "url": {"type": "string", "description": prose.text(1)},
            },
        },
        "Error": {
            "type": "object",
            "description": prose.text(2),
            "required": ["type", "code", "message"],
            "properties": {
                "type": {
                    "type": "string",
                    "enum": ["invalid_request_error", "api_error", "authentication_error", "rate_limit_error"],
                    "description": prose.text(1),
                },
                "code": {"type": "string", "description": prose.text(1)},
                "message": {"type": "string", "description": prose.text(1)},
                "param": {"type": ["string", "null"], "description": prose.text(1)},
                "doc_url": {"type": "string", "format": "uri", "description": prose.text(1)},
            },
        },
        "ErrorResponse": {
            "type": "object",
            "description": prose.text(1),
            "required": ["error"],
            "properties": {"error": {"$ref": "#/components/schemas/Error"}},
        },
    }
    parameters = {
        "Limit": {
            "name": "limit",
            "in": "query",
            "description": prose.text(3),
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        },
        "Cursor": {
            "name": "starting_after",
            "in": "query",
            "description": prose.text(3),
            "schema": {"type": "string"},
        },
        "CreatedAfter": {
            "name": "created_after",
            "in": "query",
            "description": prose.text(2),
            "schema": {"type": "string", "format": "date-time"},
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": prose.text(3),
            "schema": {"type": "string", "maxLength": 255},
        },
    }
    error_example = {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_invalid",
            "message": "The parameter is invalid.",
            "param": "name",
            "doc_url": "https://example.com/docs/errors#parameter_invalid",
        }
    }
    responses = {
        name: {
            "description": prose.text(1),
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorResponse"},
                    "examples": {"error": {"summary": prose.sentence(5), "value": error_example}},
                }
            },
        }
        for name in ["BadRequest", "Unauthorized", "NotFound", "UnprocessableEntity", "RateLimited"]
    }
    return schemas, parameters, responses


def realistic_resource(r, count, prose):
    noun = f"{NOUNS[r % len(NOUNS)]}_{r}"
    Name = camel(noun)
    ref = lambda n: {"$ref": f"#/components/schemas/{n}"}  # noqa: E731
    others = [f"{camel(NOUNS[o % len(NOUNS)])}{o}" for o in ((r + 1) % count, (r + 7) % count)]

    # The resource's own fields: scalars with prose, shared components, nested objects.
    fields, example = {}, {}
    writable = []
    for j in range(18):
        schema, value = SCALARS[(r + j) % len(SCALARS)]
        name = f"{WORDS[40 + (r * 3 + j * 5) % 60]}_{j}"
        fields[name] = dict(schema, description=prose.text(2 + j % 3))
        example[name] = value
        writable.append(name)
    fields["amount"] = dict(ref("Money"))
    example["amount"] = {"amount": 1000 + r, "currency": "USD"}
    fields["billing_address"] = ref("Address")
    example["billing_address"] = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
    fields["metadata"] = ref("Metadata")
    example["metadata"] = {"order_ref": f"A-{r}"}
    fields["settings"] = ref(f"{Name}Settings")
    example["settings"] = {"enabled": True, "mode": "live", "retries": 3, "notify_email": "ops@example.com"}
    fields["line_items"] = {"type": "array", "items": ref(f"{Name}LineItem"), "maxItems": 100, "description": prose.text(2)}
    example["line_items"] = [
        {"id": f"li_{r}_1", "description": "Item one", "quantity": 2, "unit_price": {"amount": 500, "currency": "USD"}}
    ]
    for o in others:
        key = f"{o.lower()}_ref"
        fields[key] = {"anyOf": [ref(f"{o}Summary"), {"type": "null"}], "description": prose.text(1)}
        example[key] = None
    writable += ["amount", "billing_address", "metadata", "settings", "line_items"]

    resource = {
        "type": "object",
        "description": prose.text(4),
        "required": ["id", "object", "created_at", "status"],
        "properties": {
            "id": {"type": "string", "description": prose.text(1), "readOnly": True},
            "object": {"type": "string", "enum": [noun], "description": prose.text(1)},
            "created_at": {"type": "string", "format": "date-time", "description": prose.text(1), "readOnly": True},
            "updated_at": {"type": "string", "format": "date-time", "description": prose.text(1), "readOnly": True},
            "status": ref(f"{Name}Status"),
            **fields,
        },
    }
    instance = lambda i: {  # noqa: E731
        "id": f"{noun[:3]}_{r:04d}{i:012d}",
        "object": noun,
        "created_at": "2024-03-01T12:00:00Z",
        "updated_at": "2024-03-02T08:30:00Z",
        "status": "active",
        **example,
    }
    schemas = {
        Name: resource,
        f"{Name}Status": {
            "type": "string",
            "description": prose.text(2),
            "enum": ["draft", "active", "paused", "canceled", "archived"],
        },
        f"{Name}Summary": {
            "type": "object",
            "description": prose.text(2),
            "required": ["id", "object"],
            "properties": {
                "id": {"type": "string", "description": prose.text(1)},
                "object": {"type": "string", "enum": [noun]},
                "name": {"type": "string", "description": prose.text(1)},
            },
        },
        f"{Name}Settings": {
            "type": "object",
            "description": prose.text(2),
            "properties": {
                "enabled": {"type": "boolean", "description": prose.text(2)},
                "mode": {"type": "string", "enum": ["test", "live"], "description": prose.text(2)},
                "retries": {"type": "integer", "minimum": 0, "maximum": 10, "description": prose.text(2)},
                "notify_email": {"type": "string", "format": "email", "description": prose.text(1)},
                "timezone": {"type": "string", "description": prose.text(1)},
            },
        },
        f"{Name}LineItem": {
            "type": "object",
            "description": prose.text(2),
            "required": ["id", "quantity"],
            "properties": {
                "id": {"type": "string", "description": prose.text(1)},
                "description": {"type": "string", "maxLength": 500, "description": prose.text(1)},
                "quantity": {"type": "integer", "minimum": 1, "description": prose.text(1)},
                "unit_price": ref("Money"),
                "tax_rate": {"type": "number", "minimum": 0, "maximum": 100, "description": prose.text(1)},
            },
        },
        f"{Name}CreateRequest": {
            "type": "object",
            "description": prose.text(2),
            "required": [writable[0]],
            "properties": {k: resource["properties"][k] for k in writable},
            "additionalProperties": False,
        },
        f"{Name}UpdateRequest": {
            "type": "object",
            "description": prose.text(2),
            "properties": {k: resource["properties"][k] for k in writable},
            "additionalProperties": False,
        },
        f"{Name}List": {
            "description": prose.text(2),
            "allOf": [
                ref("ListEnvelope"),
                {
                    "type": "object",
                    "required": ["data"],
                    "properties": {"data": {"type": "array", "items": ref(Name), "description": prose.text(1)}},
                },
            ],
        },
    }
    # Every third resource answers single items in an envelope named after it (Square's style).
    enveloped = r % 3 == 0
    if enveloped:
        schemas[f"{Name}Response"] = {
            "type": "object",
            "description": prose.text(2),
            "properties": {noun: ref(Name), "errors": {"type": "array", "items": ref("Error")}},
        }
    single = f"{Name}Response" if enveloped else Name
    wrap = (lambda v: {noun: v}) if enveloped else (lambda v: v)  # noqa: E731

    def body(schema, value):
        return {
            "description": prose.text(1),
            "content": {
                "application/json": {
                    "schema": ref(schema),
                    "examples": {"example": {"summary": prose.sentence(6), "value": value}},
                }
            },
        }

    err = lambda name: {"$ref": f"#/components/responses/{name}"}  # noqa: E731
    errors = {"400": err("BadRequest"), "401": err("Unauthorized"), "429": err("RateLimited")}
    create_example = {k: example[k] for k in writable}
    coll, item = f"/v1/{noun}s", f"/v1/{noun}s/{{{noun}_id}}"
    id_param = {"name": f"{noun}_id", "in": "path", "required": True, "description": prose.text(1), "schema": {"type": "string"}}
    op = lambda verb, summary: {  # noqa: E731
        "operationId": f"{verb}{Name}",
        "summary": summary,
        "description": prose.text(5, 16),
        "tags": [camel(NOUNS[r % len(NOUNS)])],
    }
    paths = {
        coll: {
            "get": {
                **op("list", f"List {noun}s"),
                "parameters": [
                    {"$ref": "#/components/parameters/Limit"},
                    {"$ref": "#/components/parameters/Cursor"},
                    {"$ref": "#/components/parameters/CreatedAfter"},
                    {"name": "status", "in": "query", "description": prose.text(2), "schema": ref(f"{Name}Status")},
                ],
                "responses": {
                    "200": body(f"{Name}List", {"object": "list", "has_more": False, "next_cursor": None, "url": coll,
                                                "data": [instance(1), instance(2)]}),
                    **errors,
                },
            },
            "post": {
                **op("create", f"Create a {noun}"),
                "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                "requestBody": {"required": True, **body(f"{Name}CreateRequest", create_example)},
                "responses": {"201": body(single, wrap(instance(3))), **errors, "422": err("UnprocessableEntity")},
            },
        },
        item: {
            "parameters": [id_param],
            "get": {
                **op("retrieve", f"Retrieve a {noun}"),
                "responses": {"200": body(single, wrap(instance(1))), **errors, "404": err("NotFound")},
            },
            "patch": {
                **op("update", f"Update a {noun}"),
                "requestBody": {"required": True, **body(f"{Name}UpdateRequest", {writable[0]: example[writable[0]]})},
                "responses": {"200": body(single, wrap(instance(1))), **errors, "404": err("NotFound"),
                              "422": err("UnprocessableEntity")},
            },
            "delete": {
                **op("delete", f"Delete a {noun}"),
                "responses": {"204": {"description": prose.text(1)}, **errors, "404": err("NotFound")},
            },
        },
        f"{item}/cancel": {
            "parameters": [id_param],
            "post": {
                **op("cancel", f"Cancel a {noun}"),
                "responses": {"200": body(single, wrap(dict(instance(1), status="canceled"))), **errors,
                              "404": err("NotFound")},
            },
        },
    }
    return schemas, paths


def realistic(resources):
    prose = Prose(7)
    schemas, parameters, responses = shared_components(prose)
    paths = {}
    for r in range(resources):
        s, p = realistic_resource(r, resources, prose)
        schemas.update(s)
        paths.update(p)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Large realistic API", "version": "2024-03-01", "description": prose.text(20)},
        "servers": [{"url": "https://api.example.com"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "parameters": parameters,
            "responses": responses,
        },
    }


def main():
    args = sys.argv[1:]
    style = "realistic" if args[:1] == ["--realistic"] else "chains"
    if style == "realistic":
        args = args[1:]
    out = args[0] if args else os.path.join("bench", "out", "large.json" if style == "chains" else "realistic.json")
    if style == "realistic":
        resources = int(args[1]) if len(args) > 1 else 200
        doc = realistic(resources)
        text = json.dumps(doc, indent=2)  # published specs are indented; their size on disk counts it
    else:
        resources = int(args[1]) if len(args) > 1 else 300
        depth = int(args[2]) if len(args) > 2 else 12
        doc = chains(resources, depth)
        text = json.dumps(doc, separators=(",", ":"))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    ops = sum(1 for item in doc["paths"].values() for k in item if k in ("get", "put", "post", "patch", "delete"))
    print(
        f"{out}: {len(doc['paths'])} paths, {ops} operations, {len(doc['components']['schemas'])} schemas, "
        f"{os.path.getsize(out) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
