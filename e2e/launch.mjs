// What every browser test needs: the real passflow binary on an ephemeral port, and headless
// Debian Chromium. PASSFLOW_BIN and CHROMIUM override the binary and browser paths.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const BIN = process.env.PASSFLOW_BIN ?? new URL('../target/debug/passflow', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Starts passflow with `settings` added to a minimal environment; resolves once it listens. */
export function startServer(settings) {
  const proc = spawn(BIN, [], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      SECRET_KEY: 'e2e-only-key-e2e-only-key-e2e-only-key',
      NO_COLOR: '1',
      RUST_LOG: 'passflow=info',
      ...settings,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "listening on" line in 20 s')), 20_000);
    proc.on('exit', (code) => reject(new Error(`passflow exited early with ${code}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const match = line.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ proc, url: match[1] });
      }
    });
  });
}

/** Headless Chromium with the flags the machine's guide lists. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A port nothing listens on now, for a server whose URL must be known before it starts. */
export function freePort() {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** johndoe signs in on passflow's login page, then waits for the consent page `app` asks. */
export async function signInUntilConsent(page, app) {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Username').fill('johndoe');
  await page.getByLabel('Password').fill('secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: `Allow ${app} access?` }).waitFor();
}
