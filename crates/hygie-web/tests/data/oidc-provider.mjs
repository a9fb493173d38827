// A real OpenID Connect provider for Hygie's single sign-on tests: panva's certified
// `oidc-provider` (installed by scripts/test.sh into target/oidc-provider, pinned), with its own
// small login page (users and passwords from the USERS file; no consent screen) and a tamper
// switch the tests use to change the ID token after it is issued.
//
//   node oidc-provider.mjs PORT CONFIG.json
//
// CONFIG: { "client_id", "client_secret", "redirect_uri", "post_logout_redirect_uri", "kid",
//           "users": { "ann": { "password", "name", "groups": [...], "amr": [...] } } }
// Prints "ready ISSUER" once listening. POST /test/tamper?mode=MODE sets how the next ID tokens
// are changed: none, signature (payload changed, signature kept), audience, issuer, nonce,
// expired (each re-signed with the provider's own key, so only the claim is wrong).
import http from 'node:http';
import fs from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.argv[2]);
const config = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: config.kid, alg: 'RS256', use: 'sig' };
let tamper = 'none';

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: [config.redirect_uri],
    post_logout_redirect_uris: [config.post_logout_redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['hygie-test-provider-cookie-key'] },
  claims: { amr: null, acr: null, openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = `<!doctype html><html><body><h1>Test identity provider</h1>${form}
<button id="idp-logout" type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const u = config.users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: u.name, groups: u.groups };
      },
    };
  },
});
provider.proxy = false;
// Why a request failed, on stderr (the test shows it when it fails).
for (const ev of ['grant.error', 'authorization.error', 'server_error', 'end_session.error']) {
  provider.on(ev, (ctx, err) => console.error(ev, err.message, err.error_detail || ''));
}

// The tamper switch: the token endpoint's answer, changed after the provider made it.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || tamper === 'none' || !ctx.body || !ctx.body.id_token) return;
  const [h, p, s] = ctx.body.id_token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (tamper === 'signature') {
    claims.groups = ['hygie-admins'];
    ctx.body.id_token = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    return;
  }
  if (tamper === 'audience') claims.aud = 'another-client';
  if (tamper === 'issuer') claims.iss = 'http://127.0.0.1:1';
  if (tamper === 'nonce') claims.nonce = 'not-the-login-nonce';
  if (tamper === 'expired') { claims.iat -= 7200; claims.exp = claims.iat + 600; }
  ctx.body.id_token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: config.kid, typ: 'JWT' })
    .sign(privateKey);
});

const page = (body) => `<!doctype html><html><head><title>Test provider</title></head><body>${body}</body></html>`;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function form(uid, msg) {
  return page(`<h1>Test identity provider</h1>${msg ? `<p id="idp-error">${esc(msg)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<input id="idp-login" name="login" required><input id="idp-password" name="password" type="password" required>
<button id="idp-submit" type="submit">Sign in</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET' && details.prompt.name === 'login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(form(uid));
  }
  if (req.method === 'POST' && action === 'login') {
    const f = await readForm(req);
    const u = config.users[f.get('login')];
    if (!u || u.password !== f.get('password')) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(form(uid, 'Wrong login or password'));
    }
    return provider.interactionFinished(req, res, {
      login: { accountId: f.get('login'), amr: u.amr || ['pwd'] },
    }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'consent') {
    // Hygie is the hospital's own application: no consent screen.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const d = details.prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true });
  }
  res.writeHead(400);
  return res.end('unexpected interaction');
}

const callback = provider.callback();
http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/test/tamper' && req.method === 'POST') {
    tamper = url.searchParams.get('mode') || 'none';
    res.writeHead(200);
    return res.end(tamper);
  }
  if (url.pathname.startsWith('/interaction/')) {
    return interaction(req, res, url).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  }
  return callback(req, res);
}).listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
