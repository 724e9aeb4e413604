/*
 * The loopml web UI: a single-page app over the team server's REST API (/api/v1).
 *
 * - Pages are hash routes (#/p/PROJECT/runs?where=...), so every view can be reloaded
 *   and linked; the filter state of a page lives in its hash.
 * - Every server value is rendered as text (el() uses createElement and text nodes,
 *   never parsed as HTML), and no handler is inline: the page runs under a strict CSP.
 * - api() sends the session's CSRF token on every write and goes to #/login on a 401.
 * - document.body.dataset.ready is "0" while a page loads and "1" once it has rendered
 *   (the browser tests wait on it).
 */
"use strict";

(function () {
  const API = "/api/v1";
  const CSRF_KEY = "loopml.csrf";
  const USER_KEY = "loopml.user";
  const PICKS_KEY = "loopml.picks."; // + a project's name: the runs picked to compare
  const PAGE_SIZE = 50;
  const AUDIT_PAGE_SIZE = 200;
  const EVENTS_PAGE_SIZE = 100;
  const MAX_LIMIT = 1000; // the API's largest page
  // No mode bar: plotly would inject its colour rules as inline style, which the CSP refuses.
  const PLOT_CONFIG = { displayModeBar: false, responsive: true };

  // ---- rendering helpers ------------------------------------------------------------

  /** An element with attributes (on* functions become listeners) and text/node children. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else if (key === "dataset") {
        Object.assign(node.dataset, value);
      } else if (key === "value" || key === "checked") {
        node[key] = value;
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A number with 4 significant digits, a time without its fraction, objects as JSON. */
  function fmt(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") {
      return Number.isInteger(value) ? String(value) : value.toPrecision(4);
    }
    if (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(value)) {
      return value.slice(0, 19).replace("T", " ");
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function cell(value) {
    return el("td", { class: typeof value === "number" ? "number" : null }, fmt(value));
  }

  /** A table of objects: one column per key of ``columns`` (default: the first's keys). */
  function objectsTable(items, columns, attrs) {
    const keys = columns || (items.length ? Object.keys(items[0]) : []);
    return el(
      "table",
      attrs || {},
      el("thead", {}, el("tr", {}, keys.map((k) => el("th", {}, k)))),
      el("tbody", {}, items.map((item) => el("tr", {}, keys.map((k) => cell(item[k])))))
    );
  }

  /** A two-column table of a mapping's keys and values. */
  function kvTable(mapping, attrs) {
    const rows = Object.entries(mapping || {}).map(([k, v]) =>
      el("tr", { dataset: { key: k } }, el("th", {}, k), cell(v))
    );
    if (!rows.length) return el("p", { class: "muted" }, "none");
    return el("table", attrs || {}, el("tbody", {}, rows));
  }

  function errorBox(error) {
    const status = error.status ? `${error.status}: ` : "";
    const refused = error.status === 403 ? "Refused — " : "";
    return el("div", { class: "error", role: "alert" }, refused + status + error.message);
  }

  function short(id) {
    return String(id || "").slice(0, 8);
  }

  function hashOf(...parts) {
    return "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
  }

  function link(href, ...children) {
    return el("a", { href }, ...children);
  }

  // ---- the API ------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** The API's ``detail``: a sentence, or pydantic's list of field errors. */
  function describe(detail, fallback) {
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    }
    return detail ? String(detail) : fallback;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = sessionStorage.getItem(CSRF_KEY);
    if (method !== "GET" && token) headers["X-CSRF-Token"] = token;
    const response = await fetch(API + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    const signingIn = method === "POST" && path === "/session";
    if (response.status === 401 && !signingIn) {
      forget();
      go("#/login");
    }
    if (!response.ok) {
      throw new ApiError(response.status, describe(data.detail, response.statusText));
    }
    return data;
  }

  function projectPath(project, ...rest) {
    const tail = rest.map((p) => "/" + encodeURIComponent(String(p))).join("");
    return `/projects/${encodeURIComponent(project)}${tail}`;
  }

  // ---- the session ---------------------------------------------------------------------

  function currentUser() {
    const saved = sessionStorage.getItem(USER_KEY);
    return saved ? JSON.parse(saved) : null;
  }

  function remember(me) {
    sessionStorage.setItem(USER_KEY, JSON.stringify({ name: me.name, role: me.role }));
    if (me.csrf_token) sessionStorage.setItem(CSRF_KEY, me.csrf_token);
  }

  function forget() {
    sessionStorage.removeItem(USER_KEY);
    sessionStorage.removeItem(CSRF_KEY);
    const picks = [];
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i);
      if (key && key.startsWith(PICKS_KEY)) picks.push(key);
    }
    picks.forEach((key) => sessionStorage.removeItem(key));
  }

  /** The run ids picked to compare in ``project`` (kept across pages, filters, reloads). */
  function picksOf(project) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(PICKS_KEY + project) || "[]");
      return Array.isArray(saved) ? saved.filter((id) => typeof id === "string") : [];
    } catch (error) {
      return [];
    }
  }

  function keepPicks(project, ids) {
    if (ids.length) sessionStorage.setItem(PICKS_KEY + project, JSON.stringify(ids));
    else sessionStorage.removeItem(PICKS_KEY + project);
  }

  /** The signed-in user: remembered, else asked of the API (a 401 goes to #/login). */
  async function ensureUser() {
    const known = currentUser();
    if (known) return known;
    remember(await api("GET", "/session"));
    return currentUser();
  }

  async function signOut() {
    try {
      await api("DELETE", "/session");
    } finally {
      forget();
      go("#/login");
    }
  }

  // ---- page state ----------------------------------------------------------------------

  let flash = null; // a notice shown once, on the next page rendered
  let rendering = 0;

  function busy() {
    document.body.dataset.ready = "0";
  }

  function ready() {
    document.body.dataset.ready = "1";
  }

  /** Show the page at ``hash`` (marked not ready at once: hashchange fires later). */
  function go(hash) {
    busy();
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  /** A click on a link to another page marks it not ready until that page renders. */
  function onLinkClick(event) {
    const anchor = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
    if (anchor && anchor.getAttribute("href") !== location.hash) busy();
  }

  /** A page's ``limit`` (1 to ``max``, else ``size``) and ``offset`` from its hash query. */
  function pageOf(query, size, max = MAX_LIMIT) {
    const asked = Math.floor(Number(query.get("limit")));
    const limit = asked >= 1 ? Math.min(asked, max) : size;
    const offset = Math.max(0, Math.floor(Number(query.get("offset"))) || 0);
    return { limit, offset };
  }

  /** ``base`` with ``query``'s other keys, ``limit`` (unless ``size``) and ``offset`` (unless 0). */
  function pagedHash(base, query, size, limit, offset) {
    const next = new URLSearchParams(query);
    next.delete("limit");
    next.delete("offset");
    if (limit !== size) next.set("limit", String(limit));
    if (offset > 0) next.set("offset", String(offset));
    const text = next.toString();
    return text ? `${base}?${text}` : base;
  }

  /** What a page's #prev and #next do: go to the same hash at another offset. */
  function toPagedHash(base, query, size, limit) {
    return (offset) => go(pagedHash(base, query, size, limit, offset));
  }

  /**
   * #prev, what is shown (#shown "of" #total) and #next, then ``extra``. ``total``: a
   * number, null (not counted: "?") or undefined (not shown); ``more``, when known, says
   * whether a next page exists (else the total, or a short page, tells).
   */
  function pagingControls({ offset, limit, count, total, more, toOffset }, ...extra) {
    const shown = count ? `${offset + 1}–${offset + count}` : "none";
    let atEnd = offset + limit >= total;
    if (more !== undefined) atEnd = !more;
    else if (total === null || total === undefined) atEnd = count < limit;
    return el(
      "div",
      { class: "controls" },
      el("button", { id: "prev", type: "button", disabled: offset === 0,
        onclick: () => toOffset(Math.max(0, offset - limit)) }, "Previous"),
      el("span", { id: "shown" }, shown),
      total === undefined
        ? ""
        : [el("span", {}, " of "), el("span", { id: "total" }, total === null ? "?" : String(total))],
      el("button", { id: "next", type: "button", disabled: atEnd,
        onclick: () => toOffset(offset + limit) }, "Next"),
      extra
    );
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/";
    const at = raw.indexOf("?");
    const path = at < 0 ? raw : raw.slice(0, at);
    const query = new URLSearchParams(at < 0 ? "" : raw.slice(at + 1));
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { parts, query };
  }

  // ---- pages -----------------------------------------------------------------------------

  function loginPage(view) {
    const name = el("input", { id: "name", name: "name", autocomplete: "username", required: true });
    const password = el("input", {
      id: "password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    });
    const problem = el("div", { id: "login-problem" });
    async function submit(event) {
      event.preventDefault();
      busy();
      try {
        remember(await api("POST", "/session", { name: name.value, password: password.value }));
        go("#/");
      } catch (error) {
        problem.replaceChildren(errorBox(error));
        ready();
      }
    }
    view.append(
      el("h1", {}, "Sign in"),
      el(
        "form",
        { id: "login", onsubmit: submit },
        el("label", {}, "Name", name),
        el("label", {}, "Password", password),
        el("button", { id: "signin", type: "submit" }, "Sign in")
      ),
      problem
    );
  }

  async function projectsPage(view) {
    const data = await api("GET", "/projects");
    const items = data.projects.map((p) =>
      el(
        "li",
        { dataset: { project: p.name } },
        p.name === data.served ? link(hashOf("p", p.name), p.name) : p.name,
        p.name === data.served ? "" : el("span", { class: "muted" }, " (not served here)")
      )
    );
    view.append(el("h1", {}, "Projects"), el("ul", { id: "projects" }, items));
  }

  async function overviewPage(view, { project }) {
    const data = await api("GET", projectPath(project, "overview"));
    const champion = data.champion;
    view.append(
      el("h1", {}, project),
      el("h2", {}, "Counts"),
      kvTable(data.counts, { id: "counts" }),
      el("h2", {}, "Champion"),
      champion
        ? el(
            "div",
            { id: "champion" },
            link(hashOf("p", project, "models", ...champion.ref.split("@")), champion.ref),
            kvTable(champion.metrics)
          )
        : el("p", { id: "champion", class: "muted" }, "no champion yet"),
      el("h2", {}, "Latest gate verdict"),
      data.verdict
        ? el("p", { id: "verdict" }, data.verdict.payload.verdict, " ", fmt(data.verdict.created_at))
        : el("p", { id: "verdict", class: "muted" }, "none"),
      el("h2", {}, "Active deployment"),
      data.deployment
        ? kvTable(pick(data.deployment, ["model_name", "version", "mode", "status", "created_at"]))
        : el("p", { class: "muted" }, "nothing deployed"),
      el("h2", {}, "Monitoring"),
      data.alert ? kvTable(data.alert) : el("p", { class: "muted" }, "not judged yet")
    );
  }

  function pick(mapping, keys) {
    return Object.fromEntries(keys.filter((k) => k in mapping).map((k) => [k, mapping[k]]));
  }

  function splitWhere(text) {
    return text
      .split(/\s+and\s+/i)
      .map((c) => c.trim())
      .filter(Boolean);
  }

  function runsQuery(query) {
    const params = new URLSearchParams();
    for (const key of ["where", "metric"]) query.getAll(key).forEach((v) => params.append(key, v));
    for (const key of ["sort", "parent", "status"]) if (query.get(key)) params.set(key, query.get(key));
    const { limit, offset } = pageOf(query, PAGE_SIZE);
    params.set("limit", String(limit));
    params.set("offset", String(offset));
    return params;
  }

  async function runsPage(view, { project }, query) {
    const params = runsQuery(query);
    const data = await api("GET", `${projectPath(project, "runs")}?${params}`);
    const limit = Number(params.get("limit"));
    const offset = Number(params.get("offset"));
    const total = typeof data.total === "number" ? data.total : null;

    const where = el("input", { id: "where", value: query.getAll("where").join(" and ") });
    const sort = el("input", { id: "sort", value: query.get("sort") || "", list: "metric-keys" });
    const metrics = el("input", { id: "metrics", value: query.getAll("metric").join(", ") });
    function navigate(changes) {
      const next = new URLSearchParams();
      splitWhere(changes.where ?? where.value).forEach((w) => next.append("where", w));
      metrics.value
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean)
        .forEach((m) => next.append("metric", m));
      if (sort.value.trim()) next.set("sort", sort.value.trim());
      if (query.get("parent")) next.set("parent", query.get("parent"));
      if (limit !== PAGE_SIZE) next.set("limit", String(limit));
      if (changes.offset) next.set("offset", String(changes.offset));
      go(`${hashOf("p", project, "runs")}?${next}`);
    }
    const filters = el(
      "form",
      { id: "filters", onsubmit: (e) => (e.preventDefault(), navigate({ offset: 0 })) },
      el("label", {}, "Where (e.g. roc_auc > 0.8 and params.depth == 3)", where),
      el("label", {}, "Sort (metric, - for descending)", sort),
      el("label", {}, "Extra metric columns (comma separated)", metrics),
      el("button", { id: "search", type: "submit" }, "Search"),
      el("datalist", { id: "metric-keys" }, data.metric_keys.map((k) => el("option", { value: k })))
    );

    // The picks outlive the page: kept per project in sessionStorage, across pages and filters.
    const picked = new Set(picksOf(project));
    const problem = el("div", { id: "compare-problem" });
    const compare = el("button", { id: "compare", type: "button",
      onclick: () => compareSelected(project, problem) });
    const clear = el("button", { id: "clear-picks", type: "button", onclick: clearPicks }, "Clear picks");
    function showPicks() {
      compare.textContent = `Compare (${picked.size})`;
      clear.disabled = picked.size === 0;
    }
    function togglePick(event) {
      const box = event.target;
      if (box.checked) picked.add(box.value);
      else picked.delete(box.value);
      keepPicks(project, [...picked]);
      showPicks();
    }
    function clearPicks() {
      picked.clear();
      keepPicks(project, []);
      view.querySelectorAll("input.pick").forEach((box) => (box.checked = false));
      problem.replaceChildren();
      showPicks();
    }
    showPicks();
    const paging = pagingControls(
      { offset, limit, count: data.runs.length, total, toOffset: (o) => navigate({ offset: o }) },
      compare,
      clear
    );

    const header = ["", "run", "name", "status", "started", "params", ...data.metric_keys];
    const rows = data.runs.map((run) =>
      el(
        "tr",
        { dataset: { runId: run.run_id } },
        el("td", {}, el("input", { type: "checkbox", class: "pick", value: run.run_id,
          checked: picked.has(run.run_id), onchange: togglePick })),
        el("td", {}, link(hashOf("p", project, "runs", run.run_id), short(run.run_id))),
        el("td", {}, run.name),
        el("td", {}, run.status),
        el("td", {}, fmt(run.started_at)),
        el("td", {}, fmt(run.params)),
        data.metric_keys.map((k) => cell(run.metrics[k]))
      )
    );
    const parent = query.get("parent");
    view.append(
      el("h1", {}, parent ? `Runs under ${short(parent)}` : "Runs"),
      filters,
      paging,
      problem,
      el(
        "table",
        { id: "runs" },
        el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))),
        el("tbody", {}, rows)
      )
    );
  }

  /** Compare the runs picked in ``project``, on any page (two at least). */
  function compareSelected(project, problem) {
    const ids = picksOf(project);
    if (ids.length < 2) {
      problem.replaceChildren(el("div", { class: "error" }, "Select two runs or more to compare."));
      return;
    }
    const query = new URLSearchParams(ids.map((id) => ["id", id]));
    go(`${hashOf("p", project, "compare")}?${query}`);
  }

  async function runPage(view, { project, runId }) {
    const run = await api("GET", projectPath(project, "runs", runId));
    const about = pick(run, ["run_id", "name", "status", "started_at", "ended_at", "code_version", "error"]);
    view.append(
      el("h1", {}, `Run ${short(run.run_id)} `, el("span", { class: "muted" }, run.name)),
      kvTable(about, { id: "run" }),
      run.parent_run_id
        ? el("p", {}, "Parent: ", link(hashOf("p", project, "runs", run.parent_run_id), short(run.parent_run_id)))
        : "",
      el("p", {}, link(`${hashOf("p", project, "runs")}?parent=${encodeURIComponent(run.run_id)}`,
        "Child runs")),
      el("h2", {}, "Params"),
      kvTable(run.params, { id: "params" }),
      el("h2", {}, "Tags"),
      kvTable(run.tags, { id: "tags" }),
      el("h2", {}, "Outputs"),
      kvTable(run.outputs),
      el("h2", {}, "Metrics"),
      objectsTable(run.metric_values, ["key", "value", "step", "timestamp"], { id: "metrics" })
    );
  }

  async function comparePage(view, { project }, query) {
    const ids = query.getAll("id");
    const params = new URLSearchParams(ids.map((id) => ["id", id]));
    const data = await api("GET", `${projectPath(project, "runs", "compare")}?${params}`);
    const differing = new Set(data.differing_params);
    const head = el("tr", {}, el("th", {}, ""), data.runs.map((r) =>
      el("th", {}, link(hashOf("p", project, "runs", r.run_id), short(r.run_id)), " ", r.name)));
    function sideBySide(keys, valueOf, marked) {
      return keys.map((key) =>
        el(
          "tr",
          { class: marked.has(key) ? "differs" : null, dataset: { key, differs: marked.has(key) ? "1" : "0" } },
          el("th", {}, key, marked.has(key) ? el("span", { class: "mark", title: "differs" }, " ≠") : ""),
          data.runs.map((r) => cell(valueOf(r)[key]))
        )
      );
    }
    const dimensions = parallelDimensions(data);
    const parallel = el("div", { id: "parallel", class: "parallel" });
    const curves = Object.keys(data.curves).map((key) =>
      el("div", { class: "curve", dataset: { metric: key } })
    );
    view.append(
      el("h1", {}, `Comparing ${data.runs.length} runs`),
      el("h2", {}, "Params"),
      el("table", { id: "params" }, el("thead", {}, head.cloneNode(true)),
        el("tbody", {}, sideBySide(data.param_keys, (r) => r.params, differing))),
      el("h2", {}, "Metrics (latest)"),
      el("table", { id: "metrics" }, el("thead", {}, head),
        el("tbody", {}, sideBySide(data.metric_keys, (r) => r.metrics, new Set()))),
      el("h2", {}, "Curves"),
      ...(curves.length ? curves : [el("p", { class: "muted" }, "no metric curves")]),
      el("h2", {}, "Parallel coordinates"),
      parallel
    );
    return async () => {
      const Plotly = await loadPlotly();
      if (dimensions.length >= 2 && data.runs.length >= 2) {
        const layout = {
          xaxis: { tickvals: dimensions.map((_, i) => i), ticktext: dimensions.map((d) => d.label) },
          yaxis: { title: { text: "min to max of each axis" }, range: [-0.05, 1.05], showticklabels: false },
          margin: { t: 20 },
        };
        await Plotly.newPlot(parallel, parallelTraces(data, dimensions), layout, PLOT_CONFIG);
      } else {
        parallel.append(el("p", { class: "muted" }, "two runs and two numeric columns are needed"));
      }
      for (const div of curves) {
        const key = div.dataset.metric;
        const traces = Object.entries(data.curves[key]).map(([runId, points]) => ({
          x: points.map((p) => p[0]),
          y: points.map((p) => p[1]),
          name: short(runId),
          mode: "lines+markers",
          type: "scatter",
        }));
        const layout = { title: { text: key }, xaxis: { title: { text: "step" } }, margin: { t: 40 } };
        await Plotly.newPlot(div, traces, layout, PLOT_CONFIG);
      }
    };
  }

  /** One axis per param that is a number in every run, then one per metric. */
  function parallelDimensions(data) {
    const numeric = (values) => values.every((v) => typeof v === "number" && Number.isFinite(v));
    const axes = [];
    for (const key of data.param_keys) {
      const values = data.runs.map((r) => r.params[key]);
      if (numeric(values)) axes.push({ label: key, values });
    }
    for (const key of data.metric_keys) {
      const values = data.runs.map((r) => r.metrics[key]);
      if (numeric(values)) axes.push({ label: key, values });
    }
    return axes;
  }

  /** Parallel coordinates drawn as SVG lines (plotly's parcoords needs WebGL): one line
   * per run across the axes, each axis scaled from its min to its max, the values shown
   * on hover. */
  function parallelTraces(data, dimensions) {
    const scaled = dimensions.map((d) => {
      const low = Math.min(...d.values);
      const span = Math.max(...d.values) - low;
      return d.values.map((v) => (span ? (v - low) / span : 0.5));
    });
    return data.runs.map((run, i) => ({
      type: "scatter",
      mode: "lines+markers",
      name: short(run.run_id),
      x: dimensions.map((_, axis) => axis),
      y: scaled.map((values) => values[i]),
      text: dimensions.map((d) => `${d.label} = ${fmt(d.values[i])}`),
      hoverinfo: "name+text",
    }));
  }

  let plotlyLoading = null;

  /** plotly.js, loaded from this server the first time a page draws a chart. */
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!plotlyLoading) {
      plotlyLoading = new Promise((resolve, reject) => {
        const script = el("script", { src: "/static/plotly.min.js" });
        script.addEventListener("load", () => resolve(window.Plotly));
        script.addEventListener("error", () => reject(new Error("plotly.js did not load")));
        document.head.append(script);
      });
    }
    return plotlyLoading;
  }

  function gateOf(version) {
    const gate = (version.lineage || {}).gate;
    return gate && typeof gate === "object" ? gate.verdict : gate;
  }

  async function modelsPage(view, { project }) {
    const data = await api("GET", projectPath(project, "models"));
    const header = ["version", "created", "aliases", "gate", "approval", "metrics"];
    const rows = data.versions.map((v) =>
      el(
        "tr",
        { dataset: { name: v.name, version: String(v.version) } },
        el("td", {}, link(hashOf("p", project, "models", v.name, v.version), `${v.name}@${v.version}`)),
        el("td", {}, fmt(v.created_at)),
        el("td", { class: "aliases" }, (v.aliases || []).join(", ")),
        el("td", { class: "gate" }, fmt(gateOf(v))),
        el("td", { class: `status status-${v.status || "none"}` }, v.status || "none"),
        el("td", {}, Object.entries(v.metrics || {}).map(([k, m]) => `${k} ${fmt(m)}`).join(", "))
      )
    );
    view.append(
      el("h1", {}, "Model versions"),
      el("table", { id: "versions" },
        el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))
    );
  }

  async function versionPage(view, { project, name, version }) {
    const data = await api("GET", projectPath(project, "models", name, "versions", version));
    const chain = data.chain;
    const note = el("textarea", { id: "note", rows: 2, cols: 50, placeholder: "why (required to reject)" });
    const outcome = el("div", { id: "decision" });
    async function decide(action) {
      busy();
      try {
        await api("POST", projectPath(project, "models", name, "versions", version, action), {
          note: note.value,
        });
        flash = `${name}@${version} ${action === "approve" ? "approved" : "rejected"}.`;
        route();
      } catch (error) {
        outcome.replaceChildren(errorBox(error));
        ready();
      }
    }
    view.append(
      el("h1", {}, `${data.name}@${data.version}`),
      el("p", {}, "Approval: ",
        el("span", { id: "status", class: `status-${data.status || "none"}` }, data.status || "none"),
        " · aliases: ", el("span", { id: "aliases" }, (data.aliases || []).join(", ") || "none"),
        " · gate: ", el("span", { id: "gate" }, fmt(chain.gate && chain.gate.verdict))),
      el("form", { id: "decide", onsubmit: (e) => e.preventDefault() },
        el("label", {}, "Reason", note),
        el("button", { id: "approve", type: "button", onclick: () => decide("approve") }, "Approve"),
        el("button", { id: "reject", type: "button", onclick: () => decide("reject") }, "Reject")),
      outcome,
      el("h2", {}, "Lineage"),
      lineage(project, chain),
      el("h2", {}, "Metrics"),
      kvTable(data.metrics, { id: "version-metrics" }),
      el("h2", {}, "History"),
      objectsTable(data.history || [], ["at", "kind", "details"], { id: "history" })
    );
  }

  /** snapshot → run → version → deployments, each linked to its page. */
  function lineage(project, chain) {
    const steps = [];
    if (chain.snapshot) {
      const id = chain.snapshot.snapshot_id;
      steps.push(el("li", { class: "snapshot" }, "Snapshot ",
        link(hashOf("p", project, "snapshots", id), short(id)), " ", chain.snapshot.source));
    }
    if (chain.run) {
      steps.push(el("li", { class: "run" }, "Run ",
        link(hashOf("p", project, "runs", chain.run.run_id), short(chain.run.run_id)), " ", chain.run.name));
    }
    steps.push(el("li", { class: "gate" }, "Gate: ", fmt(chain.gate && chain.gate.verdict)));
    for (const approval of chain.approvals || []) {
      const p = approval.payload || {};
      steps.push(el("li", { class: "approval" }, `${approval.kind} by ${p.by} `, p.note || ""));
    }
    for (const d of chain.deployments || []) {
      steps.push(el("li", { class: "deployment" }, `Deployment ${short(d.deployment_id)} ${d.mode} ${d.status}`));
    }
    const p = chain.predictions || {};
    steps.push(el("li", { class: "predictions" }, `Predictions: ${p.rows || 0} rows in ${p.batches || 0} batches`));
    return el("ol", { id: "lineage" }, steps);
  }

  async function deploymentsPage(view, { project }) {
    const data = await api("GET", projectPath(project, "deployments"));
    const ref = el("input", { id: "ref", placeholder: "bank@2 or bank@champion", required: true });
    const mode = el("select", { id: "mode" },
      ["single", "shadow", "ab", "canary"].map((m) => el("option", { value: m }, m)));
    const percent = el("input", { id: "percent", type: "number", min: 0, max: 100, step: "any" });
    const key = el("input", { id: "key", placeholder: "a/b split key (optional)" });
    const pin = el("input", { id: "pin", type: "checkbox" });
    const outcome = el("div", { id: "outcome" });
    async function act(call, done) {
      busy();
      try {
        await call();
        flash = done;
        route();
      } catch (error) {
        outcome.replaceChildren(errorBox(error));
        ready();
      }
    }
    function deploy(event) {
      event.preventDefault();
      const body = { ref: ref.value.trim(), mode: mode.value };
      if (percent.value !== "") body.percent = Number(percent.value);
      if (key.value.trim()) body.key = key.value.trim();
      if (pin.checked) body.pin = true;
      act(() => api("POST", projectPath(project, "deployments"), body), `Deployed ${body.ref} (${body.mode}).`);
    }
    const rollback = () =>
      act(() => api("POST", projectPath(project, "deployments", "rollback")), "Rolled back.");
    const rows = data.deployments.map((d) =>
      el(
        "tr",
        { dataset: { deploymentId: d.deployment_id, status: d.status, mode: d.mode } },
        el("td", {}, short(d.deployment_id)),
        el("td", {}, `${d.model_name}@${d.version}`),
        el("td", { class: "mode" }, d.mode),
        el("td", { class: "status" }, d.status),
        el("td", {}, fmt(d.created_at)),
        el("td", { class: "traffic" }, trafficOf(d)),
        el("td", {}, fmt((d.config || {}).by)),
        el("td", {}, fmt(d.config))
      )
    );
    const header = ["deployment", "version", "mode", "status", "created", "traffic", "by", "config"];
    view.append(
      el("h1", {}, "Deployments"),
      el("form", { id: "deploy", onsubmit: deploy },
        el("label", {}, "Version or alias", ref),
        el("label", {}, "Mode", mode),
        el("label", {}, "Percent", percent),
        el("label", {}, "Key", key),
        el("label", { title: "single from an alias: keep today's version" }, "Pin", pin),
        el("button", { id: "deploy-submit", type: "submit" }, "Deploy"),
        el("button", { id: "rollback", type: "button", onclick: rollback }, "Roll back")),
      outcome,
      el("table", { id: "deployments" },
        el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))
    );
  }

  /** How a deployment splits traffic between its primary and its challenger. */
  function trafficOf(d) {
    const config = d.config || {};
    const primary = `${d.model_name}@${d.version}`;
    const challenger = `${d.model_name}@${config.challenger}`;
    if (d.mode === "single" || config.challenger == null) return `${primary}: every request`;
    if (d.mode === "shadow") return `${primary} answers; ${challenger} scores every request`;
    const by = config.key ? ` (by ${config.key})` : "";
    return `${challenger}: ${fmt(config.percent)}%${by}; ${primary}: the rest`;
  }

  async function monitoringPage(view, { project }) {
    const data = await api("GET", projectPath(project, "monitoring"));
    const charts = [];
    view.append(el("h1", {}, "Monitoring"));
    if (!data.versions.length) view.append(el("p", { class: "muted" }, "no version is serving traffic"));
    for (const watched of data.versions) {
      const section = el("section", { class: "watched", dataset: { ref: watched.ref } });
      const windows = watched.windows || [];
      const latest = windows[windows.length - 1];
      section.append(
        el("h2", {}, `${watched.ref} (${watched.role})`),
        el("p", { class: watched.alert ? "error" : "muted" },
          watched.alert ? "alert" : "no alert", watched.message ? ` — ${watched.message}` : ""),
        latest ? liveMetric(latest) : "",
        el("h3", {}, "Windows"),
        windowsTable(windows),
        el("h3", {}, "Drift per feature (KS or chi-squared p-value; marked: drifted)"),
        driftTable(windows)
      );
      if (windows.length) {
        const chart = el("div", { class: "chart", dataset: { ref: watched.ref } });
        charts.push([chart, windows]);
        section.append(chart);
      }
      view.append(section);
    }
    view.append(el("h2", {}, "Staleness"), kvTable(data.staleness, { id: "staleness" }));
    return async () => {
      if (!charts.length) return;
      const Plotly = await loadPlotly();
      for (const [chart, windows] of charts) {
        const x = windows.map((w) => w.end);
        const traces = [
          { x, y: windows.map((w) => (w.metric || {}).value), name: "live metric", type: "scatter" },
          { x, y: windows.map((w) => (w.latency_ms || {}).p50), name: "latency p50 (ms)", yaxis: "y2", type: "scatter" },
        ];
        const layout = { yaxis2: { overlaying: "y", side: "right" }, margin: { t: 30 } };
        await Plotly.newPlot(chart, traces, layout, PLOT_CONFIG);
      }
    };
  }

  function liveMetric(window) {
    const m = window.metric || {};
    if (m.value === undefined || m.value === null) {
      return el("p", { class: "live-metric muted" }, "no live metric (no feedback yet)");
    }
    return el("p", { class: "live-metric" },
      `Live ${m.name} ${fmt(m.value)} (hold-out ${fmt(m.holdout)}) on ${m.rows} rows`);
  }

  function windowsTable(windows) {
    const header = ["start", "end", "rows", "metric", "latency p50", "p99", "errors", "alert"];
    const rows = windows.map((w) =>
      el("tr", { class: w.alert ? "alert" : null },
        cell(w.start), cell(w.end), cell(w.rows), cell((w.metric || {}).value),
        cell((w.latency_ms || {}).p50), cell((w.latency_ms || {}).p99), cell(w.errors),
        el("td", {}, w.alert ? "yes" : "no"))
    );
    return el("table", { class: "windows" },
      el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))), el("tbody", {}, rows));
  }

  /** One row per feature, one p-value per window; drifted cells and features marked. */
  function driftTable(windows) {
    const features = [...new Set(windows.flatMap((w) => Object.keys(w.drift || {})))];
    const rows = features.map((feature) => {
      const drifted = windows.some((w) => (w.drifted || []).includes(feature));
      return el("tr", { class: drifted ? "drifted" : null, dataset: { feature } },
        el("th", {}, feature),
        windows.map((w) => {
          const cellNode = cell((w.drift || {})[feature]);
          if ((w.drifted || []).includes(feature)) cellNode.classList.add("drifted");
          return cellNode;
        }));
    });
    const header = ["feature", ...windows.map((w) => `p-value ${fmt(w.start).slice(0, 10)}`)];
    return el("table", { class: "drift" },
      el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows));
  }

  async function snapshotsPage(view, { project }) {
    const data = await api("GET", projectPath(project, "snapshots"));
    const header = ["snapshot", "created", "rows", "columns", "sources", "versions"];
    const rows = data.snapshots.map((s) =>
      el("tr", { dataset: { snapshotId: s.snapshot_id } },
        el("td", {}, link(hashOf("p", project, "snapshots", s.snapshot_id), short(s.snapshot_id))),
        cell(s.created_at), cell(s.rows), cell(s.columns.length),
        el("td", {}, s.sources.map((src) => src.location).join(", ")),
        el("td", {}, s.models.join(", ")))
    );
    view.append(
      el("h1", {}, "Snapshots"),
      rows.length
        ? el("table", { id: "snapshots" },
            el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))), el("tbody", {}, rows))
        : el("p", { class: "muted" }, "no snapshot yet")
    );
  }

  async function snapshotPage(view, { project, snapshotId }) {
    const s = await api("GET", projectPath(project, "snapshots", snapshotId));
    const columns = ["column", "kind", "missing", "distinct", "min", "max", "mean", "top"];
    view.append(
      el("h1", {}, `Snapshot ${short(s.snapshot_id)}`),
      kvTable(pick(s, ["snapshot_id", "source", "source_hash", "rows", "created_at", "code_version"])),
      el("h2", {}, "Sources"),
      objectsTable(s.sources, null, { id: "sources" }),
      el("h2", {}, "Versions trained on it"),
      el("ul", {}, s.models.map((m) => el("li", {}, m))),
      el("h2", {}, "Profile"),
      objectsTable(s.profile, columns.filter((c) => s.profile.some((p) => c in p)), { id: "profile" })
    );
  }

  async function labelsPage(view, { project }, query) {
    const { limit, offset } = pageOf(query, PAGE_SIZE);
    const data = await api("GET", `${projectPath(project, "labels")}?limit=${limit}&offset=${offset}`);
    const paging = pagingControls({
      offset,
      limit,
      count: data.rows.length,
      total: data.total,
      toOffset: toPagedHash(hashOf("p", project, "labels"), query, PAGE_SIZE, limit),
    });
    const columns = data.rows.length ? Object.keys(data.rows[0]) : data.key;
    const outcome = el("div", { id: "outcome" });
    function labelInput() {
      if (!data.classes.length) return el("input", { type: "number", step: "any", class: "label" });
      return el("select", { class: "label" }, el("option", { value: "" }, "—"),
        data.classes.map((c, i) => el("option", { value: String(i) }, fmt(c))));
    }
    function valueOf(input) {
      if (input.value === "") return null;
      return data.classes.length ? data.classes[Number(input.value)] : Number(input.value);
    }
    const rows = data.rows.map((row) => {
      const key = Object.fromEntries(data.key.map((k) => [k, row[k]]));
      return el("tr", { dataset: { key: JSON.stringify(key) } },
        columns.map((c) => cell(row[c])), el("td", {}, labelInput()));
    });
    async function save() {
      const labels = [];
      for (const tr of rows) {
        const value = valueOf(tr.querySelector(".label"));
        if (value !== null) labels.push({ key: JSON.parse(tr.dataset.key), label: value });
      }
      if (!labels.length) {
        outcome.replaceChildren(el("div", { class: "error" }, "Give at least one label first."));
        return;
      }
      busy();
      try {
        const done = await api("POST", projectPath(project, "labels"), { labels });
        flash = `Saved ${done.rows} labels as ${done.labelled_by}.`;
        route();
      } catch (error) {
        outcome.replaceChildren(errorBox(error));
        ready();
      }
    }
    view.append(
      el("h1", {}, `Label ${data.target}`),
      el("p", {}, el("span", { id: "waiting" }, String(data.total)), " rows wait for a label."),
      paging,
      el("button", { id: "save", type: "button", onclick: save }, "Save labels (this page)"),
      outcome,
      el("table", { id: "labels" },
        el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)), el("th", {}, data.target))),
        el("tbody", {}, rows))
    );
  }

  async function eventsPage(view, { project }, query) {
    const kind = query.get("kind");
    const { limit, offset } = pageOf(query, EVENTS_PAGE_SIZE);
    const asked = new URLSearchParams({ newest_first: "true", limit, offset });
    if (kind) asked.set("kind", kind);
    const data = await api("GET", `${projectPath(project, "events")}?${asked}`);
    const paging = pagingControls({
      offset,
      limit,
      count: data.events.length,
      total: data.total,
      toOffset: toPagedHash(hashOf("p", project, "events"), query, EVENTS_PAGE_SIZE, limit),
    });
    const rows = data.events.map((e) =>
      el("tr", { dataset: { kind: e.kind } },
        cell(e.created_at), el("td", {}, e.kind), el("td", {}, el("pre", {}, JSON.stringify(e.payload, null, 1))))
    );
    const filter = el("input", { id: "kind", value: kind || "", placeholder: "e.g. model.approved" });
    const show = (e) => {
      e.preventDefault();
      const chosen = filter.value.trim();
      go(hashOf("p", project, "events") + (chosen ? `?kind=${encodeURIComponent(chosen)}` : ""));
    };
    view.append(
      el("h1", {}, kind ? `Events: ${kind}` : "Events (newest first)"),
      el("form", { id: "events-filter", onsubmit: show },
        el("label", {}, "Kind", filter), el("button", { type: "submit" }, "Show")),
      paging,
      el("table", { id: "events" },
        el("thead", {}, el("tr", {}, ["at", "kind", "payload"].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))
    );
  }

  async function auditPage(view, params, query) {
    // The API counts no total: one entry more than the page tells whether a next page exists.
    const { limit, offset } = pageOf(query, AUDIT_PAGE_SIZE, MAX_LIMIT - 1);
    const data = await api("GET", `/audit?limit=${limit + 1}&offset=${offset}`);
    const entries = data.entries.slice(0, limit);
    const paging = pagingControls({
      offset,
      limit,
      count: entries.length,
      more: data.entries.length > limit,
      toOffset: toPagedHash("#/audit", query, AUDIT_PAGE_SIZE, limit),
    });
    view.append(el("h1", {}, "Audit log (newest first)"), paging,
      objectsTable(entries, null, { id: "audit" }));
  }

  async function reportsPage(view, { project }, query) {
    const data = await api("GET", projectPath(project, "reports"));
    const open = query.get("name");
    const rows = data.reports.map((r) =>
      el("tr", { dataset: { name: r.name } },
        el("td", {}, link(`${hashOf("p", project, "reports")}?name=${encodeURIComponent(r.name)}`, r.name)),
        el("td", {}, r.kind), cell(r.created_at), cell(r.size))
    );
    view.append(
      el("h1", {}, "Reports"),
      el("table", { id: "reports" },
        el("thead", {}, el("tr", {}, ["report", "kind", "written", "bytes"].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))
    );
    if (open && data.reports.some((r) => r.name === open)) {
      view.append(el("h2", {}, open), el("iframe", {
        class: "report",
        sandbox: "allow-scripts",
        title: open,
        src: `${API}${projectPath(project, "reports", open)}`,
      }));
    }
  }

  // ---- the router ----------------------------------------------------------------------

  const ROUTES = [
    [["login"], loginPage, false],
    [[], projectsPage, true],
    [["audit"], auditPage, true],
    [["p", ":project"], overviewPage, true],
    [["p", ":project", "runs"], runsPage, true],
    [["p", ":project", "runs", ":runId"], runPage, true],
    [["p", ":project", "compare"], comparePage, true],
    [["p", ":project", "models"], modelsPage, true],
    [["p", ":project", "models", ":name", ":version"], versionPage, true],
    [["p", ":project", "deployments"], deploymentsPage, true],
    [["p", ":project", "monitoring"], monitoringPage, true],
    [["p", ":project", "snapshots"], snapshotsPage, true],
    [["p", ":project", "snapshots", ":snapshotId"], snapshotPage, true],
    [["p", ":project", "labels"], labelsPage, true],
    [["p", ":project", "events"], eventsPage, true],
    [["p", ":project", "reports"], reportsPage, true],
  ];

  function match(parts) {
    for (const [pattern, page, signedIn] of ROUTES) {
      if (pattern.length !== parts.length) continue;
      const params = {};
      const fits = pattern.every((piece, i) =>
        piece.startsWith(":") ? ((params[piece.slice(1)] = parts[i]), true) : piece === parts[i]
      );
      if (fits) return { page, params, signedIn };
    }
    return null;
  }

  const SECTIONS = ["runs", "models", "deployments", "monitoring", "snapshots", "labels", "events", "reports"];

  function renderNav(user, project) {
    const links = [link("#/", "Projects")];
    if (project) {
      links.push(link(hashOf("p", project), project));
      for (const section of SECTIONS) links.push(link(hashOf("p", project, section), section));
    }
    if (user && user.role === "admin") links.push(link("#/audit", "audit"));
    document.getElementById("links").replaceChildren(...(user ? links : []));
    document.getElementById("who").textContent = user ? `${user.name} (${user.role})` : "";
    document.getElementById("signout").hidden = !user;
  }

  async function route() {
    const token = ++rendering;
    busy();
    const { parts, query } = parseHash();
    const found = match(parts);
    const view = el("div", { class: "view" });
    let after = null;
    try {
      if (!found) throw new ApiError(404, `no page at ${location.hash}`);
      const user = found.signedIn ? await ensureUser() : null;
      renderNav(user, found.params.project);
      if (flash) view.append(el("div", { class: "notice", role: "status" }, flash));
      flash = null;
      after = await found.page(view, found.params, query);
    } catch (error) {
      if (error.status === 401 && found && found.signedIn) return; // #/login takes over
      view.append(errorBox(error));
    }
    if (token !== rendering) return; // a newer route started meanwhile
    document.getElementById("main").replaceChildren(view);
    if (typeof after === "function") {
      try {
        await after();
      } catch (error) {
        view.append(errorBox(error));
      }
    }
    if (token === rendering) ready();
  }

  window.addEventListener("hashchange", route);
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("signout").addEventListener("click", signOut);
    document.addEventListener("click", onLinkClick);
    if (!location.hash) location.replace("#/");
    route();
  });
})();
