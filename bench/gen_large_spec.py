#!/usr/bin/env python3
"""Writes a synthetic OpenAPI 3.1 document of about 5 MB, to time specbox's startup on a big spec.

    python3 bench/gen_large_spec.py [OUT] [RESOURCES] [DEPTH]

Defaults: OUT=bench/out/large.json, RESOURCES=300, DEPTH=12. Each resource gets a collection path
(list + create) and an item path (read, update, replace, delete), so 600 paths and 1,800 operations.
Its schema is a chain of DEPTH schemas, each level an allOf of a shared base schema and its own
properties with a $ref to the next level, so every operation's schema resolves through DEPTH+ levels
of $ref (and a shared pool of "Common" schemas referenced from every level).
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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("bench", "out", "large.json")
    resources = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 12
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
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Large synthetic API", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{out}: {len(paths)} paths, {len(schemas)} schemas, {os.path.getsize(out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
