// The Console's only way to the service: the public HTTP API and its WebSocket, with the
// session's token (kept in sessionStorage only) and tenant. Nothing here knows a rule the
// API serves; errors come back as the API's own body.

const KEY = "exportcenter.session";
let config = { api_url: "", ws_url: "" };

/** Reads `config.json` next to the Console (the API's and WebSocket's base URLs). */
export async function loadConfig() {
  try {
    const r = await fetch("/config.json", { cache: "no-store" });
    if (r.ok) config = { ...config, ...(await r.json()) };
  } catch (_) { /* same-origin defaults */ }
  return config;
}

export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch (_) { return null; }
}

export function saveSession(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); }

export function signOut() { sessionStorage.clear(); }

/** The tenants a JWT names (the `tenant` claim or the `tenants` array), unverified: the
 * API verifies; this only fills the tenant choice. */
export function tenantsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
    if (Array.isArray(claims.tenants)) return claims.tenants.map(String);
    if (typeof claims.tenant === "string") return [claims.tenant];
  } catch (_) { /* not a JWT: let the API say so */ }
  return [];
}

function headers(extra) {
  const s = session() || {};
  const h = { ...extra };
  if (s.token) h.authorization = `Bearer ${s.token}`;
  if (s.tenant) h["x-tenant-id"] = s.tenant;
  return h;
}

/** One API call: `{ status, body }` (the body parsed when JSON, `null` when empty). */
export async function call(method, path, { json, body, contentType, extra } = {}) {
  const h = headers(extra);
  let payload = body;
  if (json !== undefined) { h["content-type"] = "application/json"; payload = JSON.stringify(json); }
  else if (contentType) h["content-type"] = contentType;
  const r = await fetch(config.api_url + path, { method, headers: h, body: payload });
  const text = await r.text();
  let parsed = null;
  if (text) { try { parsed = JSON.parse(text); } catch (_) { parsed = { message: text }; } }
  return { status: r.status, body: parsed, headers: r.headers };
}

/** Downloads an artifact through a presigned link (`redirect=false`), as a file. */
export async function download(exportId, artifact) {
  const { status, body } = await call("GET",
    `/api/v1/exports/${encodeURIComponent(exportId)}/download?artifact=${artifact}&redirect=false`);
  if (status !== 200) throw new Error(body?.message || `download answered ${status}`);
  const a = document.createElement("a");
  a.href = body.url;
  a.download = "";
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Listens to the tenant's export events; `onEvent(event)` for each. Reconnects. */
export function listen(onEvent) {
  const s = session();
  if (!s?.token) return () => {};
  let ws, closed = false, wait = 1000;
  const base = config.ws_url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const open = () => {
    const q = new URLSearchParams({ token: s.token, tenant: s.tenant || "" });
    ws = new WebSocket(`${base}?${q}`);
    ws.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (_) { /* not ours */ } };
    ws.onopen = () => { wait = 1000; };
    ws.onclose = () => { if (!closed) { setTimeout(open, wait); wait = Math.min(wait * 2, 30000); } };
  };
  open();
  return () => { closed = true; ws?.close(); };
}

/** The API's error as text, with its field details. */
export function errorText(body) {
  if (!body) return "no answer";
  const details = (body.details || []).map((d) => `${d.field}: ${d.reason}`).join("; ");
  return details ? `${body.message} (${details})` : body.message || JSON.stringify(body);
}

/** A new idempotency key (one per form, so a double click makes one export). */
export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// Sign-in through the identity provider `config.json` names: authorization code with PKCE
// (S256), the verifier and state kept in sessionStorage for the round trip only.
const PKCE = "exportcenter.pkce";

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function oidcConfigured() {
  return !!config.oidc?.issuer;
}

export function oidcIssuer() {
  return config.oidc?.issuer || "";
}

async function discovery() {
  const r = await fetch(`${config.oidc.issuer}/.well-known/openid-configuration`);
  if (!r.ok) throw new Error(`the identity provider's discovery answered ${r.status}`);
  return r.json();
}

/** Leaves for the provider's authorization endpoint. */
export async function startOidc() {
  const meta = await discovery();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const redirect = `${location.origin}${location.pathname}`;
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, redirect, token_endpoint: meta.token_endpoint }));
  const q = new URLSearchParams({ response_type: "code", client_id: config.oidc.client_id, redirect_uri: redirect,
    scope: config.oidc.scope || "openid", state, code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(`${meta.authorization_endpoint}?${q}`);
}

/** On the way back from the provider: trades the code for a token and signs in. `null`
 * when this is no such return, else an error text or `""` on success. */
export async function finishOidc() {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  if (q.has("error")) return `the identity provider refused: ${q.get("error")}`;
  if (!pending || pending.state !== q.get("state")) return "the sign-in answer does not match this browser's request";
  const body = new URLSearchParams({ grant_type: "authorization_code", code: q.get("code"),
    redirect_uri: pending.redirect, client_id: config.oidc.client_id, code_verifier: pending.verifier });
  const r = await fetch(pending.token_endpoint, { method: "POST", body,
    headers: { "content-type": "application/x-www-form-urlencoded" } });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok || !answer.access_token) return `the identity provider gave no token (${answer.error || r.status})`;
  saveSession({ token: answer.access_token, tenant: tenantsOf(answer.access_token)[0] || "" });
  return "";
}
