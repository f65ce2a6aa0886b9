// The Console: sign-in, navigation and the hash router (#/exports, #/new, #/scans,
// #/schedules, #/templates, #/exports/{id}); each page is its own module under pages/.

import { h, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";

import {
  finishOidc, loadConfig, oidcConfigured, oidcIssuer, saveSession, session, signOut, startOidc, tenantsOf,
} from "./api.js";
import { ExportPage, ExportsPage } from "./pages/exports.js";
import { NewExportPage } from "./pages/new-export.js";
import { ScanPage, ScansPage } from "./pages/scans.js";
import { SchedulesPage } from "./pages/schedules.js";
import { TemplatesPage } from "./pages/templates.js";

const html = htm.bind(h);

const PAGES = [
  ["#/exports", "Exports"],
  ["#/new", "New export"],
  ["#/scans", "Scans"],
  ["#/schedules", "Schedules"],
  ["#/templates", "Templates"],
];

function useHash() {
  const [hash, setHash] = useState(location.hash || "#/exports");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/exports");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn, problem }) {
  const [token, setToken] = useState("");
  const [tenants, setTenants] = useState([]);
  const [tenant, setTenant] = useState("");
  const [error, setError] = useState("");
  const [oidcError, setOidcError] = useState(problem || "");
  const provider = () => startOidc().catch((e) => setOidcError(e.message));
  const submit = (e) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) { setError("Paste a token first."); return; }
    const names = tenantsOf(t);
    if (names.length > 1 && !tenant) { setTenants(names); setTenant(names[0]); return; }
    saveSession({ token: t, tenant: tenant || names[0] || "" });
    onSignedIn();
  };
  return html`<main>
    <h1>Sign in to ExportCenter</h1>
    ${oidcConfigured() && html`<p><button type="button" onClick=${provider}>Sign in with the identity provider</button>
      <small> (${oidcIssuer()})</small></p>
      ${oidcError && html`<p class="error" role="alert">${oidcError}</p>`}
      <p>Or paste a token:</p>`}
    <form onSubmit=${submit}>
      <label for="token">Token</label>
      <input id="token" type="password" autocomplete="off" value=${token}
        aria-describedby=${error ? "token-error" : undefined}
        onInput=${(e) => setToken(e.target.value)} />
      ${error && html`<span id="token-error" class="field-error">${error}</span>`}
      ${tenants.length > 1 && html`
        <label for="tenant">Tenant</label>
        <select id="tenant" value=${tenant} onChange=${(e) => setTenant(e.target.value)}>
          ${tenants.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>`}
      <p><button type="submit">Sign in</button></p>
    </form>
  </main>`;
}

function Shell({ hash, onSignOut }) {
  const s = session();
  const route = hash.replace(/^#/, "");
  let page;
  const m = route.match(/^\/exports\/([^/]+)$/);
  const scan = route.match(/^\/scans\/([^/]+)$/);
  if (m) page = html`<${ExportPage} id=${decodeURIComponent(m[1])} />`;
  else if (scan) page = html`<${ScanPage} id=${decodeURIComponent(scan[1])} />`;
  else if (route === "/new") page = html`<${NewExportPage} />`;
  else if (route === "/scans") page = html`<${ScansPage} />`;
  else if (route === "/schedules") page = html`<${SchedulesPage} />`;
  else if (route === "/templates") page = html`<${TemplatesPage} />`;
  else page = html`<${ExportsPage} />`;
  const current = PAGES.find(([href]) => hash === href || (href === "#/exports" && m) || (href === "#/scans" && scan));
  useEffect(() => {
    document.title = `${current ? current[1] : "Export"} · ExportCenter`;
  }, [hash]);
  return html`
    <header>
      <span class="brand">ExportCenter</span>
      <nav aria-label="Main">
        <ul>
          ${PAGES.map(([href, label]) => html`<li><a href=${href}
            aria-current=${current && current[0] === href ? "page" : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <div class="who">
        <span>Tenant <strong>${s.tenant || "(from token)"}</strong></span>
        <button class="secondary" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main id="main">${page}</main>`;
}

function App({ problem }) {
  const hash = useHash();
  const [signedIn, setSignedIn] = useState(!!session()?.token);
  if (!signedIn) return html`<${SignIn} problem=${problem} onSignedIn=${() => setSignedIn(true)} />`;
  return html`<${Shell} hash=${hash} onSignOut=${() => { signOut(); setSignedIn(false); }} />`;
}

await loadConfig();
const problem = await finishOidc().catch((e) => e.message);
render(html`<${App} problem=${problem || ""} />`, document.getElementById("app"));
