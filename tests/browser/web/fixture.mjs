// Shared parts of the web admin's browser tests: one appliance (real yardwatchd recording real
// RTSP from yardwatch-camsim into a real data directory), headless Debian chromium driven by
// playwright-core, TOTP codes computed from the enrolment secret (RFC 6238), screenshots and
// axe-core accessibility checks.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const binaryDir = process.env.YW_BINARY_DIR;
if (!binaryDir) throw new Error('YW_BINARY_DIR must name the CMake build directory');
export const artifactsDir = process.env.YW_ARTIFACTS || path.join(binaryDir, 'artifacts', 'browser');

export const bin = {
  yardwatchd: path.join(binaryDir, 'firmware', 'yardwatchd'),
  yardwatch: path.join(binaryDir, 'tools', 'cli', 'yardwatch'),
  camsim: path.join(binaryDir, 'tools', 'camsim', 'yardwatch-camsim'),
  verify: path.join(binaryDir, 'tools', 'verify', 'yardwatch-verify'),
};

// The value a datetime-local input (step 1) holds for a UTC time in ms: the normalised form the
// HTML standard gives it, which drops zero seconds ("…T05:29", not "…T05:29:00"). Playwright's
// fill() insists the input shows what it typed, so a time on a whole minute must be typed so.
export function datetimeLocal(ms) {
  return new Date(ms).toISOString().slice(0, 19).replace(/:00$/, '');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(what, check, timeoutMs = 30000, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

// --- TOTP (RFC 6238: HMAC-SHA1, 30 s, 6 digits) ---
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function totp(secretBase32, unixSeconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

// --- the appliance ---
export class Appliance {
  constructor() {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'yw-web-'));
    this.data = path.join(this.root, 'data');
    this.keys = path.join(this.root, 'keys');
    this.exports = path.join(this.root, 'exports');  // stands for the USB stick
    this.processes = [];
  }

  cli(args, input = '') {
    const result = spawnSync(bin.yardwatch, [...args, '--data', this.data, '--key-dir', this.keys], {
      input,
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new Error(`yardwatch ${args.join(' ')} failed: ${result.stderr}`);
    }
    return result.stdout;
  }

  cliJson(args) {
    return JSON.parse(this.cli([...args, '--json']));
  }

  async start({ cameras = 2, segmentSeconds = 4, env = {}, width = 640, height = 360, bitrate = 600, gop = 25 } = {}) {
    const init = this.cli(['init']);
    this.setupCode = /one-time setup code: (\S+)/.exec(init)[1];
    const rtspPort = await freePort();
    const camsim = spawn(bin.camsim, ['--port', String(rtspPort), '--cameras', String(cameras), '--codec', 'h264',
      '--width', String(width), '--height', String(height), '--fps', '25', '--bitrate', String(bitrate), '--gop', String(gop)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.push(camsim);
    await waitFor('camsim', () => new Promise((resolve) => {
      camsim.stdout.once('data', (chunk) => resolve(String(chunk).includes('serving')));
    }), 60000, 0);
    for (let i = 1; i <= cameras; i += 1) {
      this.cli(['camera', 'add', '--name', `cam${i}`, '--url', `rtsp://127.0.0.1:${rtspPort}/cam${i}`,
        '--zone', i % 2 ? 'schoolyard' : 'entrance', '--location', `test camera ${i}`]);
    }
    this.port = await freePort();
    this.origin = `https://127.0.0.1:${this.port}`;
    await this.startDaemon(segmentSeconds, env);
  }

  async startDaemon(segmentSeconds = 4, env = {}) {
    this.daemonLog = '';
    const daemon = spawn(bin.yardwatchd, ['--data', this.data, '--key-dir', this.keys,
      '--listen', `127.0.0.1:${this.port}`, '--segment-seconds', String(segmentSeconds),
      '--export-dir', this.exports],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    daemon.stderr.on('data', (chunk) => { this.daemonLog += chunk; });
    this.daemon = daemon;
    this.processes.push(daemon);
    await waitFor('the web admin', () => this.daemonLog.includes('web admin on https://'), 30000);
  }

  async stopDaemon() {
    if (!this.daemon || this.daemon.exitCode !== null) return;
    const exited = new Promise((resolve) => this.daemon.once('exit', resolve));
    this.daemon.kill('SIGTERM');
    await exited;
  }

  // A personal account made at the console with a temporary password (as an admin would).
  addAccount(name, role, cameras = []) {
    const temporary = `Temporary-${String(Math.random()).slice(2, 12)}-pw`;
    const args = ['user', 'add', '--name', name, '--role', role, '--password-stdin'];
    if (cameras.length) args.push('--cameras', cameras.join(','));
    this.cli(args, `${temporary}\n`);
    return temporary;
  }

  // A personal account whose own password is set at the console (user passwd), as the first
  // steps would; returns that password.
  addPersonalAccount(name, role) {
    const temporary = this.addAccount(name, role);
    const own = `own-password-${String(Math.random()).slice(2, 10)}`;
    this.cli(['user', 'passwd', '--user', name], `${temporary}\n${own}\n`);
    return own;
  }

  segments(camera) {
    return this.cliJson(['segments', '--camera', camera]).segments.filter((s) => s.state === 'complete');
  }

  async waitForSegments(camera, count) {
    return waitFor(`${count} segments of ${camera}`, () => this.segments(camera).length >= count, 60000, 500);
  }

  async stop() {
    for (const child of this.processes.reverse()) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(20000)]);
      }
    }
    if (!process.env.YW_KEEP_TEST_DATA) rmSync(this.root, { recursive: true, force: true });
  }
}

export function peerFingerprint(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      const protocol = socket.getProtocol();
      socket.end();
      resolve({ fingerprint: certificate.fingerprint256, protocol });
    });
    socket.on('error', reject);
  });
}

export async function tlsHandshake(port, options) {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

// --- the browser ---
// playwright-core's launch() gives chromium a fresh temporary profile (user-data-dir) of its own.
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.YW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
  });
  return { browser };
}

// A fresh context (own cookies) whose console errors and page errors fail the test.
export async function newPage(browser, problems) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return page;
}

export function screenshotPath(name) {
  mkdirSync(artifactsDir, { recursive: true });
  return path.join(artifactsDir, `${name}.png`);
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// axe-core in the page (evaluated through the DevTools protocol, which the strict CSP does not
// govern). Returns the serious and critical violations.
export async function seriousViolations(page) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

export function writeArtifact(name, text) {
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(path.join(artifactsDir, name), text);
}

// --- one page's steps, shared by the tests that drive a page of the web admin ---

// A screenshot kept as an artifact; fails on serious axe-core violations and untranslated text.
export async function checkedShot(page, name) {
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `axe-core: serious accessibility violations on ${name}`);
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes('⟦'), `untranslated text on ${name}`);
}

// The signed-in account's language, set through the API as the settings page does.
export async function setLanguage(page, language) {
  const changed = await page.evaluate(async (lang) => {
    const session = await (await fetch('/api/v1/session')).json();
    const response = await fetch('/api/v1/account/language', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token },
      body: JSON.stringify({ language: lang }),
    });
    return response.status;
  }, language);
  assert.equal(changed, 200);
}

// Opens `hash` afresh and waits until the page is in `lang`.
export async function visitIn(page, origin, hash, lang) {
  await page.goto(`${origin}/${hash}`);
  await page.reload();
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

// Waits for a selector; on failure the error says what the page shows instead (and a screenshot
// named after `label` is kept).
export async function waitShown(page, selector, options = {}, label = 'page') {
  try {
    await page.waitForSelector(selector, options);
  } catch (error) {
    await page.screenshot({ path: screenshotPath(`failure-${label}-${Date.now()}`), fullPage: true });
    const shown = await page.locator('body').innerText();
    throw new Error(`${error.message}\nthe page shows: ${shown.slice(0, 800)}`);
  }
}
