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
    include_sbom: false, include_evidence: true, min_severity: "", fixable_only: false, include_suppressed: false,
    packages: "", artifacts: "" });
  const [chosen, setChosen] = useState([]);
  const [baseline, setBaseline] = useState([]);
  const [destinations, setDestinations] = useState([]);
  const [sendTo, setSendTo] = useState([]);
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
    call("GET", "/api/v1/destinations").then(({ status, body }) => status === 200 && setDestinations(body.items || []));
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
  const flip = (list, set, id) => set(list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);
  const toggle = (id) => flip(chosen, setChosen, id);
  const patterns = (text) => text.split(",").map((p) => p.trim()).filter(Boolean);
  /** Only what the person set: the API's defaults stay the API's. */
  const options = () => {
    const o = { template: form.template, include_sbom: form.include_sbom, include_evidence: form.include_evidence };
    const filters = {};
    if (form.min_severity) filters.min_severity = form.min_severity;
    if (form.fixable_only) filters.fixable_only = true;
    if (form.include_suppressed) filters.include_suppressed = true;
    if (patterns(form.packages).length) filters.packages = patterns(form.packages);
    if (patterns(form.artifacts).length) filters.artifacts = patterns(form.artifacts);
    if (Object.keys(filters).length) o.filters = filters;
    if (baseline.length) o.baseline = { scan_ids: baseline };
    if (sendTo.length) o.destinations = sendTo;
    return o;
  };
  const submit = async (e) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true); setErrors([]); setMessage("");
    const scope = form.scope === "scans"
      ? { scan_ids: chosen }
      : { date_range: { from: form.from && new Date(form.from).toISOString(), to: form.to && new Date(form.to).toISOString() } };
    const request = { type: form.type, format: form.format, scope, options: options() };
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
      <fieldset aria-describedby=${described("options.filters")}>
        <legend>Filters</legend>
        <label for="min-severity">Minimum severity</label>
        <select id="min-severity" value=${form.min_severity} onChange=${(e) => set({ min_severity: e.target.value })}>
          <option value="">any</option>${(caps.severities || []).map((v) => html`<option value=${v}>${v}</option>`)}</select>
        <label class="inline"><input type="checkbox" checked=${form.fixable_only} onChange=${(e) => set({ fixable_only: e.target.checked })} /> Fixable only</label>
        <label class="inline"><input type="checkbox" checked=${form.include_suppressed} onChange=${(e) => set({ include_suppressed: e.target.checked })} /> Include suppressed</label>
        <label for="packages">Packages (patterns, comma-separated)</label>
        <input id="packages" type="text" value=${form.packages} onInput=${(e) => set({ packages: e.target.value })} />
        <label for="artifacts">Artifacts (patterns, comma-separated)</label>
        <input id="artifacts" type="text" value=${form.artifacts} onInput=${(e) => set({ artifacts: e.target.value })} />
        <${FieldError} errors=${errors} field="options.filters" id="options.filters-error" />
      </fieldset>
      <fieldset aria-describedby=${described("options.baseline")}>
        <legend>Compare with (baseline scans)</legend>
        ${scans.length === 0 ? html`<p>No scans to compare with.</p>` : scans.map((s) => html`<label class="inline">
          <input type="checkbox" checked=${baseline.includes(s.scan_id)} onChange=${() => flip(baseline, setBaseline, s.scan_id)} />
          Baseline ${s.scan_id}</label>`)}
        <${FieldError} errors=${errors} field="options.baseline" id="options.baseline-error" />
      </fieldset>
      ${destinations.length > 0 && html`<fieldset aria-describedby=${described("options.destinations")}>
        <legend>Deliver to</legend>
        ${destinations.map((d) => html`<label class="inline"><input type="checkbox" checked=${sendTo.includes(d.destination_id)}
          onChange=${() => flip(sendTo, setSendTo, d.destination_id)} />${d.name} (${d.type})</label>`)}
        <${FieldError} errors=${errors} field="options.destinations" id="options.destinations-error" />
      </fieldset>`}
      ${message && html`<p class="error" role="alert">${message}</p>`}
      <p><button type="submit" disabled=${busy}>Request export</button></p>
    </form>`;
}
