// relay-client.mjs: the official MCP TypeScript SDK client (pinned in
// package.json) through brokerd's MCP relay, with OAuth done by the SDK
// itself (regress/integration/relay_sdk.sh).
//
// 1. Streamable HTTP (/mcp): Client + StreamableHTTPClientTransport with a
//    headless OAuthClientProvider.  The first connect gets 401, the SDK
//    discovers, registers and sends the "browser" (regress/browser.py
//    drive, through brokerd's consent page and the Forgejo double's login
//    to our redirect URI), throws UnauthorizedError; finishAuth(code)
//    exchanges the code, and a new Client and transport connect with the
//    token.  tools/list, tools/call get_my_user_info (the user's login).
//    Then the session is deleted, once by transport.terminateSession()
//    and once by a raw DELETE: the next request on it gets 404 (seen by
//    a raw POST, and by the SDK client itself), and a new Client and
//    transport (same provider, same tokens) initialize again and work.
// 2. HTTP+SSE of 2024-11-05 (/sse): Client + SSEClientTransport with a
//    provider of its own (the token's resource is /sse), the same OAuth
//    dance, then tools/list and tools/call.
//
// usage: node relay-client.mjs --mcp-url URL --sse-url URL --browser PATH
//            --redirect-uri URI [--user LOGIN] [--python PYTHON]
//            [--secrets-out FILE]
//
// Prints one JSON document: {"checks": [{"name", "ok", "detail"}...]}.
// Tokens and codes seen are appended to --secrets-out as "KIND<TAB>VALUE"
// lines.  The script runs from the directory where the SDK is installed
// (the shell copies it there), so that the bare imports resolve.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

function parseArgs(argv) {
  const out = { user: 'alice', python: 'python3' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    out[key] = argv[i + 1];
  }
  for (const k of ['mcpUrl', 'sseUrl', 'browser', 'redirectUri']) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const mcpUrl = new URL(args.mcpUrl);
const sseUrl = new URL(args.sseUrl);
const checks = [];
let printed = false;

function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail: ok ? '' : String(detail) });
  return !!ok;
}

function report() {
  if (printed) return;
  printed = true;
  process.stdout.write(JSON.stringify({ checks }) + '\n');
}

// Whatever happens, say what was checked, within the shell's bound.
setTimeout(() => {
  check('the SDK run ends within 75 s', false, 'watchdog fired');
  report();
  process.exit(1);
}, 75000).unref();

function remember(kind, value) {
  if (args.secretsOut && value) appendFileSync(args.secretsOut, `${kind}\t${value}\n`);
}

function errText(e) {
  return `${e?.constructor?.name ?? typeof e}: ${e?.message ?? e}`;
}

// The scripted browser, from the authorization URL to our redirect URI.
function browse(url) {
  return new Promise((resolve, reject) => {
    const child = spawn(args.python, [args.browser, 'drive', '--url', url,
      '--redirect-uri', args.redirectUri, '--user', args.user],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try { resolve(JSON.parse(out)); }
      catch { reject(new Error(`browser.py exited ${code}: ${err.slice(0, 300)}`)); }
    });
  });
}

// The headless provider of shared/reference/conformance.md 2.2, with the
// scripted browser in redirectToAuthorization (as regress/sdk/oauth-client.mjs).
class HeadlessProvider {
  #client; #tokens; #verifier; #state; #discovery;
  authorizationCode; authorizationUrl; browserRuns = 0; flow;

  constructor(label) { this.label = label; }
  get redirectUrl() { return args.redirectUri; }
  get clientMetadata() {
    return {
      client_name: `regress relay SDK client (${this.label})`,
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
  saveTokens(t) {
    this.#tokens = t;
    remember('access-token', t?.access_token);
    remember('refresh-token', t?.refresh_token);
  }
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
    this.browserRuns++;
    this.authorizationUrl = authorizationUrl;
    const flow = await browse(authorizationUrl.href);
    this.flow = flow;
    remember('code', flow.params?.code);
    if (!flow.ok) {
      throw new Error(`the browser stopped at ${flow.stage}: ${flow.error} ` +
        `(last status ${flow.last?.status})`);
    }
    if (flow.params.error) throw new Error(`authorization error: ${flow.params.error}`);
    if (flow.params.state !== this.#state) throw new Error('state mismatch');
    this.authorizationCode = flow.params.code;
  }
}

// A raw request on /mcp with the provider's token, outside the SDK.
async function raw(method, sessionId, token, body) {
  const headers = {
    authorization: `Bearer ${token}`,
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-06-18',
  };
  if (sessionId) headers['mcp-session-id'] = sessionId;
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(mcpUrl, {
    method, headers, body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text().catch(() => '');
  return { status: res.status, text };
}

function toolText(result) {
  return result?.content?.[0]?.text;
}

// connectWithOAuth(label, makeTransport, provider): connect, expect the
// OAuth dance, finish it, connect again.  Returns {client, transport}.
async function connectWithOAuth(label, makeTransport, provider, resource) {
  let client = new Client({ name: `regress-relay-${label}`, version: '0' });
  let transport = makeTransport();
  let first;
  try {
    await client.connect(transport);
    first = 'connected without a token';
  } catch (e) {
    first = e;
  }
  check(`${label}: the first connect is sent through OAuth (UnauthorizedError after the browser)`,
    first instanceof UnauthorizedError && provider.browserRuns === 1 && !!provider.authorizationCode,
    `got ${errText(first)}, browser runs ${provider.browserRuns}, code ` +
    `${provider.authorizationCode ? 'present' : 'absent'}; ${provider.flow?.error ?? ''}`);
  check(`${label}: the authorization request names resource ${resource} with S256 PKCE`,
    provider.authorizationUrl?.searchParams.get('resource') === resource &&
    provider.authorizationUrl?.searchParams.get('code_challenge_method') === 'S256',
    `resource ${provider.authorizationUrl?.searchParams.get('resource')}`);
  if (!provider.authorizationCode) throw null;
  try {
    await transport.finishAuth(provider.authorizationCode);
  } catch (e) {
    check(`${label}: finishAuth(code) gets the tokens`, false, errText(e));
    throw null;
  }
  check(`${label}: finishAuth(code) gets a bearer access token`,
    !!provider.tokens()?.access_token &&
    String(provider.tokens()?.token_type).toLowerCase() === 'bearer',
    `tokens: ${JSON.stringify(Object.keys(provider.tokens() ?? {}))}`);
  await transport.close().catch(() => {});
  client = new Client({ name: `regress-relay-${label}`, version: '0' });
  transport = makeTransport();
  try {
    await client.connect(transport);
  } catch (e) {
    check(`${label}: a new Client and transport connect with the token`, false, errText(e));
    throw null;
  }
  check(`${label}: a new Client and transport connect with the token`, true);
  return { client, transport };
}

async function toolsWork(label, client, extra = '') {
  try {
    const list = await client.listTools();
    const names = (list.tools ?? []).map((t) => t.name);
    check(`${label}: tools/list${extra} lists get_my_user_info and echo`,
      names.includes('get_my_user_info') && names.includes('echo'),
      `tools: ${names.join(', ')}`);
  } catch (e) {
    check(`${label}: tools/list${extra}`, false, errText(e));
  }
  try {
    const r = await client.callTool({ name: 'get_my_user_info', arguments: {} });
    check(`${label}: tools/call get_my_user_info${extra} answers ${args.user}`,
      toolText(r) === args.user && !r.isError, `got ${JSON.stringify(r).slice(0, 300)}`);
  } catch (e) {
    check(`${label}: tools/call get_my_user_info${extra}`, false, errText(e));
  }
}

// --- 1. Streamable HTTP ------------------------------------------------------

const hp = new HeadlessProvider('streamable http');
const mkHttp = () => new StreamableHTTPClientTransport(mcpUrl, { authProvider: hp });
try {
  let { client, transport } = await connectWithOAuth('streamable http', mkHttp, hp, mcpUrl.href);
  const token = hp.tokens().access_token;
  const sid1 = transport.sessionId;
  check('streamable http: the session has an Mcp-Session-Id', !!sid1, `sessionId ${sid1}`);
  await toolsWork('streamable http', client);

  // terminateSession(): DELETE, then the old id is unknown.
  let terminated;
  try {
    await transport.terminateSession();
    terminated = true;
  } catch (e) {
    terminated = e;
  }
  check('streamable http: transport.terminateSession() succeeds (DELETE 2xx)',
    terminated === true, errText(terminated));
  const after1 = await raw('POST', sid1, token,
    { jsonrpc: '2.0', id: 'after', method: 'tools/list' });
  check('streamable http: a request on the terminated session gets 404', after1.status === 404,
    `status ${after1.status}: ${after1.text.slice(0, 200)}`);
  await client.close().catch(() => {});

  // A new Client and transport: a new session, which works.
  client = new Client({ name: 'regress-relay-again', version: '0' });
  transport = mkHttp();
  try {
    await client.connect(transport);
    check('streamable http: after the session was deleted, a new initialize (new Client and transport) works',
      !!transport.sessionId && transport.sessionId !== sid1, `sessionId ${transport.sessionId}`);
    await toolsWork('streamable http', client, ' on the new session');
  } catch (e) {
    check('streamable http: after the session was deleted, a new initialize (new Client and transport) works',
      false, errText(e));
  }

  // A raw DELETE under the SDK's feet: the SDK's next request gets 404.
  const sid2 = transport.sessionId;
  const del = await raw('DELETE', sid2, token);
  check('streamable http: a raw DELETE of the SDK\'s session: 2xx', del.status >= 200 && del.status < 300,
    `status ${del.status}: ${del.text.slice(0, 200)}`);
  let r404;
  try {
    await client.listTools();
    r404 = 'it succeeded';
  } catch (e) {
    r404 = e;
  }
  check('streamable http: the SDK client\'s next request on the deleted session gets 404',
    r404?.code === 404, `got ${errText(r404)} (code ${r404?.code})`);
  await client.close().catch(() => {});

  client = new Client({ name: 'regress-relay-resume', version: '0' });
  transport = mkHttp();
  try {
    await client.connect(transport);
    check('streamable http: resume after the session is deleted: a new Client and transport initialize',
      !!transport.sessionId && transport.sessionId !== sid2, `sessionId ${transport.sessionId}`);
    const r = await client.callTool({ name: 'echo', arguments: { message: 'resumed' } });
    check('streamable http: resumed: tools/call echo answers', toolText(r) === 'resumed',
      `got ${JSON.stringify(r).slice(0, 300)}`);
    await transport.terminateSession().catch(() => {});
  } catch (e) {
    check('streamable http: resume after the session is deleted: a new Client and transport initialize',
      false, errText(e));
  }
  check('streamable http: the browser ran once for all of it', hp.browserRuns === 1,
    `browser runs ${hp.browserRuns}`);
  await client.close().catch(() => {});
} catch (e) {
  if (e !== null) check('streamable http: the SDK run ends without an exception', false, e?.stack ?? e);
}

// --- 2. HTTP+SSE (2024-11-05) -------------------------------------------------

const sp = new HeadlessProvider('sse');
const mkSse = () => new SSEClientTransport(sseUrl, { authProvider: sp });
try {
  const { client } = await connectWithOAuth('sse', mkSse, sp, sseUrl.href);
  await toolsWork('sse', client);
  try {
    const r = await client.callTool({ name: 'echo', arguments: { message: 'over sse' } });
    check('sse: tools/call echo answers', toolText(r) === 'over sse',
      `got ${JSON.stringify(r).slice(0, 300)}`);
  } catch (e) {
    check('sse: tools/call echo answers', false, errText(e));
  }
  await client.close().catch(() => {});
} catch (e) {
  if (e !== null) check('sse: the SDK run ends without an exception', false, e?.stack ?? e);
}

report();
process.exit(0);
