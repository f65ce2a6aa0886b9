// Scans: upload one or several scanner documents (file input or drag and drop), each
// answered by its receipt or the API's error; the tenant's scans listed, opened, deleted.

import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";

import { call, errorText } from "../api.js";

const html = htm.bind(h);

export function ScansPage() {
  const [scans, setScans] = useState([]);
  const [next, setNext] = useState(null);
  const [receipts, setReceipts] = useState([]);
  const [over, setOver] = useState(false);
  const [error, setError] = useState("");
  const load = async (cursor) => {
    const q = new URLSearchParams({ limit: "50" });
    if (cursor) q.set("cursor", cursor);
    const { status, body } = await call("GET", `/api/v1/scans?${q}`);
    if (status !== 200) { setError(errorText(body)); return; }
    setScans((prev) => (cursor ? [...prev, ...body.items] : body.items));
    setNext(body.next_cursor);
  };
  useEffect(() => { load(null); }, []);
  const upload = async (files) => {
    const done = [];
    for (const file of files) {
      const { status, body } = await call("POST", "/api/v1/scans", {
        body: await file.arrayBuffer(), contentType: "application/json",
        extra: { "content-disposition": `attachment; filename="${file.name.replace(/["\\]/g, "_")}"` },
      });
      done.push({ name: file.name, ok: status === 201, body });
    }
    setReceipts((prev) => [...done, ...prev]);
    load(null);
  };
  const remove = async (id) => {
    const { status, body } = await call("DELETE", `/api/v1/scans/${encodeURIComponent(id)}`);
    if (status !== 204) setError(errorText(body)); else load(null);
  };
  return html`<h1>Scans</h1>
    <div class=${`dropzone${over ? " over" : ""}`}
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }} onDragLeave=${() => setOver(false)}
      onDrop=${(e) => { e.preventDefault(); setOver(false); upload([...e.dataTransfer.files]); }}>
      <label for="upload">Upload scans</label>
      <input id="upload" type="file" multiple accept=".json,application/json"
        onChange=${(e) => { upload([...e.target.files]); e.target.value = ""; }} />
      <p>Or drop Trivy, Grype, CycloneDX, SPDX, OpenVEX or CSAF documents here.</p>
    </div>
    ${receipts.length > 0 && html`<h2>Uploaded</h2><ul aria-live="polite">
      ${receipts.map((r) => r.ok
        ? html`<li class="notice">${r.name}: <code>${r.body.scan_id}</code>, ${r.body.source_format}, ${r.body.findings} findings, ${r.body.components} components</li>`
        : html`<li class="error">${r.name}: ${errorText(r.body)}</li>`)}</ul>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <h2>The tenant's scans</h2>
    <table><thead><tr><th scope="col">Scan</th><th scope="col">Artifact</th><th scope="col">Format</th><th scope="col">Findings</th>
      <th scope="col">Components</th><th scope="col">Scanned</th><th scope="col">Ingested</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${scans.map((s) => html`<tr><td><a href=${`#/scans/${s.scan_id}`}><code>${s.scan_id}</code></a></td><td>${s.artifact}</td><td>${s.source_format}</td>
        <td>${s.findings}</td><td>${s.components}</td><td>${s.scanned_at}</td><td>${s.ingested_at || ""}</td>
        <td><button class="danger" aria-label=${`Delete ${s.scan_id}`} onClick=${() => remove(s.scan_id)}>Delete</button></td></tr>`)}</tbody></table>
    ${next && html`<p><button class="secondary" onClick=${() => load(next)}>More scans</button></p>`}`;
}

/** One scan, as `GET /api/v1/scans/{id}` answers it. */
export function ScanPage({ id }) {
  const [scan, setScan] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    call("GET", `/api/v1/scans/${encodeURIComponent(id)}`).then(({ status, body }) =>
      (status === 200 ? setScan(body) : setError(errorText(body))));
  }, [id]);
  const remove = async () => {
    const { status, body } = await call("DELETE", `/api/v1/scans/${encodeURIComponent(id)}`);
    if (status === 204) location.hash = "#/scans"; else setError(errorText(body));
  };
  return html`<h1>Scan ${id}</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${scan && html`<dl>
      <dt>Artifact</dt><dd>${scan.artifact}</dd><dt>Digest</dt><dd><code>${scan.artifact_digest || "—"}</code></dd>
      <dt>Format</dt><dd>${scan.source_format}</dd><dt>Findings</dt><dd>${scan.findings}</dd>
      <dt>Components</dt><dd>${scan.components}</dd><dt>Scanned</dt><dd>${scan.scanned_at}</dd>
      <dt>Ingested</dt><dd>${scan.ingested_at || "—"}</dd></dl>
      <p><a href="#/new">Export it</a> · <button class="danger" onClick=${remove}>Delete scan</button></p>`}`;
}
