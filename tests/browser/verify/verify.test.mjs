// verify.html in headless Chromium (Debian's, driven by playwright-core), offline: for every
// bundle that yw_make_test_bundles wrote, the page must give the same verdict as the reference
// verifier yardwatch-verify and name the same files; on the intact bundle a <video> element must
// play the first seconds of a decrypted MP4. Any request that is not file:, blob: or data: fails
// the test (the page must not use the network).
//
//   node verify.test.mjs BUNDLES_DIR PATH/TO/yardwatch-verify
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const [bundlesDir, verifier] = process.argv.slice(2);
if (!bundlesDir || !verifier) {
  console.error('usage: node verify.test.mjs BUNDLES_DIR YARDWATCH_VERIFY');
  process.exit(2);
}
const cases = JSON.parse(readFileSync(join(bundlesDir, 'cases.json'), 'utf8'));
const pageUrl = pathToFileURL(join(bundlesDir, 'verify.html')).href;

// The reference verdict: exit status and the files its FAILED lines name.
function reference(c) {
  const args = [c.dir, '--passphrase-file', c.passphrase_file];
  if (c.expect_fingerprint) args.push('--expect-fingerprint', c.expect_fingerprint);
  const run = spawnSync(verifier, args, { encoding: 'utf8' });
  assert.ok(run.status === 0 || run.status === 1, `yardwatch-verify failed to run: ${run.stderr}`);
  const named = new Set();
  for (const line of run.stdout.split('\n')) {
    const m = /^FAILED (.+?): /.exec(line);
    if (m) named.add(m[1]);
  }
  return { ok: run.status === 0, named, output: run.stdout };
}

const userDataDir = mkdtempSync(join(tmpdir(), 'yw-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  offline: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});
const outside = [];
context.on('request', (request) => {
  const url = request.url();
  if (!/^(file|blob|data):/.test(url)) outside.push(url);
});
await context.route(/^(?!file:|blob:|data:)/, (route) => route.abort());

let failures = 0;
let passed = 0;
function check(condition, message) {
  if (condition) {
    passed++;
  } else {
    failures++;
    console.log('FAIL: ' + message);
  }
}

try {
  for (const c of cases) {
    const ref = reference(c);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pageUrl);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    const files = readdirSync(c.dir).map((name) => join(c.dir, name));
    await page.setInputFiles('#files', files);
    await page.fill('#passphrase', readFileSync(c.passphrase_file, 'utf8').split('\n')[0]);
    if (c.expect_fingerprint) await page.fill('#fingerprint', c.expect_fingerprint);
    await page.click('#verify');
    await page.waitForSelector('#verdict[data-verdict="ok"], #verdict[data-verdict="failed"], #verdict[data-verdict="error"]', { timeout: 120000 });
    const verdict = await page.getAttribute('#verdict', 'data-verdict');
    const named = new Set(await page.$$eval('#problems li', (items) => items.map((li) => li.dataset.file)));
    const problems = await page.$$eval('#problems li', (items) => items.map((li) => li.textContent));
    const agree = (verdict === 'ok') === ref.ok && verdict !== 'error';
    check(agree, `${c.name}: page says ${verdict}, yardwatch-verify says ${ref.ok ? 'ok' : 'failed'}\n  page: ${problems.join('\n  ')}\n  reference:\n${ref.output}`);
    check([...ref.named].every((f) => named.has(f)) && [...named].every((f) => ref.named.has(f)),
      `${c.name}: page names [${[...named]}], yardwatch-verify names [${[...ref.named]}]`);
    check(errors.length === 0, `${c.name}: page errors: ${errors.join('; ')}`);
    if (ref.ok) {
      const fingerprint = await page.textContent('#device-fingerprint');
      check(ref.output.includes(fingerprint), `${c.name}: the page shows fingerprint ${fingerprint}`);
    }
    if (c.name === 'intact') {
      // Play the first (H.264) file and wait until a couple of seconds have really played.
      await page.click('#file-list li:first-child button.play');
      const played = await page.waitForFunction(() => {
        const v = document.getElementById('player');
        return v.currentTime >= 1.5 && v.videoWidth > 0 ? { t: v.currentTime, w: v.videoWidth, h: v.videoHeight } : null;
      }, null, { timeout: 30000 }).then((h) => h.jsonValue()).catch(async () => {
        return page.evaluate(() => {
          const v = document.getElementById('player');
          return { error: v.error && v.error.message, t: v.currentTime, ready: v.readyState };
        });
      });
      check(played.w === 160 && played.h === 120 && played.t >= 1.5,
        `intact: the video element plays the decrypted MP4 (${JSON.stringify(played)})`);
    }
    await page.close();
    console.log(`${c.name}: ${verdict} (yardwatch-verify: ${ref.ok ? 'ok' : 'failed'})`);
  }
  check(outside.length === 0, `requests outside file:/blob:/data: ${outside.join(', ')}`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
