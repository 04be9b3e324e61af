// The specbox dashboard: plain JavaScript over the /__specbox/ JSON endpoints, no libraries.
// Everything from the server is put into the page as text (textContent), never as HTML.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token");
const BASE = location.pathname.replace(/\/ui\/?$/, "");
// Rows kept in the journal table; the server's journal holds --journal-size entries.
const MAX_ROWS = 2000;
const $ = (sel) => document.querySelector(sel);

function call(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (TOKEN) headers["X-Specbox-Admin-Token"] = TOKEN;
  return fetch(BASE + path, Object.assign({}, opts, { headers, cache: "no-store" }));
}

async function getJson(path, opts) {
  const r = await call(path, opts);
  const text = await r.text();
  const body = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((body && (body.detail || body.title)) || r.status + "");
  return body;
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) for (const k in props) {
    if (k === "class") e.className = props[k];
    else if (k === "text") e.textContent = props[k];
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), props[k]);
    else e.setAttribute(k, props[k]);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function td(text, cls) { return el("td", { text: text == null ? "" : String(text), class: cls || "" }); }

function setStatus(text, bad) {
  const s = $("#status");
  s.textContent = text;
  s.className = bad ? "bad" : "muted";
}

// ---- tabs ------------------------------------------------------------------------------------
const loaders = {};
for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("nav button")) o.classList.toggle("on", o === b);
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("on", t.id === "tab-" + b.dataset.tab);
    if (loaders[b.dataset.tab]) loaders[b.dataset.tab]();
  });
}

// ---- journal ---------------------------------------------------------------------------------
// Entries, newest first. Polling asks only for what came after the newest one seen (`since`),
// and new rows are built in a DocumentFragment and inserted at once; the table keeps MAX_ROWS.
let entries = [];
let since = null;
let selected = null;

function entryText(e) {
  return [e.method, e.path, e.query, e.status, e.operationId, e.tenant, e.injected].join(" ").toLowerCase();
}

function matches(e) {
  const f = $("#journal-filter").value.trim().toLowerCase();
  if (!f) return true;
  const text = e._text || (e._text = entryText(e));
  return f.split(/\s+/).every((w) => text.includes(w));
}

function row(e) {
  const tr = el("tr", { "data-seq": e.seq });
  if (e.seq === selected) tr.className = "sel";
  const path = e.path + (e.query ? "?" + e.query : "");
  tr.title = [e.method, path, e.operationId, e.tenant, e.injected].filter(Boolean).join("  ");
  tr.append(
    td(e.seq, "muted"),
    td(e.time.slice(11, 23), "muted"),
    td(e.method),
    td(path, "path"),
    td(e.status, "s" + String(e.status)[0]),
    td(e.operationId || "—"),
    td(e.tenant || ""),
    td(e.injected || "", e.injected ? "inj" : ""),
    td(e.duration_ms),
  );
  return tr;
}

function renderJournal() {
  const frag = document.createDocumentFragment();
  let n = 0;
  for (const e of entries) if (matches(e)) { frag.append(row(e)); n++; }
  $("#journal tbody").replaceChildren(frag);
  countJournal(n);
}

function countJournal(shown) {
  $("#journal-count").textContent = shown + " of " + entries.length + " shown";
}

function addEntries(fresh) {
  if (!fresh.length) return;
  entries = fresh.concat(entries);
  const body = $("#journal tbody");
  const frag = document.createDocumentFragment();
  for (const e of fresh) if (matches(e)) frag.append(row(e));
  body.insertBefore(frag, body.firstChild);
  if (entries.length > MAX_ROWS) {
    const dropped = new Set(entries.slice(MAX_ROWS).map((e) => String(e.seq)));
    entries.length = MAX_ROWS;
    for (let r = body.lastElementChild; r && dropped.has(r.dataset.seq); r = body.lastElementChild) r.remove();
  }
  countJournal(body.childElementCount);
}

async function pollJournal() {
  const q = since == null ? "?limit=" + MAX_ROWS : "?since=" + since + "&limit=" + MAX_ROWS;
  const data = await getJson("/requests" + q);
  const fresh = data.requests;
  if (fresh.length) since = fresh[0].seq;
  else if (since == null && data.next_seq > 0) since = data.next_seq - 1;
  addEntries(fresh);
}

function section(title, ...content) {
  return [el("h2", { text: title }), ...content];
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return text; }
}

function headersList(headers) {
  const dl = el("dl");
  for (const [k, v] of headers) dl.append(el("dt", { text: k }), el("dd", { text: v }));
  return dl;
}

function bodyBlock(b) {
  if (!b.size) return el("p", { class: "muted", text: "no body" });
  const note = b.truncated ? " (first " + b.text.length + " of " + b.size + " bytes)" : "";
  return el("div", null, el("span", { class: "muted", text: b.size + " bytes" + note }), el("pre", { text: pretty(b.text) }));
}

async function openEntry(seq) {
  selected = seq;
  for (const r of document.querySelectorAll("#journal tr.sel")) r.classList.remove("sel");
  const tr = document.querySelector('#journal tr[data-seq="' + seq + '"]');
  if (tr) tr.classList.add("sel");
  const box = $("#detail-body");
  $("#detail").hidden = false;
  try {
    const d = await getJson("/requests/" + seq);
    $("#detail-title").textContent = d.method + " " + d.path + " → " + d.status;
    const facts = el("dl");
    const fact = (k, v) => facts.append(el("dt", { text: k }), el("dd", { text: v == null || v === "" ? "—" : String(v) }));
    fact("time", d.time);
    fact("operation", d.operationId);
    fact("spec", d.spec);
    fact("tenant", d.tenant);
    fact("injected", d.injected);
    fact("took", d.duration_ms + " ms");
    const parts = [facts];
    if (d.violations && d.violations.length) {
      parts.push(...section("Violations", el("ul", null, ...d.violations.map((v) => el("li", { class: "bad", text: v })))));
    }
    parts.push(...section("Request", el("pre", { text: d.method + " " + d.path + (d.query ? "?" + d.query : "") }),
      headersList(d.request.headers), bodyBlock(d.request.body)));
    parts.push(...section("Response " + d.status, headersList(d.response.headers), bodyBlock(d.response.body)));
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren(el("p", { class: "bad", text: String(err.message || err) }));
  }
}

$("#journal tbody").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr");
  if (tr) openEntry(Number(tr.dataset.seq));
});
$("#detail-close").addEventListener("click", () => { $("#detail").hidden = true; selected = null; renderJournal(); });
let filterTimer = null;
$("#journal-filter").addEventListener("input", () => { clearTimeout(filterTimer); filterTimer = setTimeout(renderJournal, 120); });
$("#journal-clear").addEventListener("click", async () => {
  await call("/requests", { method: "DELETE" });
  entries = [];
  renderJournal();
});

// ---- routes ----------------------------------------------------------------------------------
let routes = [];

function renderRoutes() {
  const f = $("#routes-filter").value.trim().toLowerCase();
  const frag = document.createDocumentFragment();
  let n = 0;
  for (const r of routes) {
    const text = [r.method, r.path, r.operationId, r.action, r.spec].join(" ").toLowerCase();
    if (f && !text.includes(f)) continue;
    n++;
    frag.append(el("tr", null, td(r.method), td(r.path, "path"), td(r.operationId), td(r.action), td(r.spec, "muted")));
  }
  $("#routes tbody").replaceChildren(frag);
  $("#routes-count").textContent = n + " of " + routes.length + " routes";
}

async function loadRoutes() {
  routes = await getJson("/routes");
  renderRoutes();
  const ids = [...new Set(routes.map((r) => r.operationId).filter(Boolean))].sort();
  $("#operation-ids").replaceChildren(...ids.map((id) => el("option", { value: id })));
}
$("#routes-filter").addEventListener("input", renderRoutes);

// ---- state -----------------------------------------------------------------------------------
let openCollection = null;

async function loadState() {
  const data = await getJson("/state");
  const sel = $("#state-tenant");
  const keep = sel.value;
  const options = [el("option", { value: "", text: "(fixtures: what every tenant starts from)" })];
  for (const t of data.tenants) options.push(el("option", { value: t.name, text: t.name }));
  sel.replaceChildren(...options);
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  const tenant = data.tenants.find((t) => t.name === sel.value);
  const colls = tenant ? tenant.collections : data.fixtures;
  const frag = document.createDocumentFragment();
  for (const c of colls) {
    const tr = el("tr", null, td(c.name), td(c.collection, "path"), td(c.scope), td(c.count), td(c.listed), td(c.spec, "muted"));
    tr.addEventListener("click", () => { openCollection = { c, offset: 0 }; loadItems(false); });
    frag.append(tr);
  }
  $("#collections tbody").replaceChildren(frag);
  $("#state-reset").disabled = !sel.value;
}

async function loadItems(more) {
  const { c } = openCollection;
  const tenant = $("#state-tenant").value;
  const q = new URLSearchParams({ resource: c.resource, scope: c.scope, offset: openCollection.offset, limit: 50 });
  if (tenant) q.set("tenant", tenant);
  const data = await getJson("/state/items?" + q);
  $("#items").hidden = false;
  $("#items-title").textContent = c.collection + (c.scope ? " (" + c.scope + ")" : "") + ": " + data.total + " items";
  const blocks = data.items.map((it) => el("div", null,
    el("strong", { text: String(it.id) }), it.archived ? el("span", { class: "muted", text: " archived" }) : null,
    el("pre", { text: JSON.stringify(it.value, null, 2) })));
  if (more) $("#items-body").append(...blocks); else $("#items-body").replaceChildren(...blocks);
  openCollection.offset += data.items.length;
  $("#items-more").hidden = openCollection.offset >= data.total;
}

$("#state-tenant").addEventListener("change", () => { $("#items").hidden = true; loadState(); });
$("#state-refresh").addEventListener("click", loadState);
$("#items-more").addEventListener("click", () => loadItems(true));
$("#items-close").addEventListener("click", () => { $("#items").hidden = true; });
async function reset(tenant) {
  const r = await getJson("/reset" + (tenant ? "?tenant=" + encodeURIComponent(tenant) : ""), { method: "POST" });
  $("#state-msg").textContent = "reset: " + r.reset;
  $("#items").hidden = true;
  loadState();
}
$("#state-reset").addEventListener("click", () => reset($("#state-tenant").value));
$("#state-reset-all").addEventListener("click", () => reset(null));

// ---- faults and chaos ------------------------------------------------------------------------
for (const s of [400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]) {
  document.querySelector('#fault-form [name="status"]').append(el("option", { value: s, text: s }));
}

function describeMatch(r) {
  return [r.operationId, r.method, r.path, r.tenant && "tenant " + r.tenant].filter(Boolean).join(" ");
}

function describeEffect(r) {
  return [r.status && "status " + r.status, r.delay_ms != null && "delay " + r.delay_ms + " ms", r.fault && "fault " + r.fault]
    .filter(Boolean).join(", ");
}

async function loadFaults() {
  const data = await getJson("/faults");
  const frag = document.createDocumentFragment();
  for (const r of data.rules) {
    const remove = el("button", { text: "remove", class: "remove", onclick: async () => {
      await call("/faults/" + r.id, { method: "DELETE" });
      loadFaults();
    } });
    frag.append(el("tr", { "data-id": r.id }, td(r.id), td(describeMatch(r)), td(describeEffect(r)), td(r.skip),
      td(r.times == null ? "always" : r.times), td(r.probability == null ? "" : r.probability), td(r.matched), td(r.fired),
      el("td", null, remove)));
  }
  $("#faults tbody").replaceChildren(frag);
  const c = await getJson("/chaos");
  const form = $("#chaos-form");
  if (!form.contains(document.activeElement)) {
    form.rate.value = c.rate;
    form.latency.value = c.latency || "";
    form.seed.value = c.seed;
  }
}

$("#fault-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const rule = {};
  for (const name of ["operationId", "method", "path", "tenant", "delay", "fault"]) {
    const v = form[name].value.trim();
    if (v) rule[name] = v;
  }
  for (const name of ["status", "skip", "times", "probability"]) {
    const v = form[name].value.trim();
    if (v) rule[name] = Number(v);
  }
  const msg = $("#fault-msg");
  try {
    const r = await getJson("/faults", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(rule) });
    msg.className = "msg";
    msg.textContent = "added rule " + r.id;
    loadFaults();
  } catch (err) {
    msg.className = "msg bad";
    msg.textContent = String(err.message || err);
  }
});

$("#faults-clear").addEventListener("click", async () => {
  await call("/faults", { method: "DELETE" });
  loadFaults();
});

$("#chaos-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const body = { rate: Number(form.rate.value || 0), latency: form.latency.value.trim() || null, seed: Number(form.seed.value || 0) };
  const msg = $("#chaos-msg");
  try {
    await getJson("/chaos", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    msg.className = "msg";
    msg.textContent = "applied";
  } catch (err) {
    msg.className = "msg bad";
    msg.textContent = String(err.message || err);
  }
});

// ---- reloads and webhook deliveries (shown when the server has them) -------------------------
// Both are optional endpoints: a 404 means this server does not have the feature, and the tab
// stays hidden.
async function optional(path, tab) {
  const r = await call(path);
  const button = document.querySelector('nav button[data-tab="' + tab + '"]');
  button.hidden = r.status === 404;
  if (!r.ok) return null;
  return r.json();
}

function listOf(data, key) {
  return Array.isArray(data) ? data : (data && data[key]) || [];
}

async function loadReloads() {
  const data = await optional("/reloads", "reloads");
  if (!data) return;
  const frag = document.createDocumentFragment();
  for (const r of listOf(data, "reloads").slice().reverse()) {
    const files = Array.isArray(r.files) ? r.files.join(", ") : r.files;
    frag.append(el("tr", null, td(r.time), td(r.ok ? "yes" : "no", r.ok ? "s2" : "bad"), td(files, "path"), td(r.error, "bad")));
  }
  $("#reloads tbody").replaceChildren(frag);
}

async function loadDeliveries() {
  const data = await optional("/deliveries", "deliveries");
  if (!data) return;
  const list = listOf(data, "deliveries");
  if (!list.length) {
    $("#deliveries").replaceChildren(el("p", { class: "muted", text: "no deliveries yet" }));
    return;
  }
  // Newest first, as the endpoint lists them; a row opens to its payload and what it breaks.
  const rows = list.map((d) => {
    const bad = d.state === "failed" || d.state === "dropped";
    const answer = d.status != null ? d.status : (d.error || "");
    const detail = el("details", null, el("summary", { text: d.id + " " + (d.event_id || "") }),
      el("pre", { text: JSON.stringify(d.payload, null, 2) }),
      d.violations && d.violations.length ? el("p", { class: "bad", text: d.violations.join("; ") }) : null);
    return el("tr", null, td(d.created), td(d.event), td(d.kind), td(d.tenant), td(d.url, "path"),
      td(d.state, bad ? "bad" : (d.state === "delivered" ? "s2" : "")), td(answer, bad ? "bad" : ""),
      td(d.attempts), el("td", null, detail));
  });
  const head = el("tr", null, ...["time", "event", "kind", "tenant", "url", "state", "answer", "attempts", "payload"]
    .map((h) => el("th", { text: h })));
  $("#deliveries").replaceChildren(
    data.dropped ? el("p", { class: "bad", text: data.dropped + " dropped (queues full)" }) : "",
    el("table", null, el("thead", null, head), el("tbody", null, ...rows)));
}

loaders.routes = loadRoutes;
loaders.state = loadState;
loaders.faults = loadFaults;
loaders.reloads = loadReloads;
loaders.deliveries = loadDeliveries;

// ---- start -----------------------------------------------------------------------------------
async function tick() {
  try {
    if ($("#journal-live").checked && !document.hidden) await pollJournal();
    if ($("#tab-faults").classList.contains("on")) await loadFaults();
    setStatus("live");
  } catch (err) {
    setStatus("cannot reach specbox: " + (err.message || err), true);
  }
  setTimeout(tick, 1000);
}

(async function start() {
  try {
    const health = await getJson("/health");
    $("#specs").textContent = health.specs.map((s) => s.title + " " + s.version + " at " + (s.mount || "/")).join(" · ");
    await loadRoutes();
  } catch (err) {
    setStatus("cannot reach specbox: " + (err.message || err), true);
  }
  loadReloads().catch(() => {});
  loadDeliveries().catch(() => {});
  setInterval(() => { loadReloads().catch(() => {}); loadDeliveries().catch(() => {}); }, 5000);
  tick();
})();
