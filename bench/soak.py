#!/usr/bin/env python3
"""Soak run for specbox (issue #7).

Drives a running specbox (started by bench/soak.sh with --chaos-rate 0.05 --journal-size 500) with
mixed load from N worker threads for a fixed time, then checks:

  validity     every response validates against the schema the spec declares for its operation and
               status (undeclared 400/404/422: the API's common error schema; injected responses:
               the declared schema for their status, else the common error schema)
  5xx          no 5xx without an X-Specbox-Injected header
  journal      GET /__specbox/requests never returns more than --journal-size entries
  rss          RSS after warm-up grows no faster than the stored data explains
  consistency  at the end: every created object reads back, lists are complete and hold no
               duplicates, SwissPay unique fields are unique, every payment's customer exists
  semantics    during the run: each answer is the one the known state calls for (a read of a
               created customer is a 200 with its id, a duplicate email is customer_email_taken,
               an inline payment reuses the customer with that email, ...)
  transport    no connection errors (no network faults are injected, so there should be none)
  chaos-share  the share of injected responses is near the chaos rate (5 sigma)

Only the standard library plus jsonschema, referencing and pyyaml (pinned by soak.sh).
Every exchange is written to OUT/exchanges.jsonl.gz; the summary to stdout and OUT/summary.json.
Exit 0 when every check passed, 1 otherwise.
"""

import argparse
import collections
import gc
import gzip
import http.client
import json
import math
import os
import random
import re
import sys
import threading
import time
import urllib.parse

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

INJECTED = "x-specbox-injected"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# ---------------------------------------------------------------------------------------------
# Specs and response validation
# ---------------------------------------------------------------------------------------------

SPECS = {
    # key: (file, mount, common error schema)
    "ap": ("specs/alternative-payments.yaml", "", "#/components/schemas/HttpError"),
    "sp": ("specs/swisspay.yaml", "/api/v1", "#/components/schemas/Error"),
}


def pointer_escape(s):
    return s.replace("~", "~0").replace("/", "~1")


class Contract:
    """Both specs, one referencing Registry, and a validator per (spec, schema pointer)."""

    def __init__(self, root):
        self.docs = {}
        resources = []
        for key, (path, _mount, _err) in SPECS.items():
            with open(os.path.join(root, path), encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            self.docs[key] = doc
            resources.append((self.uri(key), Resource.from_contents(doc, default_specification=DRAFT202012)))
        self.registry = Registry().with_resources(resources)
        self.format_checker = FormatChecker()
        self.validators = {}
        self.lock = threading.Lock()
        # operationId -> {status: (pointer, content types) }
        self.ops = {}
        for key, doc in self.docs.items():
            for path, item in doc["paths"].items():
                for method, op in item.items():
                    if method not in ("get", "post", "put", "patch", "delete"):
                        continue
                    responses = {}
                    for status, resp in (op.get("responses") or {}).items():
                        content = resp.get("content") or {}
                        ptr = None
                        types = list(content)
                        for ctype, media in content.items():
                            if "schema" in media:
                                ptr = "#/paths/%s/%s/responses/%s/content/%s/schema" % (
                                    pointer_escape(path), method, status, pointer_escape(ctype))
                                break
                        responses[str(status)] = (ptr, types)
                    self.ops[(key, op["operationId"])] = responses

    @staticmethod
    def uri(key):
        return "urn:specbox-soak:%s" % key

    def validator(self, key, pointer):
        k = (key, pointer)
        with self.lock:
            v = self.validators.get(k)
            if v is None:
                v = Draft202012Validator(
                    {"$ref": self.uri(key) + pointer}, registry=self.registry, format_checker=self.format_checker
                )
                self.validators[k] = v
            return v

    def check(self, rec):
        """Problems (a list of strings) with one response of an operation."""
        key, op = rec["spec"], rec["op"]
        status = rec["status"]
        injected = INJECTED in rec["headers"]
        responses = self.ops[(key, op)]
        common = SPECS[key][2]
        problems = []
        declared = responses.get(str(status))
        if declared is None and str(status)[0] + "XX" in responses:
            declared = responses[str(status)[0] + "XX"]
        if declared is None and "default" in responses:
            declared = responses["default"]
        if status == 401 and not injected:
            return ["401 although the credentials were good"]
        if declared is not None:
            pointer, types = declared
        elif injected:
            pointer, types = common, ["application/json"]
        elif status in (400, 404, 422):
            pointer, types = common, ["application/json"]
        else:
            return ["status %d is not declared by %s (and not injected)" % (status, op)]
        ctype = (rec["headers"].get("content-type") or "").split(";")[0].strip().lower()
        if pointer is None:
            if rec["body"]:
                problems.append("a body (%d bytes) where %s %d declares none" % (len(rec["body"]), op, status))
            return problems
        if ctype not in [t.lower() for t in types]:
            problems.append("content-type %r, the spec declares %s" % (ctype, types))
        try:
            body = json.loads(rec["body"])
        except ValueError as e:
            problems.append("body is not JSON (%s): %r" % (e, rec["body"][:200]))
            return problems
        errors = sorted(self.validator(key, pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
        for e in errors[:5]:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            problems.append("schema %s: at %s: %s" % (pointer.rsplit("/", 1)[-1] if pointer.startswith("#/components") else
                                                       "%s %s" % (op, status), where, e.message[:300]))
        return problems


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


class Recorder:
    def __init__(self, out_dir, t0):
        self.t0 = t0
        self.lock = threading.Lock()
        self.records = []
        self.failures = collections.defaultdict(list)  # check -> [(message, rec or None)]
        self.warnings = []
        self.path = os.path.join(out_dir, "exchanges.jsonl.gz")

    def add(self, rec):
        rec["t"] = round(time.monotonic() - self.t0, 3)
        with self.lock:
            rec["n"] = len(self.records)
            self.records.append(rec)

    def fail(self, check, message, rec=None):
        with self.lock:
            self.failures[check].append((message, rec))

    def warn(self, message):
        with self.lock:
            self.warnings.append(message)

    def dump(self):
        with gzip.open(self.path, "wt", encoding="utf-8", compresslevel=1) as f:
            for r in self.records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


def describe(rec, limit=700):
    """A request and its response, for a failure report."""
    if rec is None:
        return ""
    req = rec.get("req")
    where = "" if "n" not in rec else ", t=%.1fs, exchange #%d" % (rec["t"], rec["n"])
    lines = ["    > %s %s  [%s, tenant %s%s]" % (rec["method"], rec["path"], rec.get("op"), rec.get("tenant"), where)]
    if req is not None:
        lines.append("    > " + json.dumps(req, ensure_ascii=False)[:limit])
    if rec.get("err"):
        lines.append("    < transport error: %s" % rec["err"])
    else:
        hdrs = {k: v for k, v in rec["headers"].items() if k in ("content-type", INJECTED)}
        lines.append("    < %s %s" % (rec["status"], json.dumps(hdrs)))
        lines.append("    < " + (rec["body"] or "")[:limit])
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class Client:
    """One persistent HTTP/1.1 connection; reconnects after a connection error."""

    def __init__(self, host, port, recorder, timeout=30):
        self.host, self.port, self.timeout = host, port, timeout
        self.recorder = recorder
        self.conn = None
        self.transport_errors = 0

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def call(self, spec, op, tenant, method, path, body=None, headers=None, form=None, record=True, phase="load"):
        h = {"Accept": "application/json"}
        h.update(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        rec = {"spec": spec, "op": op, "tenant": tenant, "method": method, "path": path,
               "req": body, "phase": phase, "status": None, "headers": {}, "body": "", "err": None}
        # GETs are retried once on a stale connection; writes are not (their outcome is unknown).
        attempts = 2 if method == "GET" else 1
        for attempt in range(attempts):
            if self.conn is None:
                self._connect()
            started = time.monotonic()
            try:
                self.conn.request(method, path, body=data, headers=h)
                resp = self.conn.getresponse()
                raw = resp.read()
                rec["status"] = resp.status
                rec["headers"] = {k.lower(): v for k, v in resp.getheaders()}
                rec["body"] = raw.decode("utf-8", errors="replace")
                rec["ms"] = round((time.monotonic() - started) * 1000, 2)
                rec["err"] = None
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                break
            except (OSError, http.client.HTTPException) as e:
                self.transport_errors += 1
                rec["err"] = "%s: %s (attempt %d)" % (type(e).__name__, e, attempt + 1)
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
        if record:
            self.recorder.add(rec)
        if rec["err"]:
            self.recorder.fail("transport", "%s %s: %s" % (method, path, rec["err"]), rec)
        return rec


def injected(rec):
    return INJECTED in rec["headers"]


def body_json(rec):
    try:
        return json.loads(rec["body"])
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Known state
# ---------------------------------------------------------------------------------------------


class State:
    """What the soak knows it created. Writes to a customer's archive state are done only by the
    worker that created it, so the expected answer of every archive/restore is known exactly."""

    def __init__(self, sp_tenants):
        self.lock = threading.Lock()
        self.ap_ids = []  # every AP customer that got a 201
        self.ap = {}  # id -> {"owner": worker, "archived": bool, "name": str, "email": str}
        self.ap_users = collections.defaultdict(dict)  # customer id -> {user id: email}
        self.sp = {t: {"ids": [], "cust": {}, "payments": {}} for t in sp_tenants}
        self.sp_unknown_emails = {t: set() for t in sp_tenants}  # creates whose outcome is unknown
        self.created = collections.Counter()  # kind -> objects stored

    def items(self):
        with self.lock:
            return sum(self.created.values())


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------

LOCALES = ["de-CH", "fr-CH", "it-CH", "rm-CH", "en-US", "en-GB", "de-DE", "fr-FR"]
COUNTRIES = ["CH", "DE", "FR", "IT", "AT", "LI", "US", "GB", "NO"]
CITIES = ["Zürich", "Genève", "Lausanne", "Bern", "Basel", "Lugano", "Chur", "St. Gallen"]
US_STATES = ["IL", "NC", "TX", "CA", "NY", "WA", "CO"]

AP_OPS = [
    ("ap_create", 12), ("ap_get", 12), ("ap_patch", 8), ("ap_list", 6), ("ap_archive", 5),
    ("ap_restore", 4), ("ap_user_create", 5), ("ap_user_list", 4), ("ap_get_missing", 1),
]
READ_OPS = {"ap_get", "ap_list", "ap_user_list", "ap_get_missing", "sp_get", "sp_list", "sp_pay_list", "sp_get_missing"}
SP_OPS = [
    ("sp_create", 14), ("sp_get", 12), ("sp_list", 6), ("sp_pay_by_id", 6), ("sp_pay_inline", 4),
    ("sp_pay_list", 4), ("sp_create_invalid", 1), ("sp_get_missing", 1),
]


class Worker(threading.Thread):
    def __init__(self, idx, ctx):
        super().__init__(name="soak-%d" % idx, daemon=True)
        self.idx = idx
        self.ctx = ctx
        self.rng = random.Random(ctx.seed * 1000 + idx)
        self.client = Client(ctx.host, ctx.port, ctx.rec)
        self.mine = []  # AP customers this worker created: ids
        self.serial = 0
        ops = AP_OPS + SP_OPS
        self.ops = [o for o, _ in ops]
        self.weights = [w for _, w in ops]
        self.read_ops = [o for o in self.ops if o in READ_OPS]
        self.read_weights = [w for o, w in ops if o in READ_OPS]
        self.ops_done = collections.Counter()
        self.phase = "load"
        self.error = None

    # helpers ---------------------------------------------------------------------------------

    def uid(self):
        self.serial += 1
        return "w%d-%d-%04x" % (self.idx, self.serial, self.rng.getrandbits(16))

    def semantic(self, rec, message):
        if not injected(rec) and rec["err"] is None:
            self.ctx.rec.fail("semantics", message, rec)

    def ap(self, op, method, path, body=None, phase=None):
        return self.client.call("ap", op, "ap", method, path, body=body,
                                headers={"Authorization": "Bearer " + self.ctx.ap_token}, phase=phase or self.phase)

    def sp(self, tenant, op, method, path, body=None, headers=None, phase=None):
        h = {"Authorization": "Bearer " + tenant}
        h.update(headers or {})
        return self.client.call("sp", op, tenant, method, "/api/v1" + path, body=body, headers=h, phase=phase or self.phase)

    def ok(self, rec, status):
        """True when the answer is a real (not injected, not failed) `status`; flags other real answers."""
        if rec["err"] is not None or injected(rec):
            return False
        if rec["status"] != status:
            self.semantic(rec, "expected %d, got %d" % (status, rec["status"]))
            return False
        return True

    def run(self):
        try:
            # Mixed load, then (when asked) reads only: with nothing new stored, RSS should stay flat.
            for phase, deadline, ops, weights in (("load", self.ctx.deadline, self.ops, self.weights),
                                                  ("steady", self.ctx.steady_deadline, self.read_ops, self.read_weights)):
                self.phase = phase
                while time.monotonic() < deadline and not self.ctx.stop.is_set():
                    op = self.rng.choices(ops, weights)[0]
                    getattr(self, op)()
                    self.ops_done[phase] += 1
            self.phase = "final"
        except Exception as e:  # a bug in the soak script itself
            import traceback
            self.error = traceback.format_exc()
            self.ctx.rec.fail("script", "worker %d crashed: %r" % (self.idx, e))

    # Alternative Payments --------------------------------------------------------------------

    def ap_create(self):
        u = self.uid()
        body = {"name": "Soak Co %s" % u, "email": "ap-%s@soak.example.com" % u}
        if self.rng.random() < 0.7:
            body.update({
                "legal_name": "Soak Co %s LLC" % u, "ein": "%02d-%07d" % (self.rng.randint(10, 99), self.rng.randint(0, 9999999)),
                "external_id": "EXT-%s" % u, "street_address": "%d Main St" % self.rng.randint(1, 9999),
                "city": "Austin", "state": self.rng.choice(US_STATES), "postal_code": "%05d" % self.rng.randint(0, 99999),
                "country": "US",
            })
        rec = self.ap("createCustomer", "POST", "/customers", body)
        if self.ok(rec, 201):
            b = body_json(rec) or {}
            cid = b.get("id")
            if not isinstance(cid, str) or not cid:
                self.semantic(rec, "201 without an id")
                return
            for k, v in body.items():
                if b.get(k) != v:
                    self.semantic(rec, "created customer's %s is %r, sent %r" % (k, b.get(k), v))
                    break
            with self.ctx.state.lock:
                if cid in self.ctx.state.ap:
                    self.ctx.rec.fail("consistency", "createCustomer returned an id that was already given out: %s" % cid, rec)
                self.ctx.state.ap[cid] = {"owner": self.idx, "archived": False, "name": body["name"], "email": body["email"]}
                self.ctx.state.ap_ids.append(cid)
                self.ctx.state.created["ap_customer"] += 1
            self.mine.append(cid)

    def any_ap(self):
        with self.ctx.state.lock:
            ids = self.ctx.state.ap_ids
            return self.rng.choice(ids) if ids else None

    def ap_get(self):
        cid = self.any_ap()
        if cid is None:
            return self.ap_create()
        rec = self.ap("getCustomer", "GET", "/customers/" + cid)
        if self.ok(rec, 200):
            b = body_json(rec) or {}
            if b.get("id") != cid:
                self.semantic(rec, "getCustomer %s answered with id %r" % (cid, b.get("id")))

    def ap_get_missing(self):
        rec = self.ap("getCustomer", "GET", "/customers/00000000-0000-4000-8000-%012x" % self.rng.getrandbits(48))
        self.ok(rec, 404)

    def ap_patch(self):
        if not self.mine:
            return self.ap_create()
        cid = self.rng.choice(self.mine)
        patch = self.rng.choice([
            {"city": self.rng.choice(["Austin", "Denver", "Boston", "Seattle"])},
            {"name": "Soak Renamed %s" % self.uid()},
            {"postal_code": "%05d" % self.rng.randint(0, 99999), "state": self.rng.choice(US_STATES)},
            {"sub_premise": "Suite %d" % self.rng.randint(1, 999), "street_address": "%d Elm St" % self.rng.randint(1, 999)},
        ])
        rec = self.ap("updateCustomer", "PATCH", "/customers/" + cid, patch)
        if self.ok(rec, 200):
            b = body_json(rec) or {}
            if b.get("id") != cid:
                self.semantic(rec, "updateCustomer %s answered with id %r" % (cid, b.get("id")))
            for k, v in patch.items():
                if b.get(k) != v:
                    self.semantic(rec, "patched %s is %r, sent %r" % (k, b.get(k), v))
                    break
            if "name" in patch:
                with self.ctx.state.lock:
                    self.ctx.state.ap[cid]["name"] = patch["name"]

    def ap_archive(self):
        if not self.mine:
            return self.ap_create()
        cid = self.rng.choice(self.mine)
        with self.ctx.state.lock:
            archived = self.ctx.state.ap[cid]["archived"]
        rec = self.ap("archiveCustomer", "DELETE", "/customers/" + cid)
        if archived:
            self.ok(rec, 400)  # already archived
        elif self.ok(rec, 200):
            b = body_json(rec) or {}
            if b.get("id") != cid:
                self.semantic(rec, "archiveCustomer %s answered with id %r" % (cid, b.get("id")))
            with self.ctx.state.lock:
                self.ctx.state.ap[cid]["archived"] = True

    def ap_restore(self):
        if not self.mine:
            return self.ap_create()
        with self.ctx.state.lock:
            archived = [c for c in self.mine if self.ctx.state.ap[c]["archived"]]
        if archived and self.rng.random() < 0.85:
            cid, was = self.rng.choice(archived), True
        else:
            cid = self.rng.choice(self.mine)
            with self.ctx.state.lock:
                was = self.ctx.state.ap[cid]["archived"]
        rec = self.ap("restoreCustomer", "POST", "/customers/%s/restore" % cid)
        if not was:
            self.ok(rec, 400)  # not archived
        elif self.ok(rec, 200):
            with self.ctx.state.lock:
                self.ctx.state.ap[cid]["archived"] = False

    def ap_list(self):
        limit = self.rng.choice([5, 10, 20, 50, 100])
        pages = self.rng.choice([1, 1, 1, 2, 3, 5])
        after = None
        seen = set()
        for _ in range(pages):
            q = {"limit": limit}
            if after:
                q["after"] = after
            if self.rng.random() < 0.1:
                q["company_name"] = "soak"
            rec = self.ap("listCustomers", "GET", "/customers?" + urllib.parse.urlencode(q))
            if not self.ok(rec, 200):
                return
            b = body_json(rec) or {}
            data = b.get("data") or []
            if len(data) > limit:
                self.semantic(rec, "listCustomers limit=%d returned %d items" % (limit, len(data)))
            for c in data:
                if c.get("id") in seen:
                    self.semantic(rec, "a forward cursor walk saw %s twice" % c.get("id"))
                seen.add(c.get("id"))
                if "company_name" in q and "soak" not in (c.get("name") or "").lower():
                    self.semantic(rec, "company_name=soak matched %r" % c.get("name"))
            if not b.get("has_next_page") or not b.get("end_cursor"):
                return
            after = b["end_cursor"]

    def ap_user_create(self):
        cid = self.any_ap()
        if cid is None:
            return self.ap_create()
        u = self.uid()
        body = {"email": "user-%s@soak.example.com" % u, "first_name": "Ada", "last_name": "Soak %s" % u}
        rec = self.ap("createCustomerUser", "POST", "/customers/%s/users" % cid, body)
        if self.ok(rec, 201):
            b = body_json(rec) or {}
            uid = b.get("id")
            if not uid:
                self.semantic(rec, "201 without an id")
                return
            if b.get("email") != body["email"]:
                self.semantic(rec, "created user's email is %r, sent %r" % (b.get("email"), body["email"]))
            with self.ctx.state.lock:
                self.ctx.state.ap_users[cid][uid] = body["email"]
                self.ctx.state.created["ap_user"] += 1

    def ap_user_list(self):
        with self.ctx.state.lock:
            with_users = list(self.ctx.state.ap_users)
        if with_users and self.rng.random() < 0.8:
            cid = self.rng.choice(with_users)
        else:
            cid = self.any_ap()
            if cid is None:
                return self.ap_create()
        with self.ctx.state.lock:
            expected = set(self.ctx.state.ap_users.get(cid, {}))
        got, rec = self.walk_ap_users(cid, limit=self.rng.choice([2, 10, 100]))
        if got is None:
            return
        missing = expected - got
        if missing:
            self.semantic(rec, "listCustomerUsers of %s lacks %d created users, e.g. %s" % (cid, len(missing), sorted(missing)[0]))

    def walk_ap_users(self, cid, limit, phase=None, retries=0):
        """Every user id of a customer (cursor walk); (None, rec) when a page failed."""
        got, after = set(), None
        for _ in range(1000):
            q = {"limit": limit}
            if after:
                q["after"] = after
            for attempt in range(retries + 1):
                rec = self.ap("listCustomerUsers", "GET", "/customers/%s/users?%s" % (cid, urllib.parse.urlencode(q)), phase=phase)
                if rec["err"] is None and not injected(rec):
                    break
            if not self.ok(rec, 200):
                return None, rec
            b = body_json(rec) or {}
            for u in b.get("data") or []:
                if u.get("id") in got:
                    self.semantic(rec, "listCustomerUsers walk saw user %s twice" % u.get("id"))
                got.add(u.get("id"))
            if not b.get("has_next_page") or not b.get("end_cursor"):
                return got, rec
            after = b["end_cursor"]
        return got, rec

    # SwissPay --------------------------------------------------------------------------------

    def sp_tenant(self):
        return self.rng.choice(self.ctx.sp_tenants)

    def sp_customer_body(self, email):
        u = self.uid()
        body = {"email": email, "name": "Soak Kunde %s" % u}
        r = self.rng.random()
        if r < 0.8:
            body["locale"] = self.rng.choice(LOCALES)
            body["phone"] = "+41 79 %03d %02d %02d" % (self.rng.randint(0, 999), self.rng.randint(0, 99), self.rng.randint(0, 99))
            body["billing_address"] = {"line1": "Bahnhofstrasse %d" % self.rng.randint(1, 200),
                                       "city": self.rng.choice(CITIES), "postal_code": "%04d" % self.rng.randint(1000, 9999),
                                       "country": self.rng.choice(COUNTRIES)}
        if r < 0.4:
            body["delivery_address"] = {"line1": "Seestrasse %d" % self.rng.randint(1, 200), "line2": "c/o Soak",
                                        "city": self.rng.choice(CITIES), "postal_code": "%04d" % self.rng.randint(1000, 9999),
                                        "state": "ZH", "country": self.rng.choice(COUNTRIES)}
            body["date_of_birth"] = "19%02d-%02d-%02d" % (self.rng.randint(40, 99), self.rng.randint(1, 12), self.rng.randint(1, 28))
        if r < 0.3:
            body["metadata"] = {"plan": self.rng.choice(["free", "pro"]), "soak": u}
        if self.rng.random() < 0.5:
            body["external_id"] = "ext_%s" % u
        return body

    def sp_register(self, tenant, cid, body, rec):
        st = self.ctx.state
        with st.lock:
            t = st.sp[tenant]
            if cid in t["cust"]:
                self.ctx.rec.fail("consistency", "a create returned an existing customer id %s" % cid, rec)
                return
            t["cust"][cid] = {"email": body["email"], "external_id": body.get("external_id"),
                              "delivery_address": body.get("delivery_address"), "date_of_birth": body.get("date_of_birth")}
            t["ids"].append(cid)
            st.created["sp_customer"] += 1

    def sp_known(self, tenant):
        with self.ctx.state.lock:
            ids = self.ctx.state.sp[tenant]["ids"]
            if not ids:
                return None, None
            cid = self.rng.choice(ids)
            return cid, dict(self.ctx.state.sp[tenant]["cust"][cid])

    def sp_create(self):
        tenant = self.sp_tenant()
        r = self.rng.random()
        dup = None
        cid0, known = self.sp_known(tenant)
        body = self.sp_customer_body("sp-%s@soak.example.com" % self.uid())
        if known and r < 0.10:
            # The same email again, in another case: customer_email_taken.
            dup = "email"
            email = known["email"]
            body["email"] = email.upper() if self.rng.random() < 0.5 else email[0].upper() + email[1:]
            body.pop("external_id", None)
        elif known and known["external_id"] and r < 0.15:
            dup = "external_id"
            body["external_id"] = known["external_id"]
        headers = {}
        key = None
        if self.rng.random() < 0.5:
            key = "soak-%s" % self.uid()
            headers["Idempotency-Key"] = key
        with self.ctx.state.lock:
            if dup is None:
                self.ctx.state.sp_unknown_emails[tenant].add(body["email"].lower())
        rec = self.sp(tenant, "createCustomer", "POST", "/customers", body, headers)
        if dup is not None:
            if self.ok(rec, 422):
                code = ((body_json(rec) or {}).get("error") or {}).get("code")
                want = "customer_email_taken" if dup == "email" else "customer_external_id_taken"
                if code != want:
                    self.semantic(rec, "a duplicate %s gave code %r, expected %s" % (dup, code, want))
            return
        if self.ok(rec, 201):
            b = body_json(rec) or {}
            cid = b.get("id")
            if not cid:
                self.semantic(rec, "201 without an id")
                return
            for k, v in body.items():
                if b.get(k) != v:
                    self.semantic(rec, "created customer's %s is %r, sent %r" % (k, b.get(k), v))
                    break
            self.sp_register(tenant, cid, body, rec)
            if key and self.rng.random() < 0.3:
                # Replay with the same key and body: the original result, no second customer.
                rep = self.sp(tenant, "createCustomer", "POST", "/customers", body, headers)
                if rep["err"] is None and not injected(rep):
                    rb = body_json(rep) or {}
                    if rep["status"] != 201 or rb.get("id") != cid:
                        self.semantic(rep, "an idempotent replay answered %s id %r, the original was 201 id %s"
                                      % (rep["status"], rb.get("id"), cid))
        with self.ctx.state.lock:
            if rec["err"] is None:
                self.ctx.state.sp_unknown_emails[tenant].discard(body["email"].lower())

    def sp_create_invalid(self):
        tenant = self.sp_tenant()
        body = self.sp_customer_body("sp-bad-%s@soak.example.com" % self.uid())
        body["billing_address"] = {"line1": "Nowhere 1", "city": "Atlantis", "country": "XX"}
        body.pop("external_id", None)
        rec = self.sp(tenant, "createCustomer", "POST", "/customers", body)
        if self.ok(rec, 422):
            err = (body_json(rec) or {}).get("error") or {}
            if err.get("code") != "invalid_params" or err.get("param") != "billing_address.country":
                self.semantic(rec, "a bad country gave %r/%r, expected invalid_params/billing_address.country"
                              % (err.get("code"), err.get("param")))

    def sp_get(self):
        tenant = self.sp_tenant()
        cid, known = self.sp_known(tenant)
        if cid is None:
            return self.sp_create()
        rec = self.sp(tenant, "retrieveCustomer", "GET", "/customers/" + cid)
        if self.ok(rec, 200):
            b = body_json(rec) or {}
            if b.get("id") != cid or (b.get("email") or "") != known["email"]:
                self.semantic(rec, "retrieveCustomer %s answered id %r email %r (created with %r)"
                              % (cid, b.get("id"), b.get("email"), known["email"]))

    def sp_get_missing(self):
        tenant = self.sp_tenant()
        rec = self.sp(tenant, "retrieveCustomer", "GET", "/customers/cus_01SOAK%020d" % self.rng.getrandbits(60))
        if self.ok(rec, 404):
            code = ((body_json(rec) or {}).get("error") or {}).get("code")
            if code != "resource_missing":
                self.semantic(rec, "an unknown customer gave code %r, expected resource_missing" % code)

    def sp_list(self):
        tenant = self.sp_tenant()
        cid, known = self.sp_known(tenant)
        if known and self.rng.random() < 0.35:
            email = known["email"]
            email = self.rng.choice([email, email.upper(), email.capitalize()])
            rec = self.sp(tenant, "listCustomers", "GET", "/customers?" + urllib.parse.urlencode({"email": email}))
            if self.ok(rec, 200):
                b = body_json(rec) or {}
                ids = [c.get("id") for c in b.get("data") or []]
                if ids != [cid] or b.get("total_count") != 1:
                    self.semantic(rec, "email=%s listed %s (total_count %r), expected exactly %s"
                                  % (email, ids[:5], b.get("total_count"), cid))
            return
        per_page = self.rng.choice([5, 20, 50, 100])
        pages = self.rng.choice([1, 1, 2, 3])
        seen = set()
        for page in range(1, pages + 1):
            rec = self.sp(tenant, "listCustomers", "GET", "/customers?page=%d&per_page=%d" % (page, per_page))
            if not self.ok(rec, 200):
                return
            b = body_json(rec) or {}
            data = b.get("data") or []
            if len(data) > per_page or b.get("page") != page or b.get("per_page") != per_page:
                self.semantic(rec, "page %d per_page %d answered %d items, page %r per_page %r"
                              % (page, per_page, len(data), b.get("page"), b.get("per_page")))
            for c in data:
                if c.get("id") in seen:
                    self.semantic(rec, "a page walk saw %s twice" % c.get("id"))
                seen.add(c.get("id"))
            if not b.get("has_more"):
                return

    def sp_pay_by_id(self):
        tenant = self.sp_tenant()
        cid, known = self.sp_known(tenant)
        if cid is None:
            return self.sp_create()
        body = {"amount": self.rng.randint(1, 100000), "currency": self.rng.choice(["CHF", "EUR", "USD"]), "customer": cid}
        if self.rng.random() < 0.5:
            body["description"] = "Soak order %s" % self.uid()
        rec = self.sp(tenant, "createPayment", "POST", "/payments", body)
        if self.ok(rec, 201):
            b = body_json(rec) or {}
            details = b.get("customer_details") or {}
            if b.get("customer") != cid:
                self.semantic(rec, "a payment for %s names customer %r" % (cid, b.get("customer")))
            elif details.get("delivery_address") != known["delivery_address"] or details.get("date_of_birth") != known["date_of_birth"]:
                self.semantic(rec, "payment customer_details %s differ from the customer's %s"
                              % (json.dumps(details), json.dumps({k: known[k] for k in ("delivery_address", "date_of_birth")})))
            self.sp_register_payment(tenant, b, rec)

    def sp_register_payment(self, tenant, b, rec):
        pid = b.get("id")
        if not pid:
            self.semantic(rec, "201 without an id")
            return
        with self.ctx.state.lock:
            pays = self.ctx.state.sp[tenant]["payments"]
            if pid in pays:
                self.ctx.rec.fail("consistency", "createPayment returned an existing id %s" % pid, rec)
            pays[pid] = b.get("customer")
            self.ctx.state.created["sp_payment"] += 1

    def sp_pay_inline(self):
        tenant = self.sp_tenant()
        cid, known = self.sp_known(tenant)
        body = {"amount": self.rng.randint(1, 100000), "currency": "CHF"}
        if known and self.rng.random() < 0.5:
            email = known["email"]
            body["customer"] = {"email": self.rng.choice([email, email.upper()])}
            fresh = None
        else:
            cid = None
            fresh = self.sp_customer_body("sp-inline-%s@soak.example.com" % self.uid())
            fresh.pop("metadata", None)
            body["customer"] = fresh
            with self.ctx.state.lock:
                self.ctx.state.sp_unknown_emails[tenant].add(fresh["email"].lower())
        rec = self.sp(tenant, "createPayment", "POST", "/payments", body)
        if self.ok(rec, 201):
            b = body_json(rec) or {}
            if cid is not None:
                if b.get("customer") != cid:
                    self.semantic(rec, "an inline customer with the email of %s was not matched: payment names %r"
                                  % (cid, b.get("customer")))
            else:
                new = b.get("customer")
                if not new:
                    self.semantic(rec, "a payment with a new inline customer names no customer")
                else:
                    self.sp_register(tenant, new, fresh, rec)
                    details = b.get("customer_details") or {}
                    if details.get("delivery_address") != fresh.get("delivery_address") or details.get("date_of_birth") != fresh.get("date_of_birth"):
                        self.semantic(rec, "customer_details %s differ from the inline customer's" % json.dumps(details))
            self.sp_register_payment(tenant, b, rec)
        if fresh is not None and rec["err"] is None:
            with self.ctx.state.lock:
                self.ctx.state.sp_unknown_emails[tenant].discard(fresh["email"].lower())

    def sp_pay_list(self):
        tenant = self.sp_tenant()
        cid, _ = self.sp_known(tenant)
        if cid and self.rng.random() < 0.4:
            with self.ctx.state.lock:
                expected = {p for p, c in self.ctx.state.sp[tenant]["payments"].items() if c == cid}
            rec = self.sp(tenant, "listPayments", "GET", "/payments?" + urllib.parse.urlencode({"customer": cid, "per_page": 100}))
            if self.ok(rec, 200):
                b = body_json(rec) or {}
                data = b.get("data") or []
                others = [p.get("id") for p in data if p.get("customer") != cid]
                if others:
                    self.semantic(rec, "customer=%s listed payments of other customers: %s" % (cid, others[:3]))
                got = {p.get("id") for p in data}
                if len(expected) <= 100 and expected - got:
                    self.semantic(rec, "customer=%s lacks created payments %s" % (cid, sorted(expected - got)[:3]))
            return
        per_page = self.rng.choice([10, 20, 100])
        rec = self.sp(tenant, "listPayments", "GET", "/payments?page=%d&per_page=%d" % (self.rng.choice([1, 1, 2]), per_page))
        self.ok(rec, 200)


# ---------------------------------------------------------------------------------------------
# Monitors: RSS and the journal
# ---------------------------------------------------------------------------------------------


def read_cpu_s(pid):
    """User + system CPU seconds of a process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def read_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Monitor(threading.Thread):
    def __init__(self, ctx):
        super().__init__(name="monitor", daemon=True)
        self.ctx = ctx
        self.samples = []  # (t, rss_kb, items, requests, server cpu s, phase)
        self.journal = []  # (t, entries, capacity, server p50 ms, server p95 ms)
        self.client = Client(ctx.host, ctx.port, ctx.rec)

    def sample(self):
        t = time.monotonic() - self.ctx.t0
        rss = read_rss_kb(self.ctx.pid)
        if rss is None:
            self.ctx.rec.fail("server", "specbox (pid %d) is gone at t=%.1fs" % (self.ctx.pid, t))
            self.ctx.stop.set()
            return
        now = time.monotonic()
        phase = "load" if now < self.ctx.deadline else "steady" if now < self.ctx.steady_deadline else "final"
        self.samples.append((round(t, 1), rss, self.ctx.state.items(), len(self.ctx.rec.records),
                             read_cpu_s(self.ctx.pid), phase))

    def check_journal(self):
        t = time.monotonic() - self.ctx.t0
        rec = self.client.call("admin", "journal", None, "GET", "/__specbox/requests", record=False)
        if rec["err"] is not None:
            return
        b = body_json(rec) or {}
        n = len(b.get("requests") or [])
        cap = b.get("capacity")
        self.journal.append((round(t, 1), n, cap))
        if rec["status"] != 200 or n > self.ctx.journal_size or cap != self.ctx.journal_size:
            rec["body"] = rec["body"][:300]
            self.ctx.rec.fail("journal", "GET /__specbox/requests at t=%.1fs: status %s, %d entries, capacity %r (bound %d)"
                              % (t, rec["status"], n, cap, self.ctx.journal_size), rec)
        seqs = [e.get("seq") for e in b.get("requests") or []]
        durations = [e.get("duration_ms") or 0 for e in b.get("requests") or [] if e.get("operationId")]
        for e in b.get("requests") or []:
            if e.get("operationId") and e.get("seq") not in self.ctx.journal_seen:
                self.ctx.journal_seen.add(e.get("seq"))
                spec = "ap" if e.get("spec") == "Alternative Payments" else "sp" if e.get("spec") == "SwissPay" else e.get("spec")
                self.ctx.server_durations.append((round(t, 1), "%s %s" % (spec, e["operationId"]),
                                                  e.get("duration_ms") or 0, e.get("query") or ""))
        self.journal[-1] += (percentile(durations, 50), percentile(durations, 95))
        if seqs != sorted(seqs, reverse=True) or len(set(seqs)) != len(seqs):
            self.ctx.rec.fail("journal", "journal entries are not newest first with distinct seq at t=%.1fs" % t)
        if seqs and len(self.ctx.rec.records) > 2 * self.ctx.journal_size and n < self.ctx.journal_size:
            self.ctx.rec.fail("journal", "journal holds %d entries after %d requests (expected it full at %d)"
                              % (n, len(self.ctx.rec.records), self.ctx.journal_size))

    def run(self):
        n = 0
        while not self.ctx.monitor_stop.is_set():
            self.sample()
            if n % 5 == 0:
                self.check_journal()
            n += 1
            self.ctx.monitor_stop.wait(1.0)
        self.sample()
        self.check_journal()


# ---------------------------------------------------------------------------------------------
# Final consistency
# ---------------------------------------------------------------------------------------------


def read_until_real(fn, tries=25):
    """Calls fn() until the answer is not injected (chaos stays on during the checks)."""
    rec = None
    for _ in range(tries):
        rec = fn()
        if rec["err"] is None and not injected(rec):
            return rec
    return rec


def final_checks(ctx, workers):
    st, rec_ = ctx.state, ctx.rec
    w = workers[0]  # a worker's client and helpers, used from the main thread and a small pool
    report = {}

    def fail(msg, rec=None):
        rec_.fail("consistency", msg, rec)

    # Every AP customer that got a 201 reads back (archived ones too), with its id and name.
    def read_ap(ids, worker):
        for cid in ids:
            rec = read_until_real(lambda: worker.ap("getCustomer", "GET", "/customers/" + cid, phase="final"))
            b = body_json(rec) or {}
            with st.lock:
                name = st.ap[cid]["name"]
            if rec["err"] is not None or injected(rec) or rec["status"] != 200 or b.get("id") != cid:
                fail("AP customer %s (created with a 201) does not read back" % cid, rec)
            elif b.get("name") != name:
                fail("AP customer %s reads back with name %r, last written %r" % (cid, b.get("name"), name), rec)

    def read_sp(tenant, ids, worker):
        for cid in ids:
            rec = read_until_real(lambda: worker.sp(tenant, "retrieveCustomer", "GET", "/customers/" + cid, phase="final"))
            b = body_json(rec) or {}
            if rec["err"] is not None or injected(rec) or rec["status"] != 200 or b.get("id") != cid:
                fail("SwissPay customer %s of %s (created with a 201) does not read back" % (cid, tenant), rec)

    jobs = []
    ap_ids = list(st.ap_ids)
    for i in range(len(workers)):
        jobs.append((read_ap, (ap_ids[i::len(workers)],)))
    for tenant in ctx.sp_tenants:
        ids = list(st.sp[tenant]["ids"])
        for i in range(len(workers)):
            jobs.append((read_sp, (tenant, ids[i::len(workers)])))
    threads = []
    per_worker = collections.defaultdict(list)
    for i, job in enumerate(jobs):
        per_worker[i % len(workers)].append(job)

    def run_jobs(worker, js):
        for fn, args in js:
            fn(*args, worker)

    for i, js in per_worker.items():
        t = threading.Thread(target=run_jobs, args=(workers[i], js), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    report["ap_customers_read_back"] = len(ap_ids)
    report["sp_customers_read_back"] = sum(len(st.sp[t]["ids"]) for t in ctx.sp_tenants)

    # AP: a full cursor walk lists every live customer once and no archived one.
    listed, after, pages = [], None, 0
    while True:
        q = {"limit": 100}
        if after:
            q["after"] = after
        rec = read_until_real(lambda: w.ap("listCustomers", "GET", "/customers?" + urllib.parse.urlencode(q), phase="final"))
        pages += 1
        if rec["err"] is not None or injected(rec) or rec["status"] != 200:
            fail("AP listCustomers walk failed on page %d" % pages, rec)
            break
        b = body_json(rec) or {}
        listed += [c.get("id") for c in b.get("data") or []]
        if not b.get("has_next_page") or not b.get("end_cursor"):
            break
        after = b["end_cursor"]
    dupes = [i for i, n in collections.Counter(listed).items() if n > 1]
    if dupes:
        fail("AP listCustomers walk lists %d ids more than once, e.g. %s" % (len(dupes), dupes[0]))
    listed_set = set(listed)
    with st.lock:
        live = {c for c, v in st.ap.items() if not v["archived"]}
        archived = {c for c, v in st.ap.items() if v["archived"]}
    if live - listed_set:
        fail("AP listCustomers walk lacks %d live customers, e.g. %s" % (len(live - listed_set), sorted(live - listed_set)[0]))
    if archived & listed_set:
        fail("AP listCustomers walk lists %d archived customers, e.g. %s" % (len(archived & listed_set), sorted(archived & listed_set)[0]))
    report["ap_listed"] = len(listed)
    report["ap_live"] = len(live)
    report["ap_archived"] = len(archived)
    report["ap_list_pages"] = pages

    # AP users: every created user is listed under its customer.
    with st.lock:
        users = {c: set(u) for c, u in st.ap_users.items()}
    for cid, expected in users.items():
        got, rec = w.walk_ap_users(cid, limit=100, phase="final", retries=25)
        if got is None:
            fail("listCustomerUsers of %s failed" % cid, rec)
        elif expected - got:
            fail("listCustomerUsers of %s lacks %d created users" % (cid, len(expected - got)), rec)
    report["ap_users"] = sum(len(u) for u in users.values())

    # SwissPay: per tenant, a full page walk; unique emails and external_ids; every payment's
    # customer exists.
    report["sp"] = {}
    for tenant in ctx.sp_tenants:
        customers, page = [], 1
        while True:
            rec = read_until_real(lambda: w.sp(tenant, "listCustomers", "GET", "/customers?page=%d&per_page=100" % page, phase="final"))
            if rec["err"] is not None or injected(rec) or rec["status"] != 200:
                fail("SwissPay listCustomers walk of %s failed on page %d" % (tenant, page), rec)
                break
            b = body_json(rec) or {}
            customers += b.get("data") or []
            if not b.get("has_more"):
                total = b.get("total_count")
                if total != len(customers):
                    fail("SwissPay %s: total_count %r but the walk found %d customers" % (tenant, total, len(customers)), rec)
                break
            page += 1
        ids = [c.get("id") for c in customers]
        emails = collections.Counter((c.get("email") or "").lower() for c in customers)
        exts = collections.Counter(c.get("external_id") for c in customers if c.get("external_id") is not None)
        for what, counter in (("id", collections.Counter(ids)), ("email", emails), ("external_id", exts)):
            d = [k for k, n in counter.items() if n > 1]
            if d:
                fail("SwissPay %s: %d duplicate %ss, e.g. %r (%d times)" % (tenant, len(d), what, d[0], counter[d[0]]))
        with st.lock:
            created = set(st.sp[tenant]["ids"])
            pays = dict(st.sp[tenant]["payments"])
            unknown = set(st.sp_unknown_emails[tenant])
        id_set = set(ids)
        if created - id_set:
            fail("SwissPay %s: list lacks %d created customers, e.g. %s" % (tenant, len(created - id_set), sorted(created - id_set)[0]))
        # Customers neither created by a 201 we saw nor fixtures: allowed only for creates whose
        # outcome is unknown (a transport error).
        extra = [c for c in customers if c.get("id") not in created and c.get("id") not in ctx.sp_fixture_ids
                 and (c.get("email") or "").lower() not in unknown]
        if extra:
            fail("SwissPay %s: %d customers nobody created with a 201, e.g. %s" % (tenant, len(extra), json.dumps(extra[0])[:300]))
        payments, page = [], 1
        while True:
            rec = read_until_real(lambda: w.sp(tenant, "listPayments", "GET", "/payments?page=%d&per_page=100" % page, phase="final"))
            if rec["err"] is not None or injected(rec) or rec["status"] != 200:
                fail("SwissPay listPayments walk of %s failed on page %d" % (tenant, page), rec)
                break
            b = body_json(rec) or {}
            payments += b.get("data") or []
            if not b.get("has_more"):
                break
            page += 1
        dangling = [p for p in payments if p.get("customer") not in id_set]
        if dangling:
            fail("SwissPay %s: %d payments whose customer does not exist, e.g. %s" % (tenant, len(dangling), json.dumps(dangling[0])[:300]))
        pay_ids = collections.Counter(p.get("id") for p in payments)
        d = [k for k, n in pay_ids.items() if n > 1]
        if d:
            fail("SwissPay %s: payment %s listed %d times" % (tenant, d[0], pay_ids[d[0]]))
        missing = set(pays) - set(pay_ids)
        if missing:
            fail("SwissPay %s: list lacks %d created payments, e.g. %s" % (tenant, len(missing), sorted(missing)[0]))
        wrong = [p for p in payments if p.get("id") in pays and p.get("customer") != pays[p.get("id")]]
        if wrong:
            fail("SwissPay %s: payment %s now names customer %s, created for %s"
                 % (tenant, wrong[0]["id"], wrong[0].get("customer"), pays[wrong[0]["id"]]))
        report["sp"][tenant] = {"customers": len(customers), "created": len(created), "payments": len(payments),
                                "payments_created": len(pays)}
    return report


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


class Ctx:
    pass


def get_token(ctx, client):
    """An AP access token; /oauth/token is not an operation, so chaos does not apply, but retry."""
    form = {"grant_type": "client_credentials", "client_id": "sandbox_client", "client_secret": "sandbox_secret"}
    last = None
    for _ in range(10):
        rec = client.call("oauth", "token", "ap", "POST", "/oauth/token", form=form)
        last = rec
        if rec["err"] is None and rec["status"] == 200:
            tok = (body_json(rec) or {}).get("access_token")
            if tok:
                return tok
        time.sleep(0.2)
    raise SystemExit("cannot get an access token: %s" % describe(last))


def fixture_ids(root):
    with open(os.path.join(root, "fixtures/swisspay/customers.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return {c["id"] for c in doc["resources"]["/customers"]}


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="http://HOST:PORT of a running specbox")
    ap.add_argument("--pid", type=int, required=True, help="specbox's pid, for RSS")
    ap.add_argument("--seconds", type=float, default=60, help="mixed load (creates, reads, writes)")
    ap.add_argument("--steady-seconds", type=float, default=15,
                    help="then reads only: nothing new is stored, so RSS should stay flat (0: skip)")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--journal-size", type=int, default=500)
    ap.add_argument("--chaos-rate", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--rss-growth-limit", type=float, default=0.5,
                    help="largest RSS growth (share) from t=20s to the end of the load that needs no explanation")
    ap.add_argument("--rss-per-object-kib", type=float, default=16,
                    help="largest RSS growth per stored object (KiB) that stored data explains")
    ap.add_argument("--steady-growth-limit-kib", type=float, default=4096,
                    help="largest RSS growth (KiB) during the read-only phase, after its first 3 s")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--root", default=ROOT, help="the repository (specs/, fixtures/)")
    args = ap.parse_args()

    u = urllib.parse.urlsplit(args.base)
    os.makedirs(args.out, exist_ok=True)
    ctx = Ctx()
    ctx.host, ctx.port = u.hostname, u.port
    ctx.pid = args.pid
    ctx.seed = args.seed
    ctx.journal_size = args.journal_size
    ctx.sp_tenants = ["sk_test_soak1", "sk_test_soak2", "sk_test_soak3"]
    ctx.sp_fixture_ids = fixture_ids(args.root)
    ctx.state = State(ctx.sp_tenants)
    ctx.stop = threading.Event()
    ctx.monitor_stop = threading.Event()
    ctx.t0 = time.monotonic()
    ctx.deadline = ctx.steady_deadline = float("inf")
    ctx.rec = Recorder(args.out, ctx.t0)
    ctx.journal_seen = set()
    ctx.server_durations = []  # (t, op, ms, query) of the journal entries the monitor saw

    contract = Contract(args.root)
    for f in ("date", "date-time", "email"):
        if f not in contract.format_checker.checkers:
            print("warning: format %r is not checked (missing dependency)" % f, file=sys.stderr)

    # The records are acyclic; the cyclic GC only slows the client down as they pile up.
    gc.disable()
    boot = Client(ctx.host, ctx.port, ctx.rec)
    ctx.ap_token = get_token(ctx, boot)

    monitor = Monitor(ctx)
    workers = [Worker(i, ctx) for i in range(args.workers)]
    start = time.monotonic()
    ctx.deadline = start + args.seconds
    ctx.steady_deadline = ctx.deadline + args.steady_seconds
    cpu0 = read_cpu_s(ctx.pid)
    print("soak: %d workers, %.0f s of mixed load then %.0f s of reads only, against %s (specbox pid %d)"
          % (args.workers, args.seconds, args.steady_seconds, args.base, args.pid), flush=True)
    monitor.start()
    for wk in workers:
        wk.start()
    next_note = time.monotonic() + 10
    while any(wk.is_alive() for wk in workers):
        time.sleep(0.5)
        if time.monotonic() >= next_note:
            next_note += 10
            s = monitor.samples[-1] if monitor.samples else (0, 0, 0, 0, 0, "")
            print("  t=%5.1fs %-6s requests=%d stored=%d rss=%.1f MiB" % (
                time.monotonic() - ctx.t0, s[5], len(ctx.rec.records), ctx.state.items(), s[1] / 1024), flush=True)
    load_end = time.monotonic()
    ctx.monitor_stop.set()
    monitor.join()
    cpu1 = read_cpu_s(ctx.pid)
    for wk in workers:
        if wk.error:
            print(wk.error, file=sys.stderr)
    print("soak: load done (%.1f s, %d requests); checking state" % (load_end - start, len(ctx.rec.records)), flush=True)
    final_report = final_checks(ctx, workers)
    final_end = time.monotonic()
    final_journal = Monitor(ctx)
    final_journal.check_journal()
    rss_after = read_rss_kb(ctx.pid)
    gc.enable()

    # Validity and 5xx, over every recorded exchange of an operation.
    print("soak: validating %d responses" % len(ctx.rec.records), flush=True)
    per_op = collections.Counter()
    by_phase = collections.Counter()
    inj = collections.Counter()
    inj_labels = collections.Counter()
    transport = 0
    latencies = collections.defaultdict(list)
    for rec in ctx.rec.records:
        if rec["spec"] not in SPECS:
            continue
        if rec["err"] is not None:
            per_op[("%s %s" % (rec["spec"], rec["op"]), "transport-error")] += 1
            transport += 1
            continue
        by_phase[rec["phase"]] += 1
        per_op[("%s %s" % (rec["spec"], rec["op"]), rec["status"])] += 1
        latencies[rec["phase"]].append(rec.get("ms", 0))
        if injected(rec):
            inj[rec["phase"]] += 1
            inj_labels[rec["headers"][INJECTED]] += 1
        elif rec["status"] >= 500:
            ctx.rec.fail("5xx", "%d without %s" % (rec["status"], INJECTED), rec)
        for p in contract.check(rec):
            ctx.rec.fail("validity", p, rec)
    op_records = sum(by_phase.values())

    # RSS: during the mixed load, growth per stored object; during the reads, no growth.
    samples = monitor.samples
    rss_report = {}
    load_s = [x for x in samples if x[5] == "load"]
    steady_s = [x for x in samples if x[5] == "steady"]
    if load_s:
        warm = [x for x in load_s if x[0] - (start - ctx.t0) >= args.warmup] or load_s
        at20 = min((x for x in load_s if x[0] - (start - ctx.t0) >= 20), key=lambda x: x[0], default=warm[0])
        end = load_s[-1]
        growth = end[1] - at20[1]
        items = end[2] - at20[2]
        per_obj = growth * 1024 / items if items > 0 else None
        rss_report = {
            "start_kib": samples[0][1], "warm_kib": warm[0][1], "at20_kib": at20[1], "load_end_kib": end[1],
            "max_kib": max(x[1] for x in samples), "end_kib": samples[-1][1], "after_checks_kib": rss_after,
            "growth_from_20s_kib": growth, "growth_share_from_20s": round(growth / at20[1], 3) if at20[1] else None,
            "stored_at20": at20[2], "stored_end": end[2], "stored_growth_from_20s": items,
            "bytes_per_stored_object_from_20s": round(per_obj) if per_obj is not None else None,
            "bytes_per_stored_object_from_warmup": round((end[1] - warm[0][1]) * 1024 / (end[2] - warm[0][2]))
            if end[2] > warm[0][2] else None,
        }
        if at20[1] and growth / at20[1] > args.rss_growth_limit:
            if per_obj is None or per_obj > args.rss_per_object_kib * 1024:
                ctx.rec.fail("rss", "RSS grew %.0f%% from t=%.0fs (%d KiB) to the end of the load (%d KiB) while stored "
                             "objects grew by %d (%s per object, limit %.0f KiB)"
                             % (100 * growth / at20[1], at20[0], at20[1], end[1], items,
                                "n/a" if per_obj is None else "%.1f KiB" % (per_obj / 1024), args.rss_per_object_kib))
    if steady_s:
        t_steady = ctx.deadline - ctx.t0
        base = [x for x in steady_s if x[0] >= t_steady + 3] or steady_s
        g = steady_s[-1][1] - base[0][1]
        rss_report.update({"steady_base_kib": base[0][1], "steady_end_kib": steady_s[-1][1], "steady_growth_kib": g,
                           "steady_max_kib": max(x[1] for x in steady_s), "steady_seconds": round(steady_s[-1][0] - base[0][0], 1),
                           "steady_requests": steady_s[-1][3] - base[0][3]})
        if g > args.steady_growth_limit_kib:
            ctx.rec.fail("rss", "RSS grew %d KiB (%d -> %d) in %.0f s of reads only (%d requests), nothing new stored"
                         % (g, base[0][1], steady_s[-1][1], steady_s[-1][0] - base[0][0], steady_s[-1][3] - base[0][3]))
    with open(os.path.join(args.out, "rss.csv"), "w") as f:
        f.write("t_s,rss_kib,stored_objects,requests,server_cpu_s,phase\n")
        for x in samples:
            f.write("%s,%s,%s,%s,%s,%s\n" % x)

    # Chaos share, over the operation responses of the load and read phases.
    n_chaos = by_phase["load"] + by_phase["steady"]
    k_chaos = inj["load"] + inj["steady"]
    share = k_chaos / n_chaos if n_chaos else 0
    sigma = math.sqrt(args.chaos_rate * (1 - args.chaos_rate) / n_chaos) if n_chaos else 0
    if n_chaos >= 200 and abs(share - args.chaos_rate) > 5 * sigma:
        ctx.rec.fail("chaos-share", "%.2f%% of %d responses were injected, expected %.1f%% (5 sigma = %.2f%%)"
                     % (100 * share, n_chaos, 100 * args.chaos_rate, 500 * sigma))

    journal = monitor.journal + final_journal.journal

    # Summary.
    out = ["", "=" * 100]
    out.append("specbox soak: %d workers; %.1f s mixed load + %.1f s reads only (+%.1f s final checks)" % (
        args.workers, min(load_end, ctx.deadline) - start, max(0, load_end - ctx.deadline), final_end - load_end))
    out.append("requests: %d in total; operation responses: load %d (%.0f/s), reads-only %d (%.0f/s), final checks %d; "
               "transport errors %d" % (
                   len(ctx.rec.records), by_phase["load"], by_phase["load"] / args.seconds, by_phase["steady"],
                   by_phase["steady"] / args.steady_seconds if args.steady_seconds else 0, by_phase["final"], transport))
    for ph in ("load", "steady", "final"):
        lat = latencies.get(ph) or []
        if lat:
            out.append("client-side latency %-6s (ms): p50 %.1f  p95 %.1f  p99 %.1f  max %.1f" % (
                ph, percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), max(lat)))
    if cpu0 is not None and cpu1 is not None:
        out.append("specbox CPU during load + reads: %.1f s (%.0f%% of one core)" % (
            cpu1 - cpu0, 100 * (cpu1 - cpu0) / max(load_end - start, 1e-9)))
    out.append("injected: %d of %d load/read responses = %.2f%% (chaos rate %.0f%%); %d of %d in the final checks; labels %s" % (
        k_chaos, n_chaos, 100 * share, 100 * args.chaos_rate, inj["final"], by_phase["final"], dict(inj_labels.most_common(6))))
    out.append("stored objects created: %s" % dict(ctx.state.created))
    out.append("")
    out.append("per operation and status (all phases):")
    for op in sorted({op for op, _ in per_op}):
        cells = ", ".join("%s: %d" % (st, n) for (o, st), n in sorted(per_op.items(), key=lambda kv: str(kv[0][1])) if o == op)
        out.append("  %-28s %s" % (op, cells))
    out.append("")
    if rss_report:
        r = rss_report
        out.append("RSS (KiB): start %d, after warm-up %d, at 20 s %d, end of load %d, max %d, end %d, after checks %s" % (
            r["start_kib"], r["warm_kib"], r["at20_kib"], r["load_end_kib"], r["max_kib"], r["end_kib"], r["after_checks_kib"]))
        out.append("RSS growth from 20 s to end of load: %+d KiB (%+.1f%%) for %d more stored objects = %s B/object "
                   "(from warm-up: %s B/object)" % (
                       r["growth_from_20s_kib"], 100 * (r["growth_share_from_20s"] or 0), r["stored_growth_from_20s"],
                       r["bytes_per_stored_object_from_20s"], r["bytes_per_stored_object_from_warmup"]))
        if "steady_growth_kib" in r:
            out.append("RSS during reads only: %d -> %d KiB (%+d KiB, max %d) over %.0f s and %d requests" % (
                r["steady_base_kib"], r["steady_end_kib"], r["steady_growth_kib"], r["steady_max_kib"],
                r["steady_seconds"], r["steady_requests"]))
        step = max(1, len(samples) // 40)
        out.append("RSS series (s:MiB:stored): " + " ".join(
            "%d:%.1f:%d" % (x[0], x[1] / 1024, x[2]) for x in samples[::step]))
    out.append("journal: %d checks, entries seen %s, capacity %s, bound %d" % (
        len(journal), sorted({j[1] for j in journal}), sorted({str(j[2]) for j in journal}), args.journal_size))
    out.append("server-side duration from the journal (t s: p50/p95 ms): " + " ".join(
        "%d:%s/%s" % (j[0], j[3], j[4]) for j in journal if len(j) > 3))
    # Server-side time per operation, from the journal entries seen (the last 500 every 5 s).
    third = args.seconds / 3
    windows = [("%d-%ds" % (round(i * third), round((i + 1) * third)), i * third, (i + 1) * third) for i in range(3)]
    windows.append(("reads", args.seconds, args.seconds + args.steady_seconds + 1))
    off = start - ctx.t0
    by = collections.defaultdict(list)
    for t, op, ms, _q in ctx.server_durations:
        for name, lo, hi in windows:
            if lo + off <= t < hi + off:
                by[(op, name)].append(ms)
                break
    out.append("server-side duration by operation, from journal samples (window: n p50/p95/max ms):")
    for op in sorted({k[0] for k in by}):
        cells = []
        for name, _lo, _hi in windows:
            xs = by.get((op, name))
            cells.append(("%s %4d %.2f/%.2f/%.1f" % (name, len(xs), percentile(xs, 50), percentile(xs, 95), max(xs))
                          if xs else "%s -" % name).ljust(31))
        out.append("  %-28s %s" % (op, " ".join(cells)))
    out.append("final state: %s" % json.dumps(final_report))
    if ctx.rec.warnings:
        out.append("warnings:")
        out += ["  " + w for w in ctx.rec.warnings]
    out.append("")
    checks = ["validity", "5xx", "journal", "rss", "consistency", "semantics", "transport", "chaos-share", "server", "script"]
    out.append("checks:")
    for c in checks:
        fl = ctx.rec.failures.get(c, [])
        out.append("  %-12s %s" % (c, "ok" if not fl else "FAILED (%d)" % len(fl)))
    for c in checks:
        fl = ctx.rec.failures.get(c, [])
        if not fl:
            continue
        out.append("")
        out.append("%s failures: %d; by message:" % (c, len(fl)))
        groups = collections.OrderedDict()
        for msg, rec in fl:
            k = re.sub(r"\b(cus|pay)_[0-9A-Za-z]+|\b[0-9a-f]{8}-[0-9a-f-]{27}\b|w\d+-\d+-[0-9a-f]{4}|\d+", "#", msg)
            groups.setdefault(k, []).append((msg, rec))
        for k, items in list(groups.items())[:15]:
            msg, rec = items[0]
            out.append("  [%d x] %s" % (len(items), msg[:400]))
            if rec is not None:
                out.append(describe(rec))
    ok = not any(ctx.rec.failures.get(c) for c in checks)
    out.append("")
    out.append("RESULT: %s" % ("PASS" if ok else "FAIL"))
    text = "\n".join(out)
    print(text, flush=True)

    summary = {
        "ok": ok, "load_seconds": args.seconds, "steady_seconds": args.steady_seconds, "requests": len(ctx.rec.records),
        "operation_responses": op_records, "by_phase": dict(by_phase), "injected": dict(inj),
        "injected_share": round(share, 4), "per_op": {"%s %s" % k: n for k, n in per_op.items()},
        "created": dict(ctx.state.created), "rss": rss_report, "rss_samples": samples, "journal": journal,
        "final": final_report, "failures": {c: [m for m, _ in fl] for c, fl in ctx.rec.failures.items()},
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write(text + "\n")
    ctx.rec.dump()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
