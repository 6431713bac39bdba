// oauth-client.mjs: the official MCP TypeScript SDK client's OAuth, driven
// headlessly against brokerd (regress/integration/oauth_sdk.sh).
//
// The SDK's auth() discovers the protected resource and the authorization
// server, registers a client (RFC 7591) with the given
// token_endpoint_auth_method, and calls redirectToAuthorization(url).  The
// headless provider below hands that URL to the scripted browser
// (regress/browser.py drive), which goes through brokerd's consent page and
// the Forgejo double's login and stops at the redirect to our redirect URI,
// where it reads the code.  auth() is then called again with the code, and
// once more without it, which makes the SDK refresh the tokens.  Each token
// is tried on the MCP endpoint: anything but 401 passes.
//
// usage: node oauth-client.mjs --server-url URL --issuer URL
//            --auth-method none|client_secret_post --browser PATH
//            --redirect-uri URI [--user LOGIN] [--python PYTHON]
//            [--secrets-out FILE]
//
// Prints one JSON document: {"checks": [{"name", "ok", "detail"}...]}.
// Every token, code and secret seen is appended to --secrets-out as
// "KIND<TAB>VALUE" lines, for the log checks of the shell script.  The
// script runs from the directory where the SDK is installed (the shell
// copies it there), so that the bare imports resolve.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';

function parseArgs(argv) {
  const out = { user: 'alice', python: 'python3' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    out[key] = argv[i + 1];
  }
  for (const k of ['serverUrl', 'issuer', 'authMethod', 'browser', 'redirectUri']) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const serverUrl = new URL(args.serverUrl);
const checks = [];

function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail: ok ? '' : String(detail) });
  return !!ok;
}

function remember(kind, value) {
  if (args.secretsOut && value) appendFileSync(args.secretsOut, `${kind}\t${value}\n`);
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

class HeadlessProvider {
  #client; #tokens; #verifier; #state; #discovery;
  authorizationCode; iss; browserRuns = 0; flow;

  get redirectUrl() { return args.redirectUri; }
  get clientMetadata() {
    return {
      client_name: `regress SDK client (${args.authMethod})`,
      redirect_uris: [args.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: args.authMethod,
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
  get sentState() { return this.#state; }

  async redirectToAuthorization(authorizationUrl) {
    this.browserRuns++;
    this.authorizationUrl = authorizationUrl;
    const flow = await browse(authorizationUrl.href);
    this.flow = flow;
    remember('code', flow.params?.code);
    if (flow.callback_url) {
      remember('upstream-code', new URL(flow.callback_url).searchParams.get('code'));
    }
    if (!flow.ok) {
      throw new Error(`the browser stopped at ${flow.stage}: ${flow.error} ` +
        `(last status ${flow.last?.status})`);
    }
    if (flow.params.error) throw new Error(`authorization error: ${flow.params.error}`);
    this.authorizationCode = flow.params.code;
    this.returnedState = flow.params.state;
    this.iss = flow.params.iss;
  }
}

async function callMcp(token) {
  const res = await fetch(serverUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {},
        clientInfo: { name: 'regress-sdk', version: '0' } },
    }),
    signal: AbortSignal.timeout(10000),
  });
  // A relay may answer with a stream: the status is what counts.
  try { await res.body?.cancel(); } catch { /* ignore */ }
  return res.status;
}

const m = args.authMethod;
const provider = new HeadlessProvider();
try {
  // 1. Discovery, registration and the browser.
  let result;
  try {
    result = await auth(provider, { serverUrl });
  } catch (e) {
    check(`${m}: auth() discovers, registers and sends the browser`, false,
      e?.message ?? e);
    throw null;
  }
  check(`${m}: auth() discovers, registers and answers REDIRECT`,
    result === 'REDIRECT', `auth() returned ${result}`);
  const info = provider.clientInformation() ?? {};
  remember('client-secret', info.client_secret);
  check(`${m}: the registration echoes token_endpoint_auth_method ${m}`,
    info.token_endpoint_auth_method === m,
    `got ${info.token_endpoint_auth_method}`);
  if (m === 'none') {
    check(`${m}: a public client gets no client_secret`, !info.client_secret,
      'a client_secret was issued');
  } else {
    check(`${m}: a confidential client gets a client_secret`, !!info.client_secret,
      'no client_secret');
  }
  const authUrl = provider.authorizationUrl;
  check(`${m}: the authorization request carries S256 PKCE and resource ${serverUrl.href}`,
    authUrl?.searchParams.get('code_challenge_method') === 'S256' &&
    authUrl?.searchParams.get('resource') === serverUrl.href,
    `authorization URL: ${authUrl?.pathname}, method ` +
    `${authUrl?.searchParams.get('code_challenge_method')}, resource ` +
    `${authUrl?.searchParams.get('resource')}`);
  check(`${m}: the browser brings back a code with our state and iss`,
    !!provider.authorizationCode && provider.returnedState === provider.sentState &&
    provider.iss === args.issuer,
    `code ${provider.authorizationCode ? 'present' : 'absent'}, state ` +
    `${provider.returnedState === provider.sentState ? 'echoed' : 'differs'}, iss ${provider.iss}`);

  // 2. The code exchange.
  try {
    result = await auth(provider, { serverUrl, authorizationCode: provider.authorizationCode });
  } catch (e) {
    check(`${m}: auth() exchanges the code`, false, e?.message ?? e);
    throw null;
  }
  const tokens = provider.tokens() ?? {};
  remember('access-token', tokens.access_token);
  remember('refresh-token', tokens.refresh_token);
  check(`${m}: auth() exchanges the code: AUTHORIZED with a bearer access token`,
    result === 'AUTHORIZED' && !!tokens.access_token &&
    String(tokens.token_type).toLowerCase() === 'bearer',
    `auth() returned ${result}, token_type ${tokens.token_type}`);
  check(`${m}: a refresh token is issued`, !!tokens.refresh_token, 'none');
  const st1 = await callMcp(tokens.access_token);
  check(`${m}: ${serverUrl.pathname} with the SDK's access token is not 401`,
    st1 !== 401, `status ${st1}`);

  // 3. The SDK's refresh (auth() with tokens but no code).
  const runs = provider.browserRuns;
  try {
    result = await auth(provider, { serverUrl });
  } catch (e) {
    check(`${m}: auth() refreshes the tokens`, false, e?.message ?? e);
    throw null;
  }
  const fresh = provider.tokens() ?? {};
  remember('access-token', fresh.access_token);
  remember('refresh-token', fresh.refresh_token);
  check(`${m}: auth() refreshes: AUTHORIZED without the browser, new tokens`,
    result === 'AUTHORIZED' && provider.browserRuns === runs &&
    !!fresh.access_token && fresh.access_token !== tokens.access_token &&
    !!fresh.refresh_token && fresh.refresh_token !== tokens.refresh_token,
    `auth() returned ${result}, browser runs ${provider.browserRuns - runs}, ` +
    `access token ${fresh.access_token === tokens.access_token ? 'unchanged' : 'new'}, ` +
    `refresh token ${fresh.refresh_token === tokens.refresh_token ? 'unchanged' : 'new'}`);
  const st2 = await callMcp(fresh.access_token);
  check(`${m}: ${serverUrl.pathname} with the refreshed access token is not 401`,
    st2 !== 401, `status ${st2}`);
} catch (e) {
  if (e !== null) check(`${m}: the SDK run ends without an exception`, false, e?.stack ?? e);
}

process.stdout.write(JSON.stringify({ checks }) + '\n');
