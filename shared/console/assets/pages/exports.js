// The export list (live over the WebSocket, filtered by status, format and type, paged by
// cursor) and one export's page (artifacts, manifest, deliveries, error, cancel).

import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";

import { call, download, errorText, listen } from "../api.js";

const html = htm.bind(h);
const STATUSES = ["queued", "running", "ready", "failed", "cancelled", "expired", "purged"];

function size(job) {
  const total = (job.artifacts || []).reduce((n, a) => n + (a.size || 0), 0);
  if (!total) return "";
  return total < 1024 ? `${total} B` : total < 1048576 ? `${(total / 1024).toFixed(1)} KB` : `${(total / 1048576).toFixed(1)} MB`;
}

/** Status as text, with a progress bar and the stage while running. */
function Status({ job }) {
  if (job.status === "running" || job.status === "queued") {
    const label = job.stage ? `${job.status} (${job.stage})` : job.status;
    return html`<span class="status">${label}</span>
      <progress max="100" value=${job.progress?.percent || 0}
        aria-label=${`Progress of ${job.export_id}`}>${job.progress?.percent || 0}%</progress>`;
  }
  return html`<span class="status">${job.status}</span>`;
}

function Downloads({ job, onError }) {
  if (job.status !== "ready") return null;
  const get = (kind) => (e) => { e.preventDefault(); download(job.export_id, kind).catch((x) => onError(x.message)); };
  return html`<a href=${`#/exports/${job.export_id}`} onClick=${get("report")}>Download report</a>
    ${" · "}<a href=${`#/exports/${job.export_id}`} onClick=${get("sealed")}>Download sealed bundle</a>`;
}

/** Applies an event's fields to the job it names (the list keeps its order). */
function merge(jobs, ev) {
  return jobs.map((j) => j.export_id === ev.export_id
    ? { ...j, status: ev.status, stage: ev.stage, progress: { percent: ev.progress }, artifacts: ev.artifacts || j.artifacts, error: ev.error }
    : j);
}

export function ExportsPage() {
  const [filters, setFilters] = useState({ status: "", format: "", type: "" });
  const [caps, setCaps] = useState(null);
  const [jobs, setJobs] = useState([]);
  const [next, setNext] = useState(null);
  const [error, setError] = useState("");
  const query = (cursor) => {
    const q = new URLSearchParams({ limit: "25" });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    if (cursor) q.set("cursor", cursor);
    return `/api/v1/exports?${q}`;
  };
  const load = async (cursor) => {
    const { status, body } = await call("GET", query(cursor));
    if (status !== 200) { setError(errorText(body)); return; }
    setError("");
    setJobs((prev) => (cursor ? [...prev, ...body.items] : body.items));
    setNext(body.next_cursor);
  };
  useEffect(() => { call("GET", "/api/v1/capabilities").then((r) => r.status === 200 && setCaps(r.body)); }, []);
  useEffect(() => { load(null); }, [filters]);
  const shown = useRef(new Set());
  shown.current = new Set(jobs.map((j) => j.export_id));
  // An event of a listed export updates its row; one of another (made elsewhere) reloads
  // the first page: one reload at a time, and one more after it if events came meanwhile,
  // so a burst of events costs two requests and the last state is never missed.
  const reloading = useRef(false);
  const again = useRef(false);
  const reload = async () => {
    if (reloading.current) { again.current = true; return; }
    reloading.current = true;
    do { again.current = false; await load(null); } while (again.current);
    reloading.current = false;
  };
  useEffect(() => listen((ev) => {
    if (shown.current.has(ev.export_id)) setJobs((prev) => merge(prev, ev));
    else reload();
  }), [filters]);
  const select = (name, label, values) => html`<label>${label}
    <select value=${filters[name]} onChange=${(e) => setFilters({ ...filters, [name]: e.target.value })}>
      <option value="">any</option>${values.map((v) => html`<option value=${v}>${v}</option>`)}
    </select></label>`;
  return html`<h1>Exports</h1>
    <div class="filters" role="group" aria-label="Filters">
      ${select("status", "Status", STATUSES)}
      ${select("format", "Format", caps?.formats || [])}
      ${select("type", "Export type", caps?.types || [])}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <table>
      <caption class="visually-hidden">The tenant's exports, newest first</caption>
      <thead><tr><th scope="col">Export</th><th scope="col">Status</th><th scope="col">Type</th><th scope="col">Format</th>
        <th scope="col">Template</th><th scope="col">Created</th><th scope="col">Size</th><th scope="col">Artifacts</th></tr></thead>
      <tbody>
        ${jobs.map((j) => html`<tr data-export-id=${j.export_id}>
          <td><a href=${`#/exports/${j.export_id}`}>${j.export_id}</a></td>
          <td><${Status} job=${j} /></td><td>${j.type}</td><td>${j.format}</td><td>${j.template}</td>
          <td><time datetime=${j.created_at}>${j.created_at}</time></td><td>${size(j)}</td>
          <td><${Downloads} job=${j} onError=${setError} /></td></tr>`)}
      </tbody>
    </table>
    ${jobs.length === 0 && html`<p>No exports yet. <a href="#/new">Request one.</a></p>`}
    ${next && html`<p><button class="secondary" onClick=${() => load(next)}>More exports</button></p>`}`;
}

export function ExportPage({ id }) {
  const [job, setJob] = useState(null);
  const [manifest, setManifest] = useState(null);
  const [error, setError] = useState("");
  const path = `/api/v1/exports/${encodeURIComponent(id)}`;
  const load = async () => {
    const { status, body } = await call("GET", path);
    if (status !== 200) { setError(errorText(body)); return; }
    setJob(body);
    if (body.status === "ready") {
      const m = await call("GET", `${path}/manifest`);
      if (m.status === 200) setManifest(m.body);
    }
  };
  useEffect(() => { load(); }, [id]);
  useEffect(() => listen((ev) => { if (ev.export_id === id) load(); }), [id]);
  const cancel = async () => {
    const { status, body } = await call("DELETE", path);
    if (status >= 300) setError(errorText(body)); else setJob(body);
  };
  if (!job) return html`<h1>Export ${id}</h1>${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Loading…</p>`}`;
  const running = job.status === "queued" || job.status === "running";
  return html`<h1>Export ${job.export_id}</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <dl>
      <dt>Status</dt><dd><${Status} job=${job} /></dd>
      <dt>Type</dt><dd>${job.type}</dd><dt>Format</dt><dd>${job.format}</dd><dt>Template</dt><dd>${job.template}</dd>
      <dt>Created</dt><dd>${job.created_at}</dd><dt>Expires</dt><dd>${job.expires_at || "—"}</dd>
      <dt>Legal hold</dt><dd>${job.legal_hold ? "yes" : "no"}</dd>
    </dl>
    ${job.error && html`<h2>Error</h2><p class="error"><code>${job.error.code}</code> ${job.error.message}</p>`}
    ${running && html`<p><button class="danger" onClick=${cancel}>Cancel export</button></p>`}
    <h2>Artifacts</h2>
    ${job.status === "ready" ? html`<p><${Downloads} job=${job} onError=${setError} /></p>
      <ul>${job.artifacts.map((a) => html`<li><code>${a.kind}</code> ${a.media_type}, ${a.size} bytes, sha256 <code>${a.sha256}</code></li>`)}</ul>`
      : html`<p>None yet.</p>`}
    ${manifest && html`<h2>Manifest</h2>
      <dl><dt>Merkle root</dt><dd><code>${manifest.merkle_root}</code></dd>
        <dt>Signing key</dt><dd><code>${manifest.signature?.key_id || manifest.key_id || ""}</code></dd>
        <dt>Sealed</dt><dd>${manifest.created_at}</dd></dl>
      <table><thead><tr><th scope="col">File</th><th scope="col">Size</th><th scope="col">SHA-256</th></tr></thead>
        <tbody>${manifest.files.map((f) => html`<tr><td>${f.path}</td><td>${f.size}</td><td><code>${f.sha256}</code></td></tr>`)}</tbody></table>`}
    ${(job.deliveries || []).length > 0 && html`<h2>Deliveries</h2>
      <table><thead><tr><th scope="col">Destination</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
        <tbody>${job.deliveries.map((d) => html`<tr><td>${d.destination_id}</td><td>${d.type}</td><td>${d.status}</td><td>${d.attempts}</td><td>${d.last_error || ""}</td></tr>`)}</tbody></table>`}`;
}
