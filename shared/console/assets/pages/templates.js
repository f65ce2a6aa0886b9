// Templates: the built-in ones and the tenant's own; one format of the tenant's template
// uploaded at a time, a syntax error shown at its line and column.

import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";

import { call, errorText, session } from "../api.js";

const html = htm.bind(h);

export function TemplatesPage() {
  const [items, setItems] = useState([]);
  const [format, setFormat] = useState("pdf");
  const [source, setSource] = useState("");
  const [result, setResult] = useState({ ok: "", error: "", at: null });
  const load = async () => {
    const { status, body } = await call("GET", "/api/v1/templates");
    if (status === 200) setItems(body.items);
  };
  useEffect(() => { load(); }, []);
  const tenant = session()?.tenant;
  const upload = async (e) => {
    e.preventDefault();
    const name = `custom-${tenant}`;
    const r = await call("PUT", `/api/v1/templates/${name}/${format}`, { body: source, contentType: "text/plain; charset=utf-8" });
    if (r.status === 200) { setResult({ ok: `Stored ${format} of ${name}.`, error: "", at: null }); load(); return; }
    const d = r.body?.details?.[0];
    setResult({ ok: "", error: errorText(r.body), at: d && d.line ? `line ${d.line}, column ${d.column}` : null });
  };
  return html`<h1>Templates</h1>
    <table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Formats</th><th scope="col">Description</th></tr></thead>
      <tbody>${items.map((t) => html`<tr><td><code>${t.name}</code></td><td>${t.kind}</td><td>${t.formats.join(", ")}</td><td>${t.description}</td></tr>`)}</tbody></table>
    <h2>Upload the tenant's template, one format at a time</h2>
    ${tenant ? html`<form onSubmit=${upload}>
      <label for="t-format">Template format</label>
      <select id="t-format" value=${format} onChange=${(e) => setFormat(e.target.value)}>
        <option value="pdf">pdf (typst)</option><option value="csv">csv (tera)</option><option value="json">json (tera)</option></select>
      <label for="t-source">Template source</label>
      <textarea id="t-source" value=${source} aria-describedby="t-result" onInput=${(e) => setSource(e.target.value)}></textarea>
      <div id="t-result" aria-live="polite">
        ${result.ok && html`<p class="notice">${result.ok}</p>`}
        ${result.error && html`<p class="field-error">${result.at ? html`<strong>At ${result.at}:</strong> ` : ""}${result.error}</p>`}
      </div>
      <p><button type="submit">Upload template format</button></p>
    </form>` : html`<p>Sign in with a single tenant to upload its template.</p>`}`;
}
