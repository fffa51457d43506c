// "Sign in with passflow" from a relying party on Authlib (Python; issue 41 §8): Authlib's
// CodeIDToken checks the id_token's signature against the JWKS, its issuer, audience, nonce and
// at_hash, then the app reads /userinfo. The login page is driven in headless Chromium. The
// Python is PASSFLOW_PYTHON's (CI installs Authlib into it); the test fails, never skips,
// without it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, freePort, signInUntilConsent, startServer, launchChromium } from './launch.mjs';

const PYTHON = process.env.PASSFLOW_PYTHON ?? 'python3';

let browser;
let passflow;
let rp;
let rpUrl;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passflow-authlib-'));
  const rpPort = await freePort();
  rpUrl = `http://127.0.0.1:${rpPort}`;
  const clients = join(dir, 'clients.json');
  const added = spawnSync(BIN, [
    'clients', 'add', 'Authlib App', '--file', clients, '--redirect-uri', `${rpUrl}/callback`,
  ], { env: { PATH: process.env.PATH, NO_COLOR: '1' }, encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
  const clientId = added.stdout.match(/^client_id: (\S+)$/m)[1];
  const secret = added.stdout.match(/^client_secret: (\S+)$/m)[1];
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  passflow = (await startServer({ PORT: String(port), TOKEN_ISSUER: issuer, CLIENTS_FILE: clients })).proc;
  rp = spawn(PYTHON, [new URL('./authlib_rp.py', import.meta.url).pathname], {
    env: {
      PATH: process.env.PATH, PASSFLOW_ISSUER: issuer, CLIENT_ID: clientId,
      CLIENT_SECRET: secret, RP_PORT: String(rpPort),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    rp.on('exit', (code) => reject(new Error(`the Authlib app exited with ${code}`)));
    createInterface({ input: rp.stdout }).once('line', resolve);
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  rp?.kill('SIGTERM');
  passflow?.kill('SIGTERM');
  rmSync(dir, { recursive: true });
});

test('Authlib signs johndoe in: id_token (nonce, at_hash) and /userinfo', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(rpUrl);
  await page.click('#sign-in');
  await signInUntilConsent(page, 'Authlib App');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.locator('#greeting, #error').first().waitFor();
  assert.equal(await page.locator('h1').innerText(), 'Signed in as johndoe');
  const result = JSON.parse(await page.locator('#result').innerText());
  assert.equal(result.scope, 'email openid profile');
  assert.equal(result.userinfo.email, 'johndoe@example.com');
  assert.equal(result.userinfo.email_verified, false);
  assert.equal(result.userinfo.name, 'John Doe');
  assert.equal(result.claims.sub, result.userinfo.sub);
  assert.ok(result.claims.at_hash, 'Authlib checked it');
  await context.close();
});
