// The subject access export (R7, R11) in a real browser (headless Debian chromium via
// playwright-core) against a real yardwatchd recording a real RTSP camera (yardwatch-camsim): a
// director opens #/subject-export/<reference> for an access request registered at the console,
// draws the requester's box on a frame with the mouse, has the others blurred, steps through
// every frame (the confirmation stays disabled until the last one was shown), confirms the
// review, releases the bundle, and the real yardwatch-verify and the bundle's own verify.html
// accept it as a subject export of that request.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  datetimeLocal,
  Appliance, bin, launchBrowser, newPage, screenshotPath, seriousViolations,
} from './fixture.mjs';

let appliance;
let browser;
const problems = [];
const REFERENCE = 'AVG-2026-7';

before(async () => {
  appliance = new Appliance();
  await appliance.start({ cameras: 1, segmentSeconds: 2, width: 320, height: 180 });
  // Password-only sign-in for this test (TOTP enrolment is proven in web_admin.test.mjs).
  appliance.cli(['setting', 'set', 'policy.require_totp', '0']);
  ({ browser } = await launchBrowser());
});

after(async () => {
  if (browser) await browser.close();
  if (appliance) await appliance.stop();
});

// A datetime-local value (UTC: the browser runs in UTC) of a time in microseconds.
const local = (us) => datetimeLocal(us / 1000);

test('director draws the box, reviews every frame, releases; yardwatch-verify passes', async () => {
  const temporary = appliance.addAccount('directeur', 'director');
  await appliance.waitForSegments('cam1', 2);
  const page = await newPage(browser, problems);
  await page.goto(`${appliance.origin}/`);
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', 'directeur');
  await page.fill('input[name=password]', temporary);
  await page.click('button[type=submit]');
  const password = `own-password-${String(Math.random()).slice(2, 10)}`;
  await page.waitForSelector('input[name=new-password-again]');
  await page.fill('input[name=password]', temporary);
  await page.fill('input[name=new-password]', password);
  await page.fill('input[name=new-password-again]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav a[href="#/dashboard"]');

  // The access request, registered at the console by the same director.
  appliance.cli(['requests', 'add', '--user', 'directeur', '--password-stdin', '--reference', REFERENCE,
    '--kind', 'inzage', '--name', 'J. Jansen'], `${password}\n`);

  // One second of the first closed segment.
  const segment = appliance.segments('cam1')[0];
  const from = Math.ceil(segment.start_utc_us / 1e6) * 1e6;
  const to = from + 1e6;
  assert.ok(to <= segment.end_utc_us, 'the segment covers the range');

  await page.goto(`${appliance.origin}/#/subject-export/${REFERENCE}`);
  try {
    await page.waitForSelector('#subject-prepare');
  } catch (error) {
    await page.screenshot({ path: screenshotPath(`failure-subject-export-${Date.now()}`), fullPage: true });
    const shown = await page.locator('body').innerText();
    throw new Error(`${error.message}\nthe page shows: ${shown.slice(0, 600)}\n${problems.join('\n')}`);
  }
  assert.match(await page.textContent('#subject-request'), /AVG-2026-7/);
  await page.selectOption('select[name=camera]', 'cam1');
  await page.fill('input[name=from]', local(from));
  await page.fill('input[name=to]', local(to));
  await page.click('#subject-show-frame');
  await page.waitForSelector('#subject-stage:not([hidden])');
  await page.waitForFunction(() => document.getElementById('subject-still').naturalWidth > 0);

  // Draw the requester's box with the mouse.
  const stage = await page.locator('#subject-still').boundingBox();
  await page.mouse.move(stage.x + stage.width * 0.2, stage.y + stage.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(stage.x + stage.width * 0.35, stage.y + stage.height * 0.4, { steps: 3 });
  await page.mouse.move(stage.x + stage.width * 0.5, stage.y + stage.height * 0.7, { steps: 3 });
  await page.mouse.up();
  await page.waitForSelector('#subject-box:not([hidden])');
  // The typed fields follow the drawing (the keyboard alternative shows the same box).
  const typedX = Number(await page.inputValue('#subject-box-x'));
  const typedWidth = Number(await page.inputValue('#subject-box-width'));
  assert.ok(Math.abs(typedX - 20) < 2, `box left ${typedX}%`);
  assert.ok(Math.abs(typedWidth - 30) < 2, `box width ${typedWidth}%`);

  await page.click('#subject-redact');
  await page.waitForSelector('#subject-review:not([hidden])', { timeout: 120000 });
  await page.waitForSelector('#subject-frame-counter:has-text("1")');
  const counterText = await page.textContent('#subject-frame-counter');
  const frames = Number(/(\d+)\D+(\d+)/.exec(counterText)[2]);
  assert.ok(frames >= 20 && frames <= 30, `about 25 frames in one second, got ${frames}`);
  await page.screenshot({ path: screenshotPath('subject-export-review'), fullPage: true });

  // Step through every frame; the confirmation opens only after the last.
  for (let i = 1; i < frames; i += 1) {
    assert.equal(await page.isDisabled('#subject-confirm'), true, `confirm enabled after ${i} of ${frames} frames`);
    await page.click('#subject-next');
    await page.waitForFunction((n) => Number(/\d+/.exec(document.getElementById('subject-frame-counter').textContent)[0]) === n, i + 1);
  }
  await page.waitForSelector('#subject-confirm:not([disabled])');
  assert.match(await page.textContent('#subject-seen'), new RegExp(`${frames}\\D+${frames}`));
  await page.click('#subject-previous');  // back and forth is allowed
  await page.click('#subject-confirm');
  await page.waitForSelector('#subject-release-form:not([hidden])');

  const passphrase = 'vier woorden als wachtwoordzin';
  await page.fill('input[name=passphrase]', passphrase);
  await page.fill('input[name=passphrase-again]', passphrase);
  await page.click('#subject-release');
  await page.waitForSelector('[data-testid=subject-done]', { timeout: 120000 });
  const directory = await page.getAttribute('[data-testid=subject-done]', 'data-directory');
  await page.screenshot({ path: screenshotPath('subject-export-done'), fullPage: true });
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], 'axe-core: serious accessibility violations on the subject export page');

  const passphraseFile = path.join(appliance.root, 'passphrase.txt');
  writeFileSync(passphraseFile, `${passphrase}\n`);
  const verified = spawnSync(bin.verify, [path.join(appliance.exports, directory), '--passphrase-file', passphraseFile], { encoding: 'utf8' });
  assert.equal(verified.status, 0, `yardwatch-verify: ${verified.stdout}\n${verified.stderr}`);
  assert.match(verified.stdout, /SUBJECT ACCESS EXPORT \(inzage-export\) for request AVG-2026-7/);
  assert.match(verified.stdout, /RESULT: OK \(subject access export for request AVG-2026-7\)/);
  assert.deepEqual(problems.splice(0), [], 'the page logged errors (a missing translation is one)');
  await page.context().close();

  // The bundle's own verify.html, offline from file://: valid, and plainly a subject export of
  // this request (never shown as a police export).
  const bundle = path.join(appliance.exports, directory);
  const context = await browser.newContext();
  const verifier = await context.newPage();
  await verifier.goto(`file://${path.join(bundle, 'verify.html')}`);
  await verifier.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await verifier.setInputFiles('#files', readdirSync(bundle).map((name) => path.join(bundle, name)));
  await verifier.fill('#passphrase', passphrase);
  await verifier.click('#verify');
  await verifier.waitForSelector('#verdict[data-verdict="ok"], #verdict[data-verdict="failed"], #verdict[data-verdict="error"]', { timeout: 120000 });
  assert.equal(await verifier.getAttribute('#verdict', 'data-verdict'), 'ok', await verifier.textContent('#problems'));
  assert.equal(await verifier.getAttribute('#bundle-kind', 'data-kind'), 'subject_access');
  assert.match(await verifier.textContent('#bundle-kind'), /SUBJECT ACCESS EXPORT for request AVG-2026-7/);
  assert.match(await verifier.textContent('#report'), /Verzoek \/ request reference\s*AVG-2026-7/);
  assert.doesNotMatch(await verifier.textContent('#report'), /Zaak \/ case/);
  await verifier.screenshot({ path: screenshotPath('subject-export-verify-html'), fullPage: true });
  await context.close();
});
