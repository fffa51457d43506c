// "Sign in with passflow" from the README's Rust example, examples/oidc-client (issue 41 §8):
// an axum app on the `openidconnect` crate checks the id_token's signature against the JWKS,
// its issuer, audience, expiry, nonce and at_hash, and the RFC 9207 `iss`, then reads
// /userinfo. The login page is driven in headless Chromium. The app is built by
// `cargo build --manifest-path examples/oidc-client/Cargo.toml` (CI does); the test fails,
// never skips, without it. OIDC_EXAMPLE_BIN overrides its path.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, freePort, signInUntilConsent, startServer, launchChromium } from './launch.mjs';

const EXAMPLE = process.env.OIDC_EXAMPLE_BIN
  ?? new URL('../examples/oidc-client/target/debug/passflow-oidc-client', import.meta.url).pathname;

let browser;
let passflow;
let app;
let appUrl;
let clientId;
let issuer;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passflow-openidconnect-rs-'));
  appUrl = `http://127.0.0.1:${await freePort()}`;
  const clients = join(dir, 'clients.json');
  const added = spawnSync(BIN, [
    'clients', 'add', 'Example app', '--file', clients, '--redirect-uri', `${appUrl}/callback`,
  ], { env: { PATH: process.env.PATH, NO_COLOR: '1' }, encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
  clientId = added.stdout.match(/^client_id: (\S+)$/m)[1];
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  passflow = (await startServer({ PORT: String(port), TOKEN_ISSUER: issuer, CLIENTS_FILE: clients })).proc;
  app = spawn(EXAMPLE, [], {
    env: {
      PATH: process.env.PATH,
      PASSFLOW_ISSUER: issuer,
      CLIENT_ID: clientId,
      CLIENT_SECRET: added.stdout.match(/^client_secret: (\S+)$/m)[1],
      APP_URL: appUrl,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    app.on('error', reject);
    app.on('exit', (code) => reject(new Error(`the example app exited with ${code}`)));
    createInterface({ input: app.stdout }).once('line', resolve);
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  app?.kill('SIGTERM');
  passflow?.kill('SIGTERM');
  rmSync(dir, { recursive: true });
});

test('the openidconnect crate signs johndoe in: id_token (nonce, at_hash) and /userinfo', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appUrl);
  await page.getByRole('link', { name: 'Sign in with passflow' }).click();
  await signInUntilConsent(page, 'Example app');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.locator('#greeting, #error').first().waitFor();
  assert.equal(await page.locator('h1').innerText(), 'Signed in as johndoe');
  const result = JSON.parse(await page.locator('#result').innerText());
  assert.equal(result.scope, 'email openid profile');
  assert.equal(result.id_token.iss, issuer);
  assert.deepEqual(result.id_token.aud, [clientId]);
  assert.equal(result.userinfo.sub, result.id_token.sub);
  assert.equal(result.userinfo.email, 'johndoe@example.com');
  assert.equal(result.userinfo.email_verified, false);
  assert.equal(result.userinfo.name, 'John Doe');
  assert.equal(result.userinfo.preferred_username, 'johndoe');
  assert.deepEqual(result.id_token.amr, ['pwd']);
  assert.ok(result.id_token.at_hash, 'checked by the app against the access token');
  await context.close();
});

test('a callback the app did not start is refused by the app', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${appUrl}/callback?code=forged&state=forged`);
  assert.equal(await page.locator('#error').innerText(), 'unknown state: this app did not start that sign-in, or it timed out');
  await context.close();
});
