// The new-export form: only the combinations `GET /api/v1/capabilities` offers, scans
// chosen from the tenant's list (searchable) or a date range, the options, the API's 422
// details beside the fields they name, and one Idempotency-Key per form so that a double
// click makes one export.

import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";

import { call, errorText, newKey } from "../api.js";

const html = htm.bind(h);

/** The error of `field` (and of its sub-fields, e.g. `scope.scan_ids[0]`), if any. */
function FieldError({ errors, field, id }) {
  const mine = errors.filter((d) => d.field === field || d.field.startsWith(`${field}.`) || d.field.startsWith(`${field}[`));
  if (!mine.length) return null;
  return html`<span id=${id} class="field-error">${mine.map((d) => d.reason).join("; ")}</span>`;
}

export function NewExportPage() {
  const [caps, setCaps] = useState(null);
  const [scans, setScans] = useState([]);
  const [search, setSearch] = useState("");
  const [form, setForm] = useState({ type: "", format: "", template: "", scope: "scans", from: "", to: "",
    include_sbom: false, include_evidence: true });
  const [chosen, setChosen] = useState([]);
  const [key, setKey] = useState(newKey());
  const [errors, setErrors] = useState([]);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    call("GET", "/api/v1/capabilities").then(({ status, body }) => {
      if (status !== 200) { setMessage(errorText(body)); return; }
      setCaps(body);
      const first = body.combinations[0];
      if (first) setForm((f) => ({ ...f, type: first.type, format: first.format, template: first.default_template }));
    });
    call("GET", "/api/v1/scans?limit=200").then(({ status, body }) => status === 200 && setScans(body.items));
  }, []);
  if (!caps) return html`<h1>New export</h1><p>${message || "Loading…"}</p>`;
  const combos = caps.combinations;
  const types = [...new Set(combos.map((c) => c.type))];
  const formats = combos.filter((c) => c.type === form.type).map((c) => c.format);
  const combo = combos.find((c) => c.type === form.type && c.format === form.format);
  const templates = combo ? combo.templates : [];
  const set = (patch) => {
    const next = { ...form, ...patch };
    const valid = combos.filter((c) => c.type === next.type);
    if (!valid.some((c) => c.format === next.format)) next.format = valid[0]?.format || "";
    const c = combos.find((x) => x.type === next.type && x.format === next.format);
    if (c && !c.templates.includes(next.template)) next.template = c.default_template;
    setForm(next);
  };
  const toggle = (id) => setChosen(chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id]);
  const submit = async (e) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true); setErrors([]); setMessage("");
    const scope = form.scope === "scans"
      ? { scan_ids: chosen }
      : { date_range: { from: form.from && new Date(form.from).toISOString(), to: form.to && new Date(form.to).toISOString() } };
    const request = { type: form.type, format: form.format, scope,
      options: { template: form.template, include_sbom: form.include_sbom, include_evidence: form.include_evidence } };
    const { status, body } = await call("POST", "/api/v1/exports", { json: request, extra: { "idempotency-key": key } });
    setBusy(false);
    if (status === 202) {
      setKey(newKey());
      location.hash = `#/exports/${body.export_id}`;
      return;
    }
    setErrors(body?.details || []);
    setMessage(errorText(body));
  };
  const described = (field) => (errors.some((d) => d.field === field || d.field.startsWith(`${field}.`) || d.field.startsWith(`${field}[`)) ? `${field}-error` : undefined);
  const visible = scans.filter((s) => !search || `${s.scan_id} ${s.artifact}`.toLowerCase().includes(search.toLowerCase()));
  return html`<h1>New export</h1>
    <form onSubmit=${submit} novalidate>
      <label for="type">Type</label>
      <select id="type" value=${form.type} aria-describedby=${described("type")} onChange=${(e) => set({ type: e.target.value })}>
        ${types.map((t) => html`<option value=${t}>${t}</option>`)}</select>
      <${FieldError} errors=${errors} field="type" id="type-error" />
      <label for="format">Format</label>
      <select id="format" value=${form.format} aria-describedby=${described("format")} onChange=${(e) => set({ format: e.target.value })}>
        ${formats.map((f) => html`<option value=${f}>${f}</option>`)}</select>
      <${FieldError} errors=${errors} field="format" id="format-error" />
      <label for="template">Template</label>
      <select id="template" value=${form.template} aria-describedby=${described("options.template")} onChange=${(e) => set({ template: e.target.value })}>
        ${templates.map((t) => html`<option value=${t}>${t}</option>`)}</select>
      <${FieldError} errors=${errors} field="options.template" id="options.template-error" />
      <fieldset>
        <legend>Scope</legend>
        <label class="inline"><input type="radio" name="scope" value="scans" checked=${form.scope === "scans"} onChange=${() => set({ scope: "scans" })} /> Chosen scans</label>
        <label class="inline"><input type="radio" name="scope" value="range" checked=${form.scope === "range"} onChange=${() => set({ scope: "range" })} /> Scans in a date range</label>
        ${form.scope === "scans" ? html`
          <label for="scan-search">Search scans</label>
          <input id="scan-search" type="text" value=${search} onInput=${(e) => setSearch(e.target.value)} />
          <div class="scans" role="group" aria-label="Scans" aria-describedby=${described("scope")}>
            ${visible.length === 0 && html`<p>No scans. <a href="#/scans">Upload some.</a></p>`}
            ${visible.map((s) => html`<label class="inline"><input type="checkbox" checked=${chosen.includes(s.scan_id)}
              onChange=${() => toggle(s.scan_id)} />${s.scan_id}</label><small> ${s.artifact} · ${s.findings} findings</small><br />`)}
          </div>` : html`
          <label for="from">From</label><input id="from" type="datetime-local" value=${form.from} onInput=${(e) => set({ from: e.target.value })} />
          <label for="to">To</label><input id="to" type="datetime-local" value=${form.to} onInput=${(e) => set({ to: e.target.value })} />`}
        <${FieldError} errors=${errors} field="scope" id="scope-error" />
      </fieldset>
      <fieldset>
        <legend>Options</legend>
        <label class="inline"><input type="checkbox" checked=${form.include_sbom} onChange=${(e) => set({ include_sbom: e.target.checked })} /> Include SBOM</label>
        <label class="inline"><input type="checkbox" checked=${form.include_evidence} onChange=${(e) => set({ include_evidence: e.target.checked })} /> Include evidence</label>
      </fieldset>
      ${message && html`<p class="error" role="alert">${message}</p>`}
      <p><button type="submit" disabled=${busy}>Request export</button></p>
    </form>`;
}
