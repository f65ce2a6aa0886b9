// Schedules: create one (the cron field previews its next five runs in the chosen time
// zone, from the API's preview route), list, pause or resume, run now, delete.

import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";

import { call, errorText } from "../api.js";

const html = htm.bind(h);

export function SchedulesPage() {
  const [items, setItems] = useState([]);
  const [caps, setCaps] = useState(null);
  const [form, setForm] = useState({ cron: "0 6 * * 1", timezone: "UTC", type: "scan_report", format: "pdf", last: "P7D" });
  const [preview, setPreview] = useState({ next: [], error: "" });
  const [error, setError] = useState("");
  const load = async () => {
    const { status, body } = await call("GET", "/api/v1/schedules");
    if (status === 200) setItems(body.items); else setError(errorText(body));
  };
  useEffect(() => { load(); call("GET", "/api/v1/capabilities").then((r) => r.status === 200 && setCaps(r.body)); }, []);
  useEffect(() => {
    const q = new URLSearchParams({ cron: form.cron, timezone: form.timezone, count: "5" });
    const t = setTimeout(async () => {
      const { status, body } = await call("GET", `/api/v1/schedules/preview?${q}`);
      setPreview(status === 200 ? { next: body.next, error: "" } : { next: [], error: errorText(body) });
    }, 250);
    return () => clearTimeout(t);
  }, [form.cron, form.timezone]);
  const create = async (e) => {
    e.preventDefault();
    const body = { cron: form.cron, timezone: form.timezone,
      request: { type: form.type, format: form.format, scope: { relative: { last: form.last } } } };
    const r = await call("POST", "/api/v1/schedules", { json: body });
    if (r.status === 201) { setError(""); load(); } else setError(errorText(r.body));
  };
  const act = async (method, path, json) => {
    const r = await call(method, path, json ? { json } : {});
    if (r.status >= 300) setError(errorText(r.body)); else { setError(""); load(); }
  };
  const formats = (caps?.combinations || []).filter((c) => c.type === form.type).map((c) => c.format);
  const field = (name, label, extra = {}) => html`<label for=${`s-${name}`}>${label}</label>
    <input id=${`s-${name}`} type="text" value=${form[name]} ...${extra} onInput=${(e) => setForm({ ...form, [name]: e.target.value })} />`;
  return html`<h1>Schedules</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <table><thead><tr><th scope="col">Schedule</th><th scope="col">Cron</th><th scope="col">Time zone</th><th scope="col">Next run</th>
      <th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${items.map((s) => html`<tr><td><code>${s.schedule_id}</code></td><td><code>${s.cron}</code></td><td>${s.timezone}</td><td>${s.next_run_at || ""}</td>
        <td>${s.paused ? "paused" : "active"}</td>
        <td><button class="secondary" onClick=${() => act("PATCH", `/api/v1/schedules/${s.schedule_id}`, { paused: !s.paused })}>${s.paused ? "Resume" : "Pause"}</button>
          ${" "}<button class="secondary" onClick=${() => act("POST", `/api/v1/schedules/${s.schedule_id}/run`)}>Run now</button>
          ${" "}<button class="danger" aria-label=${`Delete schedule ${s.schedule_id}`} onClick=${() => act("DELETE", `/api/v1/schedules/${s.schedule_id}`)}>Delete</button></td></tr>`)}</tbody></table>
    <h2>New schedule</h2>
    <form onSubmit=${create}>
      ${field("cron", "Cron", { "aria-describedby": "cron-preview" })}
      ${field("timezone", "Time zone")}
      <div id="cron-preview" aria-live="polite">
        ${preview.error ? html`<p class="field-error">${preview.error}</p>`
          : html`<p>Next runs:</p><ol>${preview.next.map((t) => html`<li><time datetime=${t}>${t}</time></li>`)}</ol>`}
      </div>
      <label for="s-type">Export type</label>
      <select id="s-type" value=${form.type} onChange=${(e) => setForm({ ...form, type: e.target.value })}>
        ${(caps?.types || []).map((t) => html`<option value=${t}>${t}</option>`)}</select>
      <label for="s-format">Export format</label>
      <select id="s-format" value=${form.format} onChange=${(e) => setForm({ ...form, format: e.target.value })}>
        ${formats.map((f) => html`<option value=${f}>${f}</option>`)}</select>
      ${field("last", "Scans of the last (ISO 8601 duration)")}
      <p><button type="submit">Create schedule</button></p>
    </form>`;
}
