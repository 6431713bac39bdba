// demo-client.mjs: the MCP client of `make demo` (regress/demo.sh).
//
// The official MCP TypeScript SDK (pinned in regress/sdk/package.json,
// installed into regress/obj/sdk) connects to brokerd's /mcp as any MCP
// client does: its Streamable HTTP transport gets a 401, and its OAuth code
// discovers the protected resource and the authorization server, registers
// a public client (RFC 7591) and calls redirectToAuthorization(url).  The
// headless provider below hands that URL to the scripted browser
// (regress/browser.py drive), which plays the user: it approves brokerd's
// consent page, logs in to the Forgejo double and stops at the redirect to
// our redirect URI, where it reads the code.  The transport exchanges the
// code (PKCE) for tokens; a fresh client then initializes, lists the tools
// and calls get_my_user_info, which must answer the Forgejo user.
//
// Every HTTP exchange goes through a logging fetch and is printed as one
// line; tokens and codes are shortened.  Any unexpected answer ends the
// run with a line "FAILED: ..." and exit status 1.
//
// usage: node demo-client.mjs --server-url URL --browser PATH
//            --redirect-uri URI [--user LOGIN] [--python PYTHON]
//            [--jar FILE] [--timeout SECONDS]
//
// It runs from the directory where the SDK is installed (demo.sh copies
// it there), so that the bare imports resolve.  Node 18 or later.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from
  '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

function parseArgs(argv) {
  const out = { user: 'alice', python: 'python3', timeout: '45' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    out[key] = argv[i + 1];
  }
  for (const k of ['serverUrl', 'browser', 'redirectUri']) {
    if (!out[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const serverUrl = new URL(args.serverUrl);
const started = Date.now();

// --- output -----------------------------------------------------------------

let stepNo = 0;
function step(what, text) {
  stepNo++;
  process.stdout.write(`[${String(stepNo).padStart(2)}] ${what.padEnd(11)} ${text}\n`);
}

class DemoFailure extends Error {}
function fail(text) { throw new DemoFailure(text); }
function expect(cond, text) { if (!cond) fail(text); }

// A token, code or id, shortened for the screen.
function short(s) {
  if (typeof s !== 'string') return String(s);
  return s.length > 12 ? `${s.slice(0, 8)}…(${s.length} chars)` : s;
}

// A URL without its query, or with the named query parameters (values
// shortened).
function showUrl(u, keep = []) {
  const url = new URL(u);
  const base = `${url.origin}${url.pathname}`;
  const parts = [];
  for (const k of keep) {
    const v = url.searchParams.get(k);
    if (v !== null) parts.push(`${k}=${['code', 'state', 'client_id', 'code_challenge'].includes(k) ? short(v) : v}`);
  }
  if (parts.length) return `${base}?${parts.join('&')}`;
  return url.search ? `${base}?…` : base;
}

const isBroker = (u) => new URL(u).origin === serverUrl.origin;
function where(u) {
  const url = new URL(u);
  return isBroker(u) ? url.pathname : `${url.origin}${url.pathname}`;
}

// --- the logging fetch --------------------------------------------------------

// What the last MCP POST of each JSON-RPC method saw, for the line printed
// once the SDK has the result.
const mcpSeen = new Map();
let bearerSeen = false;

function headerOf(init, name) {
  const h = init?.headers;
  if (!h) return null;
  if (h instanceof Headers) return h.get(name);
  if (Array.isArray(h)) {
    const e = h.find(([k]) => k.toLowerCase() === name);
    return e ? e[1] : null;
  }
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return v;
  return null;
}

async function jsonOf(res) {
  try { return await res.clone().json(); } catch { return null; }
}

async function loggingFetch(input, init) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = (init?.method ?? 'GET').toUpperCase();
  const path = new URL(url).pathname;
  let rpc = null;
  if (typeof init?.body === 'string') {
    try { rpc = JSON.parse(init.body); } catch { /* a form */ }
  }
  const authz = headerOf(init, 'authorization');
  const res = await fetch(input, init);
  const ct = (res.headers.get('content-type') ?? '').split(';')[0];
  const tag = `${method} ${where(url)}`;

  if (path === serverUrl.pathname && isBroker(url)) {
    if (authz && /^bearer /i.test(authz)) bearerSeen = true;
    const what = rpc?.method ?? (method === 'GET' ? 'event stream' : method === 'DELETE' ? 'end of session' : '');
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '(none)';
      step('challenge', `${tag} (${what}, ${authz ? 'with a token' : 'no token'}) -> 401; ` +
        `WWW-Authenticate: ${challenge}`);
    } else if (rpc && rpc.id !== undefined && res.ok) {
      const seen = { tag, status: res.status, ct, authz, tool: rpc.params?.name,
        session: res.headers.get('mcp-session-id') };
      mcpSeen.set(rpc.method, seen);
      // A JSON answer is shown at once; an event stream once the SDK
      // has read it (mcpStep below).
      if (ct === 'application/json') {
        const j = await jsonOf(res);
        if (j && !Array.isArray(j) && j.result) mcpStep(rpc.method, j.result);
      }
    } else if (rpc && rpc.id === undefined) {
      step('notify', `${tag} (${what}) -> ${res.status}`);
    } else if (method === 'GET') {
      step('stream', `${tag} (${what}) -> ${res.status}${ct ? ' ' + ct : ''}`);
    } else if (method === 'DELETE') {
      step('close', `${tag} (${what}) -> ${res.status}; the session is closed`);
    } else {
      step('mcp', `${tag} (${what}) -> ${res.status}${ct ? ' ' + ct : ''}`);
    }
    return res;
  }

  if (path.startsWith('/.well-known/oauth-protected-resource')) {
    const j = res.ok ? await jsonOf(res) : null;
    step('discovery', `${tag} -> ${res.status}` + (j ? `; resource ${j.resource}, ` +
      `authorization_servers ${JSON.stringify(j.authorization_servers)}` : ''));
  } else if (path.startsWith('/.well-known/oauth-authorization-server') ||
             path.startsWith('/.well-known/openid-configuration')) {
    const j = res.ok ? await jsonOf(res) : null;
    step('discovery', `${tag} -> ${res.status}` + (j ? `; issuer ${j.issuer}, ` +
      `PKCE ${JSON.stringify(j.code_challenge_methods_supported)}, ` +
      `registration ${where(j.registration_endpoint ?? '(none)')}` : ''));
  } else if (path === '/register') {
    const j = await jsonOf(res);
    step('register', `${tag} (${rpc?.client_name ?? 'a client'}, redirect ${rpc?.redirect_uris?.[0]}) ` +
      `-> ${res.status}` + (j?.client_id ? `; client_id ${short(j.client_id)}, ` +
      `token_endpoint_auth_method ${j.token_endpoint_auth_method}` : ''));
  } else if (path === '/token') {
    const form = new URLSearchParams(typeof init?.body === 'string' ? init.body :
      init?.body instanceof URLSearchParams ? init.body.toString() : '');
    const j = await jsonOf(res);
    step('token', `${tag} (${form.get('grant_type')}, code ${short(form.get('code'))}, ` +
      `PKCE verifier, resource ${form.get('resource')}) -> ${res.status}` +
      (j?.access_token ? `; ${j.token_type} access token ${short(j.access_token)}, ` +
        `expires in ${j.expires_in} s, refresh token ${j.refresh_token ? short(j.refresh_token) : 'none'}` :
        j ? `; ${JSON.stringify(j)}` : ''));
  } else {
    step('http', `${tag} -> ${res.status}${ct ? ' ' + ct : ''}`);
  }
  return res;
}

// One line for an MCP request and its result, printed once.
function mcpStep(method, result) {
  const seen = mcpSeen.get(method);
  if (!seen || seen.printed) return;
  seen.printed = true;
  const head = `${seen.tag} -> ${seen.status} ${seen.ct}; `;
  if (method === 'initialize') {
    const sv = result.serverInfo ?? {};
    step('initialize', `${seen.tag} (Bearer ${short((seen.authz ?? '').replace(/^bearer /i, ''))}) ` +
      `-> ${seen.status} ${seen.ct}; Mcp-Session-Id ${short(seen.session)}; server ${sv.name} ` +
      `${sv.version}, protocol ${result.protocolVersion}`);
  } else if (method === 'tools/list') {
    const names = (result.tools ?? []).map((t) => t.name);
    step('tools/list', `${head}${names.length} tools: ${names.join(', ')}`);
  } else if (method === 'tools/call') {
    const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
    step('tools/call', `${seen.tag} ${seen.tool} -> ${seen.status} ${seen.ct}; ` +
      `${result.isError ? 'isError, ' : ''}"${text}"`);
  } else {
    step('mcp', `${head}${JSON.stringify(result).slice(0, 100)}`);
  }
}

// --- the user's browser ---------------------------------------------------------

function browse(url) {
  return new Promise((resolve, reject) => {
    const argv = [args.browser, 'drive', '--url', url, '--redirect-uri', args.redirectUri,
      '--user', args.user];
    if (args.jar) argv.push('--jar', args.jar);
    const child = spawn(args.python, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try { resolve(JSON.parse(out)); } catch {
        reject(new DemoFailure(`the scripted browser exited ${code}: ${err.slice(0, 300)}`));
      }
    });
  });
}

function pageTitle(html) {
  const m = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(html ?? '') ?? /<title>([\s\S]*?)<\/title>/i.exec(html ?? '');
  return m ? m[1].replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim() : '';
}

// Print the browser's hops, one line each.
function showFlow(flow) {
  const hops = flow.hops ?? [];
  for (let i = 0; i < hops.length; i++) {
    const [method, url, status] = hops[i];
    const next = hops[i + 1]?.[1];
    const u = new URL(url);
    const label = isBroker(url) ? 'brokerd' : 'Forgejo';
    if (isBroker(url) && u.pathname === '/authorize' && method === 'GET') {
      const cp = flow.consent_page ?? {};
      step('consent', `browser GET ${showUrl(url, ['client_id', 'code_challenge_method', 'resource'])} ` +
        `-> ${status}; consent page "${pageTitle(cp.body)}", buttons ` +
        `${JSON.stringify(cp.consent_values ?? [])}`);
    } else if (isBroker(url) && u.pathname === '/authorize' && method === 'POST') {
      step('consent', `browser POST ${where(url)} (consent=approve, CSRF field ` +
        `${flow.consent_page?.csrf_field ?? 'none'}) -> ${status} to ${showUrl(flow.consent_post?.location ?? next)}`);
    } else if (!isBroker(url) && u.pathname === '/user/login') {
      step('login', `browser GET ${where(url)}?user=${u.searchParams.get('user')} -> ${status}; ` +
        `signed in to Forgejo as ${u.searchParams.get('user')} (session cookie)`);
    } else if (!isBroker(url) && u.pathname.endsWith('/login/oauth/authorize')) {
      step('forgejo', `browser GET ${showUrl(url, ['client_id', 'redirect_uri'])} -> ${status}` +
        (next ? ` to ${showUrl(next)} (the app is approved)` : ''));
    } else if (isBroker(url) && u.pathname === '/callback') {
      const f = flow.final_url;
      step('callback', `browser GET ${showUrl(url, ['code', 'state'])} -> ${status}` +
        (f ? ` to ${showUrl(f, ['code', 'state', 'iss'])}` : ''));
    } else {
      step('browser', `${method} ${label} ${showUrl(url)} -> ${status}`);
    }
  }
}

// --- the OAuth client provider (headless) ------------------------------------------

class HeadlessProvider {
  #client; #tokens; #verifier; #state; #discovery;
  authorizationCode; flow;

  get redirectUrl() { return args.redirectUri; }
  get clientMetadata() {
    return {
      client_name: 'make demo (MCP TypeScript SDK)',
      redirect_uris: [args.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() { return (this.#state = randomBytes(16).toString('hex')); }
  clientInformation() { return this.#client; }
  saveClientInformation(info) { this.#client = info; }
  tokens() { return this.#tokens; }
  saveTokens(t) { this.#tokens = t; }
  saveCodeVerifier(v) { this.#verifier = v; }
  codeVerifier() { return this.#verifier; }
  saveDiscoveryState(s) { this.#discovery = s; }
  discoveryState() { return this.#discovery; }
  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }

  async redirectToAuthorization(authorizationUrl) {
    expect(authorizationUrl.searchParams.get('code_challenge_method') === 'S256',
      `the authorization URL has no S256 PKCE: ${authorizationUrl.href}`);
    const flow = await browse(authorizationUrl.href);
    this.flow = flow;
    showFlow(flow);
    if (!flow.ok) {
      fail(`the browser stopped at ${flow.stage}: ${flow.error} (last: ${flow.last?.status} ` +
        `${flow.last?.url})`);
    }
    const p = flow.params ?? {};
    expect(!p.error, `authorization error: ${p.error} ${p.error_description ?? ''}`);
    expect(p.code, 'no code in the redirect to the client');
    expect(p.state === this.#state, 'the state came back changed');
    expect(p.iss === serverUrl.origin, `iss is ${p.iss}, not ${serverUrl.origin}`);
    this.authorizationCode = p.code;
  }
}

// --- the run -----------------------------------------------------------------------

async function main() {
  let sdkVersion = '?';
  try {
    sdkVersion = JSON.parse(readFileSync(new URL(
      './node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url))).version;
  } catch { /* shown as ? */ }
  console.log(`MCP client: @modelcontextprotocol/sdk ${sdkVersion} (Client + ` +
    `StreamableHTTPClientTransport + a headless OAuthClientProvider), Node ${process.version}`);
  console.log(`server: ${serverUrl.href}`);

  const provider = new HeadlessProvider();
  const opts = { authProvider: provider, fetch: loggingFetch };
  const info = { name: 'brokerd-make-demo', version: '1.0.0' };

  // 1. Unauthenticated: 401, discovery, registration, the browser.
  let client = new Client(info);
  let transport = new StreamableHTTPClientTransport(serverUrl, opts);
  try {
    await client.connect(transport);
    fail('the server accepted initialize without a token');
  } catch (e) {
    if (e instanceof DemoFailure) throw e;
    if (!(e instanceof UnauthorizedError)) fail(`connect without a token: ${e?.message ?? e}`);
  }
  expect(provider.authorizationCode, 'the SDK never sent the browser to the authorization URL');
  const reg = provider.clientInformation() ?? {};
  expect(reg.client_id, 'no client_id was registered');

  // 2. The code exchange.
  await transport.finishAuth(provider.authorizationCode);
  const tokens = provider.tokens() ?? {};
  expect(tokens.access_token && String(tokens.token_type).toLowerCase() === 'bearer',
    'the token endpoint gave no bearer access token');
  try { await transport.close(); } catch { /* nothing open */ }

  // 3. Connected with the token: initialize, tools/list, tools/call.
  client = new Client(info);
  transport = new StreamableHTTPClientTransport(serverUrl, opts);
  await client.connect(transport);
  expect(bearerSeen, 'the SDK did not send the bearer token');
  mcpStep('initialize', { serverInfo: client.getServerVersion(),
    protocolVersion: transport.protocolVersion });
  expect(transport.sessionId, 'brokerd gave no Mcp-Session-Id');

  const listed = await client.listTools();
  mcpStep('tools/list', listed);
  const names = listed.tools.map((t) => t.name);
  expect(names.includes('get_my_user_info'), 'get_my_user_info is not in the tool list');

  const result = await client.callTool({ name: 'get_my_user_info', arguments: {} });
  mcpStep('tools/call', result);
  const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
  expect(!result.isError, `get_my_user_info failed: ${text}`);
  expect(text === args.user, `get_my_user_info answered "${text}", not "${args.user}"`);

  // 4. End the session (DELETE /mcp), as a well-behaved client does.
  await transport.terminateSession();
  await client.close();

  const ms = Date.now() - started;
  console.log(`OK: the SDK client signed in as ${args.user} through brokerd, its consent page ` +
    `and the Forgejo double, and get_my_user_info answered "${text}" (${(ms / 1000).toFixed(2)} s)`);
}

const timer = setTimeout(() => {
  console.log(`FAILED: no result after ${args.timeout} s`);
  process.exit(1);
}, Number(args.timeout) * 1000);
timer.unref();

try {
  await main();
  process.exit(0);
} catch (e) {
  if (e instanceof DemoFailure || !(e instanceof Error)) {
    console.log(`FAILED: ${e?.message ?? e}`);
  } else {
    console.log(`FAILED: ${e.name}: ${e.message}`);
    console.error(e.stack);
  }
  process.exit(1);
}
