"""Bundles a multi-file OpenAPI document into one JSON document whose `$ref`s are all local.

Usage: python bundle_openapi.py ROOT.yaml OUT.json

For Schemathesis (.ci/schemathesis-corpus.sh), which loads DigitalOcean's ~2,900-file spec but then
reports "Path parameter ... is not defined" for every operation whose parameters are `$ref`s relative to
the operation's own file (the root document writes operations as `$ref`s to other files). This is an
independent reading of the files (not specbox's own bundler, which is what is under test):

- a path item or an operation that is a `$ref` to another file is inlined, and the `$ref`s inside it are
  read relative to that file;
- every other `$ref` into another file points at a copy of its target under `/x-st-bundled/<key>` (one
  copy per target, so recursive schemas stay recursive; the key names the file and the pointer); `$ref`s into the root document stay as they are;
- a `properties` map given as a `$ref` (`properties: {$ref: 'attributes.yml#/x'}`, a shared map of
  properties, as DigitalOcean writes it) is replaced by its target, as JSON Reference reads it;
- `example` values and the `value` of Example objects are literal data and are copied untouched.

YAML is read as JSON would hold it: an unquoted date stays a string.
"""

import json
import os
import sys
import urllib.parse

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STORE = "x-st-bundled"  # not Schemathesis' own `x-bundled`, whose `$ref`s it takes as already bundled


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML as JSON sees it: no timestamps."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Bundler:
    def __init__(self, root_path):
        self.root_path = os.path.abspath(root_path)
        self.docs = {}
        self.keys = {}  # (file, fragment) -> key under /x-st-bundled
        self.store = {}

    def load(self, path):
        if path not in self.docs:
            with open(path, encoding="utf-8") as f:
                self.docs[path] = json.load(f) if path.endswith(".json") else yaml.load(f, Loader=Loader)
        return self.docs[path]

    def get(self, path, fragment):
        node = self.load(path)
        for part in fragment.split("/")[1:] if fragment else []:
            part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    @staticmethod
    def target(base, ref):
        file, _, fragment = ref.partition("#")
        if file:
            file = os.path.normpath(os.path.join(os.path.dirname(base), urllib.parse.unquote(file)))
        return (file or base), fragment

    def local(self, file, fragment):
        if file == self.root_path:
            return "#" + fragment
        key = self.keys.get((file, fragment))
        if key is None:
            key = self.keys[(file, fragment)] = self.key_for(file, fragment)
            self.store[key] = None  # reserved before its content is rewritten: a cycle finds the key
            self.store[key] = self.rewrite(self.get(file, fragment), file)
        return f"#/{STORE}/{key}"

    def key_for(self, file, fragment):
        """A readable key: the file relative to the root document's folder, `/` written `.`, then `:` and
        the fragment (`resources.droplets.models.droplet.yml:droplet`), so failures say where they are."""
        name = os.path.relpath(file, os.path.dirname(self.root_path)).replace(os.sep, ".")
        if fragment.strip("/"):
            name += ":" + ".".join(urllib.parse.unquote(p) for p in fragment.strip("/").split("/"))
        name = "".join(c if c.isalnum() or c in "._:-" else "_" for c in name)
        key, n = name, 1
        while key in self.store:
            n += 1
            key = f"{name}_{n}"
        return key

    def rewrite(self, node, base, role=None):
        """`role`: "map" for the value of a `properties` keyword (property name -> schema)."""
        if isinstance(node, list):
            return [self.rewrite(v, base) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if role == "map":
            if set(node) == {"$ref"} and isinstance(ref, str):
                file, fragment = self.target(base, ref)
                return self.rewrite(self.get(file, fragment), file, "map")
            return {name: self.rewrite(schema, base) for name, schema in node.items()}
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = self.local(*self.target(base, value))
            elif key == "example":
                out[key] = value
            elif key == "examples" and isinstance(value, dict):
                out[key] = {name: self.example(ex, base) for name, ex in value.items()}
            elif key == "examples":
                out[key] = value  # JSON Schema's list of literal examples
            else:
                out[key] = self.rewrite(value, base, "map" if key == "properties" else None)
        if isinstance(ref, str):
            out["$ref"] = out.pop("$ref")
        return out

    def example(self, node, base):
        """An Example Object (its `value` is literal) or a Reference Object to one."""
        if not isinstance(node, dict) or "$ref" in node:
            return self.rewrite(node, base)
        return {k: (v if k == "value" else self.rewrite(v, base)) for k, v in node.items()}

    def inline(self, node, base):
        """A path item or operation given as a `$ref`: its target, and the file it is in."""
        while isinstance(node, dict) and set(node) == {"$ref"} and isinstance(node["$ref"], str):
            file, fragment = self.target(base, node["$ref"])
            node, base = self.get(file, fragment), file
        return node, base

    def bundle(self):
        root = self.load(self.root_path)
        out = self.rewrite({k: v for k, v in root.items() if k != "paths"}, self.root_path)
        paths = {}
        for path, item in (root.get("paths") or {}).items():
            item, base = self.inline(item, self.root_path)
            new = {}
            for key, value in item.items():
                if key in HTTP_METHODS:
                    operation, operation_base = self.inline(value, base)
                    new[key] = self.rewrite(operation, operation_base)
                else:
                    new[key] = self.rewrite(value, base)
            paths[path] = new
        out["paths"] = paths
        out[STORE] = self.store
        return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bundle_openapi.py ROOT OUT.json")
    bundled = Bundler(sys.argv[1]).bundle()
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(bundled, f)
