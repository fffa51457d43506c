// "Sign in with passflow" from a relying party built on openid-client 6, the strictest OpenID
// Connect client in common use (issue 41 §8): it configures itself from the discovery URL,
// authenticates with client_secret_basic (form-urlencoding the id and secret first), sends PKCE,
// state and nonce, checks `iss` in the authorization response (RFC 9207), the id_token's
// signature against the JWKS, its issuer, audience and nonce, then fetches /userinfo, refreshes,
// and signs out through the end-session endpoint. The login page is driven in headless Chromium.
// Plain http is allowed on loopback only (`allowInsecureRequests`, for this test).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { BIN, freePort, signInUntilConsent, startServer, launchChromium } from './launch.mjs';

/** The relying party: openid-client's discovery, code flow, userinfo, refresh and logout. */
function startRelyingParty() {
  const rp = { issuer: null, clientId: null, secret: null, url: null, config: null, last: null };
  const pending = new Map();
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, rp.url);
    const html = (body) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html>${body}`);
    };
    try {
      if (url.pathname === '/') {
        const state = client.randomState();
        const nonce = client.randomNonce();
        const verifier = client.randomPKCECodeVerifier();
        pending.set(state, { nonce, verifier });
        const authorize = client.buildAuthorizationUrl(rp.config, {
          redirect_uri: `${rp.url}/callback`,
          scope: 'openid profile email',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        return html(`<a id="sign-in" href="${authorize}">Sign in with passflow</a>`);
      }
      if (url.pathname === '/callback') {
        const state = url.searchParams.get('state');
        const { nonce, verifier } = pending.get(state);
        pending.delete(state);
        const tokens = await client.authorizationCodeGrant(rp.config, url, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        const info = await client.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
        rp.last = { tokens, claims, info };
        return html(`<h1 id="greeting">Signed in as ${info.preferred_username}</h1>`
          + `<p id="name">${info.name}</p><p id="email">${info.email}</p>`
          + `<a id="sign-out" href="/logout">Sign out</a>`);
      }
      if (url.pathname === '/logout') {
        const end = client.buildEndSessionUrl(rp.config, {
          id_token_hint: rp.last.tokens.id_token,
          post_logout_redirect_uri: `${rp.url}/bye`,
          state: 'bye-state',
        });
        response.writeHead(302, { location: end.href });
        return response.end();
      }
      if (url.pathname === '/bye') {
        return html(`<h1 id="bye">Signed out (${url.searchParams.get('state')})</h1>`);
      }
      response.writeHead(404);
      response.end();
    } catch (error) {
      html(`<h1 id="error">${error.name}: ${error.message} ${error.code ?? ''}</h1>`);
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      rp.url = `http://127.0.0.1:${server.address().port}`;
      rp.close = () => server.close();
      resolve(rp);
    });
  });
}

let browser;
let passflow;
let rp;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passflow-openid-client-'));
  rp = await startRelyingParty();
  const clients = join(dir, 'clients.json');
  const added = spawnSync(BIN, [
    'clients', 'add', 'OpenID App', '--file', clients, '--redirect-uri', `${rp.url}/callback`,
    '--post-logout-redirect-uri', `${rp.url}/bye`, '--refresh-token',
  ], { env: { PATH: process.env.PATH, NO_COLOR: '1' }, encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
  rp.clientId = added.stdout.match(/^client_id: (\S+)$/m)[1];
  rp.secret = added.stdout.match(/^client_secret: (\S+)$/m)[1];
  const port = await freePort();
  rp.issuer = `http://127.0.0.1:${port}`;
  const started = await startServer({
    PORT: String(port), TOKEN_ISSUER: rp.issuer, CLIENTS_FILE: clients,
  });
  passflow = started.proc;
  rp.config = await client.discovery(
    new URL(rp.issuer), rp.clientId, undefined, client.ClientSecretBasic(rp.secret),
    { execute: [client.allowInsecureRequests] },
  );
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  passflow?.kill('SIGTERM');
  rp?.close();
  rmSync(dir, { recursive: true });
});

test('openid-client signs johndoe in, reads /userinfo, refreshes and signs out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(rp.url);
  await page.click('#sign-in');
  await signInUntilConsent(page, 'OpenID App');
  const scopes = await page.locator('#scopes li').allInnerTexts();
  assert.deepEqual(scopes, [
    'email — See your email address.',
    'openid — Sign you in with your account.',
    'profile — See your name and username.',
  ]);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.locator('#greeting, #error').first().waitFor();
  assert.equal(await page.locator('h1').innerText(), 'Signed in as johndoe');
  assert.equal(await page.locator('#name').innerText(), 'John Doe');
  assert.equal(await page.locator('#email').innerText(), 'johndoe@example.com');

  const { tokens, claims, info } = rp.last;
  assert.equal(claims.iss, rp.issuer);
  assert.equal(claims.aud, rp.clientId);
  assert.equal(info.sub, claims.sub);
  assert.notEqual(claims.sub, 'johndoe', 'an opaque subject');
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(tokens.scope, 'email openid profile');

  // A refresh through openid-client: a new id_token of the same sign-in.
  const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token);
  const again = refreshed.claims();
  assert.equal(again.sub, claims.sub);
  assert.equal(again.auth_time, claims.auth_time);

  // Sign out: the hint names the browser's user, so no confirmation; back at the app.
  await page.click('#sign-out');
  await page.locator('#bye').waitFor();
  assert.equal(await page.locator('#bye').innerText(), 'Signed out (bye-state)');
  await assert.rejects(
    client.fetchUserInfo(rp.config, refreshed.access_token, claims.sub),
    (error) => error.status === 401 || error.cause?.status === 401 || /401|invalid_token/.test(String(error)),
  );
  // The browser session ended too: the next sign-in asks for the password.
  await page.goto(rp.url);
  await page.click('#sign-in');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await context.close();
});
