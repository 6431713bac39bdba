// bearer-preload.mjs: makes a Node program that knows nothing of OAuth
// (the MCP conformance suite's "server" command has no option for a
// token) send "Authorization: Bearer $MCP_BEARER" on every request to
// the origin of $MCP_URL.  Used as: node --import bearer-preload.mjs ...
//
// It installs a global undici dispatcher: Node's fetch and undici's
// request() share the global dispatcher, so both the SDK's transport
// (fetch) and the dns-rebinding scenario (undici.request) carry the
// header.  "undici" resolves from the conformance install, which is why
// regress/integration/conformance.sh copies this file next to its
// node_modules.  Requests to other origins are left alone.

import { Agent, setGlobalDispatcher } from 'undici';

const url = process.env.MCP_URL;
const token = process.env.MCP_BEARER;
if (!url || !token) {
  console.error('bearer-preload: MCP_URL and MCP_BEARER must be set');
  process.exit(2);
}
const origin = new URL(url).origin;
const value = `Bearer ${token}`;

function withBearer(headers) {
  if (headers == null) return { authorization: value };
  if (Array.isArray(headers)) {
    // undici's flat [name, value, name, value, ...] form
    const out = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() !== 'authorization') out.push(headers[i], headers[i + 1]);
    }
    return [...out, 'authorization', value];
  }
  if (typeof headers !== 'string' && typeof headers[Symbol.iterator] === 'function') {
    return withBearer([...headers].flat());
  }
  const out = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== 'authorization') out[k] = v;
  }
  out.authorization = value;
  return out;
}

setGlobalDispatcher(new Agent().compose((dispatch) => (opts, handler) => {
  if (String(opts.origin) === origin) opts = { ...opts, headers: withBearer(opts.headers) };
  return dispatch(opts, handler);
}));
