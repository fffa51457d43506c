// "Sign in with passflow", end to end in headless Chromium: a relying party of the test's own
// (a Node HTTP server) sends the browser to passflow's login page; the user types a password,
// then a TOTP code, then allows the app; back at the relying party, it trades the code for
// tokens at /token (client_secret_basic + PKCE) and greets the user. On SQLite and on
// PostgreSQL, at a phone's width (360 px), keyboard only. Screenshots go to screenshots/.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, launchChromium } from './launch.mjs';

const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const PASSWORD = 'e2e-tutorial-secret';
const TOTP_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const POSTGRES = process.env.PASSFLOW_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

/** Runs a passflow command against `database`; its stdout. Fails the test on a non-zero exit. */
function passflow(args, database, input) {
  const result = spawnSync(BIN, args, {
    env: { PATH: process.env.PATH, DATABASE_URL: database, NO_COLOR: '1' },
    input,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `passflow ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function psql(sql) {
  const result = spawnSync('psql', [`${POSTGRES}/postgres`, '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `psql ${sql}: ${result.stderr}`);
}

const BACKENDS = [
  {
    name: 'SQLite',
    shots: 'sign-in-sqlite-',
    create() {
      const dir = mkdtempSync(join(tmpdir(), 'passflow-e2e-'));
      return { url: `sqlite:${join(dir, 'passflow.db')}`, drop: () => rmSync(dir, { recursive: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    shots: 'sign-in-postgres-',
    create() {
      const name = `passflow_e2e_${randomBytes(8).toString('hex')}`;
      psql(`CREATE DATABASE ${name}`);
      return { url: `${POSTGRES}/${name}`, drop: () => psql(`DROP DATABASE ${name} WITH (FORCE)`) };
    },
  },
];

/** RFC 6238 with SHA-1 and six digits, as authenticator apps compute it. */
function totp(base32, seconds) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of base32.replace(/=+$/, '')) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

/**
 * The relying party: `/` links to passflow's authorization endpoint with a fresh state and
 * PKCE verifier; `/callback` checks the state, trades the code and shows who signed in.
 */
function startRelyingParty() {
  const pending = new Map();
  const rp = { passflow: null, clientId: null, secret: null, url: null };
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, rp.url);
    const html = (body) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><meta name="viewport" content="width=device-width">${body}`);
    };
    if (url.pathname === '/') {
      const state = base64url(randomBytes(16));
      const verifier = base64url(randomBytes(32));
      pending.set(state, verifier);
      const challenge = base64url(createHash('sha256').update(verifier).digest());
      const authorize = new URL('/authorize', rp.passflow);
      authorize.search = new URLSearchParams({
        response_type: 'code', client_id: rp.clientId, redirect_uri: `${rp.url}/callback`,
        scope: 'me items', state, code_challenge: challenge, code_challenge_method: 'S256',
      });
      return html(`<h1>Example App</h1><a id="sign-in" href="${authorize}">Sign in with passflow</a>`);
    }
    const verifier = pending.get(url.searchParams.get('state'));
    if (url.pathname !== '/callback' || !verifier || !url.searchParams.get('code')) {
      return html(`<h1 id="error">Refused: ${url.searchParams.get('error') ?? 'bad callback'}</h1>`);
    }
    pending.delete(url.searchParams.get('state'));
    const token = await fetch(new URL('/token', rp.passflow), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${rp.clientId}:${rp.secret}`).toString('base64')}` },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: url.searchParams.get('code'),
        redirect_uri: `${rp.url}/callback`, code_verifier: verifier,
      }),
    }).then((reply) => reply.json());
    const me = await fetch(new URL('/users/me/', rp.passflow), {
      headers: { authorization: `Bearer ${token.access_token}` },
    }).then((reply) => reply.json());
    html(`<h1 id="greeting">Signed in as ${me.username}</h1><p id="scope">${token.scope}</p>`
      + `<p id="iss">${url.searchParams.get('iss')}</p>`);
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

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

for (const backend of BACKENDS) {
  describe(`sign in with passflow on ${backend.name}`, () => {
    let database;
    let server;
    let rp;
    let base;

    before(async () => {
      database = backend.create();
      passflow(['users', 'add', 'johndoe'], database.url, `${PASSWORD}\n`);
      rp = await startRelyingParty();
      const added = passflow(
        ['clients', 'add', 'Example App', '--redirect-uri', `${rp.url}/callback`, '--refresh-token'],
        database.url,
      );
      rp.clientId = added.match(/^client_id: (\S+)$/m)[1];
      rp.secret = added.match(/^client_secret: (\S+)$/m)[1];
      // Replicas on PostgreSQL share an id_token key; one made for this test, never kept.
      const keyDir = mkdtempSync(join(tmpdir(), 'passflow-e2e-key-'));
      const idTokenKey = join(keyDir, 'id-token.pem');
      writeFileSync(idTokenKey, passflow(['keys', 'generate', '--algorithm', 'RS256'], database.url));
      database.dropKey = () => rmSync(keyDir, { recursive: true });
      const started = await startServer({
        DATABASE_URL: database.url,
        TOKEN_ISSUER: 'http://127.0.0.1',
        TOTP_ENCRYPTION_KEY: TOTP_KEY,
        ID_TOKEN_SIGNING_KEY_FILE: idTokenKey,
      });
      server = started.proc;
      base = started.url;
      rp.passflow = base;
    });

    after(() => {
      server?.kill('SIGTERM');
      rp?.close();
      database?.dropKey?.();
      database?.drop();
    });

    test('password, TOTP code and consent, then back at the app, keyboard only at 360 px', async () => {
      // johndoe turns TOTP on through the API, as the account page of an app would.
      const token = await fetch(`${base}/token`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'johndoe', password: PASSWORD }),
      }).then((reply) => reply.json());
      const auth = { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
      const enrolment = await fetch(`${base}/users/me/totp`, { method: 'POST', headers: auth })
        .then((reply) => reply.json());
      const now = Math.floor(Date.now() / 1000);
      const confirmed = await fetch(`${base}/users/me/totp/confirm`, {
        method: 'POST', headers: auth, body: JSON.stringify({ code: totp(enrolment.secret, now) }),
      });
      assert.equal(confirmed.status, 200);

      const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
      const page = await context.newPage();
      const problems = [];
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      await page.goto(rp.url);
      await page.click('#sign-in');

      // Step 1: the password. The cursor waits in the username field.
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/authorize');
      assert.match(await page.locator('main').innerText(), /to continue to Example App/);
      await page.waitForFunction(() => document.activeElement?.id === 'username');
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360,
        'nothing wider than the phone');
      // The inline style applies: its CSP hash matches.
      assert.equal(await page.locator('button').evaluate((b) => getComputedStyle(b).backgroundColor),
        'rgb(33, 86, 217)');
      await page.keyboard.type('johndoe');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      assert.equal(await page.getByLabel('Username').inputValue(), 'johndoe');
      await page.screenshot({ path: `${SHOTS}${backend.shots}1-password.png`, fullPage: true });
      await page.keyboard.press('Enter');

      // Step 2: the authenticator's code, for the next 30-second step (the one confirmed is spent).
      await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
      await page.waitForFunction(() => document.activeElement?.id === 'totp');
      assert.equal(await page.locator('#totp').getAttribute('autocomplete'), 'one-time-code');
      await page.keyboard.type(totp(enrolment.secret, now + 30));
      await page.screenshot({ path: `${SHOTS}${backend.shots}2-totp.png`, fullPage: true });
      await page.keyboard.press('Enter');

      // Step 3: consent, naming the app and each scope.
      await page.getByRole('heading', { name: 'Allow Example App access?' }).waitFor();
      const scopes = await page.locator('#scopes li').allInnerTexts();
      assert.deepEqual(scopes, ['me — Read information about the current user.', 'items — Read items.']);
      await page.screenshot({ path: `${SHOTS}${backend.shots}3-consent.png`, fullPage: true });
      await page.getByRole('button', { name: 'Allow' }).focus();
      await page.keyboard.press('Enter');

      // Back at the app, which traded the code for tokens.
      await page.locator('#greeting').waitFor();
      assert.equal(await page.locator('#greeting').innerText(), 'Signed in as johndoe');
      assert.equal(await page.locator('#scope').innerText(), 'me items');
      assert.equal(await page.locator('#iss').innerText(), 'http://127.0.0.1');
      await page.screenshot({ path: `${SHOTS}${backend.shots}4-back-at-the-app.png`, fullPage: true });

      // Signed in and allowed: the next sign-in goes straight back to the app.
      await page.goto(rp.url);
      await page.click('#sign-in');
      await page.locator('#greeting').waitFor();
      assert.equal(await page.locator('#greeting').innerText(), 'Signed in as johndoe');
      assert.deepEqual(problems, [], 'no console errors (a CSP violation would be one)');
      await context.close();
    });
  });
}
