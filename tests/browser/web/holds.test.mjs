// Holds in the web admin, in a real browser (headless Debian chromium via playwright-core)
// against a real yardwatchd recording real RTSP cameras: a director places a hold from a
// camera's timeline and exports that range (checked by the real yardwatch-verify); a viewer
// requests a hold and a director confirms it; the new pages in Dutch and English, accessible.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  datetimeLocal,
  Appliance, bin, launchBrowser, newPage, screenshotPath, seriousViolations, totp, waitFor,
} from './fixture.mjs';

let appliance;
let browser;
const problems = [];
const secrets = {};
const passwords = {};
const open = {};  // signed-in pages, by account (a TOTP code is accepted once)
let placed = null;  // the director's hold from the timeline

before(async () => {
  appliance = new Appliance();
  await appliance.start({ cameras: 2, segmentSeconds: 4 });
  ({ browser } = await launchBrowser());
});

after(async () => {
  for (const page of Object.values(open)) await page.context().close();
  if (browser) await browser.close();
  if (appliance) await appliance.stop();
});

function assertNoProblems() {
  const found = problems.splice(0);
  assert.deepEqual(found, [], 'the page logged errors (a missing translation is one)');
}

async function shot(page, name) {
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `axe-core: serious accessibility violations on ${name}`);
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes('⟦'), `untranslated text on ${name}`);
}

// The sign-in steps as in web_admin.test.mjs (kept here so that each file stands alone).
async function signIn(page, name, password, code = '') {
  await page.goto(`${appliance.origin}/`);
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', password);
  if (code) await page.fill('input[name=totp]', code);
  await page.click('button[type=submit]');
}

async function waitForDashboard(page) {
  try {
    await page.waitForSelector('#nav a[href="#/dashboard"]');
    await page.waitForSelector('#cameras-heading');
  } catch (error) {
    await page.screenshot({ path: screenshotPath(`failure-holds-${Date.now()}`), fullPage: true });
    const shown = await page.locator('body').innerText();
    throw new Error(`${error.message}\nthe page shows: ${shown.slice(0, 600)}`);
  }
}

async function firstSteps(page, name, temporary) {
  const password = `own-password-${String(Math.random()).slice(2, 10)}`;
  await page.waitForSelector('input[name=new-password-again]');
  await page.fill('input[name=password]', temporary);
  await page.fill('input[name=new-password]', password);
  await page.fill('input[name=new-password-again]', password);
  await page.click('button[type=submit]');
  passwords[name] = password;
}

async function enrolTotp(page, name) {
  await page.waitForSelector('h1 >> text=/TOTP|Tweestap|Two-step/');
  await page.click('main button.primary');
  const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
  await page.fill('input[name=totp]', totp(secret));
  await page.click('form button[type=submit]');
  secrets[name] = secret;
}

async function apiJson(page, method, url, body) {
  return page.evaluate(async ({ method, url, body }) => {
    const session = await (await fetch('/api/v1/session')).json();
    const response = await fetch(url, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    return { status: response.status, json };
  }, { method, url, body });
}

const cameraId = (name) => appliance.cliJson(['camera', 'list']).cameras.find((c) => c.name === name).id;
// HH:MM:SS of a UTC time (the browser runs in UTC, so its local day is the UTC day).
const clockOf = (us) => new Date(us / 1000).toISOString().slice(11, 19);
const wholeSecond = (us, up) => (up ? Math.ceil(us / 1e6) : Math.floor(us / 1e6)) * 1e6;

async function openCamera(page, name) {
  await page.goto(`${appliance.origin}/#/camera/${cameraId(name)}`);
  await page.waitForSelector('.timeline-segment');
}

test('director places hold from timeline then exports; yardwatch-verify passes', async () => {
  const temporary = appliance.addAccount('directeur', 'director');
  await appliance.waitForSegments('cam1', 3);
  const page = await newPage(browser, problems);
  await signIn(page, 'directeur', temporary);
  await firstSteps(page, 'directeur', temporary);
  await enrolTotp(page, 'directeur');
  await waitForDashboard(page);
  await page.click('#sign-out');
  await page.waitForSelector('input[name=username]');
  // Signing in again needs the TOTP code: a code of the next 30-s step (not yet used).
  await signIn(page, 'directeur', passwords.directeur, totp(secrets.directeur, Date.now() / 1000 + 30));
  await waitForDashboard(page);
  open.directeur = page;

  await openCamera(page, 'cam1');
  // Drag across the timeline over the footage: a range is chosen and shown.
  const segments = appliance.segments('cam1');
  const first = segments[0];
  const last = segments[segments.length - 1];
  const bar = await page.locator('.timeline-bar').boundingBox();
  const dayStart = Date.parse(`${new Date(first.start_utc_us / 1000).toISOString().slice(0, 10)}T00:00:00Z`) * 1000;
  const xOf = (us) => bar.x + ((us - dayStart) / 86400e6) * bar.width;
  // (Clamped to the bar: shortly after midnight the footage starts at its left edge.)
  await page.mouse.move(Math.max(bar.x + 2, xOf(first.start_utc_us) - 15), bar.y + bar.height / 2);
  await page.mouse.down();
  await page.mouse.move(xOf(first.start_utc_us), bar.y + bar.height / 2, { steps: 3 });
  await page.mouse.move(xOf(last.end_utc_us) + 15, bar.y + bar.height / 2, { steps: 3 });
  await page.mouse.up();
  await page.waitForSelector('.timeline-selection:not([hidden])');
  const dragged = await page.evaluate(() => [document.querySelector('input[name=selection-from]').value,
    document.querySelector('input[name=selection-to]').value]);
  assert.ok(dragged[0] && dragged[1] && dragged[0] < dragged[1], `drag chose ${dragged}`);
  assert.ok(dragged[0] <= clockOf(first.start_utc_us) && dragged[1] >= clockOf(last.end_utc_us),
    `the dragged range ${dragged} covers the footage ${clockOf(first.start_utc_us)}–${clockOf(last.end_utc_us)}`);
  // Then exactly the complete segments, typed into the fields (a segment still being recorded
  // cannot be exported yet).
  const fromUs = wholeSecond(first.start_utc_us, true);
  const toUs = wholeSecond(last.end_utc_us, false);
  await page.fill('input[name=selection-from]', clockOf(fromUs));
  await page.dispatchEvent('input[name=selection-from]', 'change');
  await page.fill('input[name=selection-to]', clockOf(toUs));
  await page.dispatchEvent('input[name=selection-to]', 'change');
  assert.match(await page.textContent('#selection-summary'), new RegExp(clockOf(toUs)));
  assert.equal(await page.locator('#request-hold').count(), 0, 'a director places, not requests');

  await page.click('#place-hold');
  await page.waitForSelector('dialog[open] textarea[name=hold-reason]');
  await shot(page, 'nl-directeur-hold-dialog');
  // Nothing is placed without a reason and a case.
  await page.click('#hold-dialog-ok');
  assert.equal(await page.locator('dialog[open]').count(), 1);
  await page.fill('textarea[name=hold-reason]', 'Vechtpartij bij de fietsenstalling, ouders ingelicht');
  await page.fill('input[name=hold-case]', 'INC-2026-017');
  await page.click('#hold-dialog-ok');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  await page.waitForSelector('.timeline-hold[data-kind=hold]');

  const holds = await apiJson(page, 'GET', '/api/v1/holds');
  assert.equal(holds.status, 200);
  assert.equal(holds.json.holds.length, 1);
  placed = holds.json.holds[0];
  assert.equal(placed.state, 'active');
  assert.deepEqual(placed.cameras, ['cam1']);
  assert.equal(placed.from_us, fromUs);
  assert.equal(placed.to_us, toUs);
  assert.equal(placed.case_reference, 'INC-2026-017');
  assert.equal(placed.created_by, 'directeur');
  const placedAudit = appliance.cliJson(['audit', 'list', '--action', 'hold_place']).entries;
  assert.ok(placedAudit.some((e) => e.actor === 'directeur' && e.outcome === 'allowed' && e.object_id === String(placed.id)));

  // The holds page lists it, with the director's actions.
  await page.goto(`${appliance.origin}/#/holds`);
  const row = page.locator(`tr[data-hold-id="${placed.id}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-state'), 'active');
  assert.match(await row.innerText(), /INC-2026-017/);
  assert.equal(await row.locator('button[data-action=release]').count(), 1);
  assert.equal(await row.locator('button[data-action=extend]').count(), 1);

  // Back on the timeline: the same range goes to the police export wizard.
  await openCamera(page, 'cam1');
  await page.fill('input[name=selection-from]', clockOf(fromUs));
  await page.dispatchEvent('input[name=selection-from]', 'change');
  await page.fill('input[name=selection-to]', clockOf(toUs));
  await page.dispatchEvent('input[name=selection-to]', 'change');
  await page.click('#export-range');
  await page.waitForSelector('input[name=case]');
  assert.equal(await page.inputValue('input[name=from]'), datetimeLocal(fromUs / 1000));
  assert.equal(await page.inputValue('input[name=to]'), datetimeLocal(toUs / 1000));
  assert.equal(await page.isChecked('input[name=camera][value=cam1]'), true);
  assert.equal(await page.isChecked('input[name=camera][value=cam2]'), false);
  const passphrase = 'groene kikker springt over de sloot';
  await page.fill('input[name=case]', 'INC-2026-017');
  await page.fill('input[name=legal-basis]', 'Vordering art. 126nd Sv, 2026/417');
  await page.click('#export-next');
  await page.fill('input[name=recipient]', 'Politie Midden-Nederland, agent R. Bakker');
  await page.click('#export-next');
  await page.click('#export-next');  // cameras and range: filled in from the timeline
  await page.fill('input[name=passphrase]', passphrase);
  await page.fill('input[name=passphrase-again]', passphrase);
  await page.click('#export-next');
  await page.click('#export-next');  // the medium: the export directory
  await page.waitForSelector('.summary dl');
  await page.click('#export-next');
  const receipt = await page.waitForSelector('[data-testid=receipt]', { timeout: 120000 });
  assert.match(await receipt.textContent(), /INC-2026-017/);
  const directory = await receipt.getAttribute('data-directory');

  const passphraseFile = path.join(appliance.root, 'hold-passphrase.txt');
  writeFileSync(passphraseFile, `${passphrase}\n`);
  const verified = spawnSync(bin.verify, [path.join(appliance.exports, directory), '--passphrase-file', passphraseFile], { encoding: 'utf8' });
  assert.equal(verified.status, 0, `yardwatch-verify: ${verified.stdout}\n${verified.stderr}`);
  // The export keeps its range under its own hold too; the director's hold is unchanged.
  const afterExport = await apiJson(page, 'GET', '/api/v1/holds');
  assert.ok(afterExport.json.holds.some((h) => h.id === placed.id && h.state === 'active'));
  assertNoProblems();
});

test('a viewer requests a hold from the timeline with the keyboard and a director confirms it', async () => {
  assert.ok(placed, 'runs after the director placed a hold');
  const temporary = appliance.addAccount('concierge', 'viewer', ['cam1']);
  const page = await newPage(browser, problems);
  await signIn(page, 'concierge', temporary);
  await firstSteps(page, 'concierge', temporary);
  await waitForDashboard(page);
  open.concierge = page;

  await openCamera(page, 'cam1');
  assert.equal(await page.locator('#place-hold').count(), 0, 'viewers only request');
  assert.equal(await page.locator('#export-range').count(), 0, 'viewers do not export');
  // Keyboard only: on the timeline, [ starts the range at the cursor, two minutes on, ] ends it.
  await page.focus('.timeline-bar');
  await page.keyboard.press('[');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press(']');
  await page.waitForSelector('.timeline-selection:not([hidden])');
  const range = await page.evaluate(() => [document.querySelector('input[name=selection-from]').value,
    document.querySelector('input[name=selection-to]').value]);
  await page.focus('#request-hold');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog[open] textarea[name=hold-reason]');
  await page.keyboard.type('Fiets gestolen uit de stalling, melding van een ouder');
  await page.keyboard.press('Tab');  // past the hint to the case field
  await page.fill('input[name=hold-case]', 'melding 12');
  await shot(page, 'nl-concierge-hold-request-dialog');
  await page.click('#hold-dialog-ok');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  await page.waitForSelector('.timeline-hold[data-kind=hold_request]');

  const mine = await apiJson(page, 'GET', '/api/v1/holds?state=pending');
  assert.equal(mine.status, 200);
  assert.equal(mine.json.holds.length, 1);
  const request = mine.json.holds[0];
  assert.equal(request.created_by, 'concierge');
  assert.equal(request.from.slice(11, 19), range[0]);
  assert.equal(request.to.slice(11, 19), range[1]);
  const pendingFor = Date.parse(request.pending_until) - Date.parse(request.created);
  assert.equal(pendingFor, 72 * 3600e3, 'a request keeps the footage for 72 hours');
  // The viewer sees the own request but may not decide on it, through the page or the API.
  await page.goto(`${appliance.origin}/#/holds`);
  const ownRow = page.locator(`tr[data-hold-id="${request.id}"]`);
  await ownRow.waitFor();
  assert.equal(await ownRow.getAttribute('data-state'), 'pending');
  assert.equal(await ownRow.locator('button').count(), 0);
  assert.equal((await apiJson(page, 'POST', `/api/v1/holds/${request.id}/confirm`, {})).status, 403);
  // A hold on a camera not assigned to the viewer: 403 by id, audited.
  const director = open.directeur;
  const now = Date.now();
  const other = await apiJson(director, 'POST', '/api/v1/holds', {
    cameras: ['cam2'], from: new Date(now - 600e3).toISOString(), to: new Date(now - 60e3).toISOString(),
    reason: 'Schade aan het hek, dader onbekend', case_reference: 'INC-2026-018',
    review_by: new Date(now + 14 * 86400e3).toISOString().slice(0, 10),
  });
  assert.equal(other.status, 201);
  const refused = await apiJson(page, 'GET', `/api/v1/holds/${other.json.id}`);
  assert.equal(refused.status, 403);
  assert.ok(!JSON.stringify(refused.json).includes('INC-2026-018'));
  const denied = appliance.cliJson(['audit', 'list', '--actor', 'concierge', '--action', 'hold_read']).entries;
  assert.ok(denied.some((e) => e.outcome === 'denied' && e.object_id === String(other.json.id) && e.camera === 'cam2'));

  // The director confirms the request on the holds page.
  await director.goto(`${appliance.origin}/#/holds/pending`);
  const row = director.locator(`tr[data-hold-id="${request.id}"]`);
  await row.waitFor();
  await row.locator('button[data-action=confirm]').click();
  await director.waitForSelector('dialog[open] input[name=review-by]');
  await shot(director, 'nl-directeur-confirm-dialog');
  await director.click('#confirm-dialog-ok');
  await director.waitForSelector('dialog[open]', { state: 'detached' });
  await director.waitForSelector('#holds-empty');  // no requests left
  const confirmed = await apiJson(director, 'GET', `/api/v1/holds/${request.id}`);
  assert.equal(confirmed.json.state, 'active');
  assert.equal(confirmed.json.decided_by, 'directeur');
  const audit = appliance.cliJson(['audit', 'list', '--action', 'hold_confirm']).entries;
  assert.ok(audit.some((e) => e.actor === 'directeur' && e.outcome === 'allowed' && e.object_id === String(request.id)));
  // The viewer now sees it active.
  await page.reload();
  await page.locator(`tr[data-hold-id="${request.id}"][data-state=active]`).waitFor();
  assertNoProblems();
});

test('the holds page and the timeline with a chosen range, in Dutch and English, accessible', async () => {
  const walk = [
    { name: 'directeur', place: true },
    { name: 'concierge', place: false },
  ];
  for (const who of walk) {
    const page = open[who.name];
    for (const lang of ['nl', 'en']) {
      const changed = await apiJson(page, 'PUT', '/api/v1/account/language', { language: lang });
      assert.equal(changed.status, 200);
      await page.goto(`${appliance.origin}/#/holds/all`);
      await page.reload();
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      await page.waitForSelector('table.holds-table');
      await shot(page, `${lang}-${who.name}-holds`);

      await openCamera(page, 'cam1');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      await page.waitForSelector('.timeline-hold');
      await page.focus('.timeline-bar');
      await page.keyboard.press('[');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press(']');
      await page.waitForSelector('.timeline-selection:not([hidden])');
      await shot(page, `${lang}-${who.name}-camera-range`);
      await page.click(who.place ? '#place-hold' : '#request-hold');
      await page.waitForSelector('dialog[open] textarea[name=hold-reason]');
      await shot(page, `${lang}-${who.name}-hold-dialog`);
      await page.click('dialog[open] button.secondary');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
    }
  }
  // Release, from the page, in English: the hold is released and the row says so.
  const page = open.directeur;
  await page.goto(`${appliance.origin}/#/holds/active`);
  const row = page.locator(`tr[data-hold-id="${placed.id}"]`);
  await row.waitFor();
  await row.locator('button[data-action=release]').click();
  await page.fill('textarea[name=release-text]', 'Case closed, footage handed over');
  await shot(page, 'en-directeur-release-dialog');
  await page.click('#release-dialog-ok');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  await waitFor('the released hold to leave the active list',
    async () => (await page.locator(`tr[data-hold-id="${placed.id}"]`).count()) === 0, 10000);
  const released = await apiJson(page, 'GET', `/api/v1/holds/${placed.id}`);
  assert.equal(released.json.state, 'released');
  assert.equal(released.json.released_by, 'directeur');
  assertNoProblems();
});
