// Swagger UI's Authorize button, end to end: the real passflow binary on an ephemeral port,
// headless Debian Chromium driven by playwright-core. Run from e2e/: `npm ci && npm test`
// (after `cargo build`; PASSFLOW_BIN and CHROMIUM override the binary and browser paths).
// Every test runs in two configurations: the default one, whose document has one security
// scheme, and every route live, whose document adds /introspect's HTTP Basic.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchChromium } from './launch.mjs';

const SHOTS = new URL('./screenshots/', import.meta.url).pathname;

const CONFIGURATIONS = [
  { name: 'default settings', env: {}, shots: '', schemes: 1 },
  {
    name: 'every route live',
    env: {
      TOKEN_ISSUER: 'http://127.0.0.1',
      INTROSPECTION_CLIENTS: 'e2e:e2e-introspection-secret-0123456789',
    },
    shots: 'every-route-',
    schemes: 2,
  },
];

let server;
let base;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** A page on /docs that records every request it makes. */
async function openDocs() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const requests = [];
  page.on('request', (request) => requests.push(request));
  await page.goto(`${base}/docs`);
  await page.locator('.swagger-ui .info .title').waitFor();
  return { page, requests };
}

/** Swagger UI's buttons carry aria-labels that differ from their text, so match the text. */
function button(scope, text) {
  return scope.locator('button', { hasText: text });
}

/** Whether `locator`'s element lies inside the dialog's visible area, with no scrolling. */
async function visibleWithoutScrolling(locator) {
  return locator.evaluate((element) => {
    const box = element.getBoundingClientRect();
    const content = element.closest('.modal-dialog-ux .modal-ux-content') ?? document.documentElement;
    const view = content.getBoundingClientRect();
    return box.top >= view.top && box.bottom <= Math.min(view.bottom, window.innerHeight);
  });
}

/** As a person does: open the dialog, type into the first form it shows, press its Authorize. */
async function authorize(page, username, password) {
  await page.locator('.auth-wrapper button.authorize').click();
  const dialog = page.locator('.modal-ux');
  // The first scheme is the password flow (documents list schemes by name, and the Basic one
  // of /introspect sorts after it): its form is on top, its fields in view.
  const first = dialog.locator('.auth-container').first();
  assert.match(await first.innerText(), /OAuth2PasswordBearer \(OAuth2, password\)/);
  const fields = [first.locator('#oauth_username'), first.locator('#oauth_password')];
  // The cursor waits in its username field: type, Tab, type, as a person does.
  await page.waitForFunction(() => document.activeElement?.id === 'oauth_username');
  for (const field of fields) {
    assert.ok(await visibleWithoutScrolling(field), 'the form is in view when the dialog opens');
  }
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  assert.equal(await fields[0].inputValue(), username);
  assert.equal(await fields[1].inputValue(), password);
  await first.locator('button[aria-label="Apply given OAuth2 credentials"]').click();
  return dialog;
}

for (const config of CONFIGURATIONS) {
  describe(config.name, () => {
    before(async () => {
      const started = await startServer(config.env);
      server = started.proc;
      base = started.url;
    });

    after(() => {
      server?.kill('SIGTERM');
    });

    test('Authorize as johndoe, then GET /users/me/ from the page', async () => {
      const { page, requests } = await openDocs();

      const dialog = await authorize(page, 'johndoe', 'secret');
      await button(dialog, 'Logout').waitFor();
      // Exactly the schemes this configuration serves.
      assert.equal(await dialog.locator('.auth-container').count(), config.schemes);
      assert.match(await dialog.innerText(), /Authorized/);
      // One Close button per scheme; any closes the dialog.
      await button(dialog, 'Close').first().click();
      await dialog.waitFor({ state: 'detached' });

      const operation = page.locator('#operations-users-read_users_me');
      await operation.locator('.opblock-summary').click();
      await button(operation, 'Try it out').click();
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}/users/me/`),
        button(operation, 'Execute').click(),
      ]);
      assert.equal(response.status(), 200);
      const live = operation.locator('.live-responses-table');
      const status = live.locator('tbody .response-col_status');
      await status.waitFor();
      assert.match(await status.innerText(), /^200/);
      assert.match(await live.innerText(), /"johndoe"/);
      await operation.screenshot({ path: `${SHOTS}${config.shots}swagger-authorized.png` });

      const login = requests.find((r) => r.url() === `${base}/token`);
      assert.ok(login, 'the dialog posted to /token');
      assert.equal(login.method(), 'POST');
      assert.match(login.headers()['content-type'], /^application\/x-www-form-urlencoded/);
      const call = requests.find((r) => r.url() === `${base}/users/me/`);
      assert.match(call.headers()['authorization'], /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);

      const origin = new URL(base).origin;
      const elsewhere = requests.map((r) => r.url()).filter((u) => !u.startsWith(origin) && !u.startsWith('data:'));
      assert.deepEqual(elsewhere, [], 'the page only talks to passflow');
      await page.close();
    });

    test('a wrong password shows the 401 in the Authorize dialog', async () => {
      const { page } = await openDocs();
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}/token`),
        authorize(page, 'johndoe', 'wrong'),
      ]);
      assert.equal(response.status(), 401);
      assert.deepEqual(await response.json(), { detail: 'Incorrect username or password' });
      const dialog = page.locator('.modal-ux');
      const errors = dialog.locator('.errors');
      await errors.waitFor();
      assert.match(await errors.innerText(), /Unauthorized/);
      assert.equal(await button(dialog, 'Logout').count(), 0);
      await page.screenshot({ path: `${SHOTS}${config.shots}swagger-wrong-password.png` });
      await page.close();
    });

    test("POST /token's form logs in from Try it out, with the fields the document declares", async () => {
      const { page } = await openDocs();
      const operation = page.locator('#operations-auth-login_for_access_token');
      await operation.locator('.opblock-summary').click();
      await button(operation, 'Try it out').click();
      // One row per field of the form, rendered from the schema's `allOf` of fields and grants.
      const field = (name) => operation.locator(`tr[data-property-name="${name}"] input`).first();
      for (const name of ['grant_type', 'username', 'password', 'refresh_token', 'scope']) {
        await field(name).waitFor();
      }
      // The document's example, not a value Swagger UI draws at random from the pattern.
      assert.equal(await field('grant_type').inputValue(), 'password');
      await field('username').fill('johndoe');
      await field('password').fill('secret');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}/token`),
        button(operation, 'Execute').click(),
      ]);
      assert.equal(response.status(), 200);
      const body = await response.json();
      assert.equal(body.token_type, 'bearer');
      assert.equal(body.scope, 'me items');
      const sent = new URLSearchParams(response.request().postData());
      assert.equal(sent.get('username'), 'johndoe');
      assert.equal(sent.get('password'), 'secret');
      await operation.screenshot({ path: `${SHOTS}${config.shots}swagger-token-form.png` });
      await page.close();
    });
  });
}
