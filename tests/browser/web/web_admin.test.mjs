// The web admin in a real browser: headless Debian chromium (playwright-core) against a real
// yardwatchd recording real RTSP cameras. One appliance and one daemon for the whole file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  datetimeLocal,
  Appliance, bin, launchBrowser, newPage, peerFingerprint, screenshotPath, seriousViolations,
  tlsHandshake, totp, waitFor, writeArtifact,
} from './fixture.mjs';

let appliance;
let browser;
const problems = [];
const secrets = {};
const passwords = {};
const timings = [];
// Signed-in pages kept open between tests (a TOTP code is accepted once; signing in again
// would mean waiting for the next 30-s step).
const open = {};

before(async () => {
  appliance = new Appliance();
  await appliance.start({ cameras: 2, segmentSeconds: 4 });
  ({ browser } = await launchBrowser());
});

after(async () => {
  if (timings.length) writeArtifact('first-frame.json', `${JSON.stringify(timings, null, 1)}\n`);
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

async function language(page) {
  return page.evaluate(() => document.documentElement.lang);
}

// Screenshots of a pre-application page in both languages (the switch on the page).
async function shotBothLanguages(page, name, ready) {
  const first = await language(page);
  await shot(page, `${first}-${name}`);
  await page.click('#switch-language');
  await page.waitForFunction((lang) => document.documentElement.lang !== lang, first);
  await ready();
  await shot(page, `${await language(page)}-${name}`);
  await page.click('#switch-language');
  await page.waitForFunction((lang) => document.documentElement.lang === lang, first);
  await ready();
}

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
    // Say what the page showed instead.
    await page.screenshot({ path: screenshotPath(`failure-${Date.now()}`), fullPage: true });
    const shown = await page.locator('body').innerText();
    throw new Error(`${error.message}\nthe page shows: ${shown.slice(0, 600)}`);
  }
}

// A new account's first steps: its own password, then TOTP where the role needs it.
async function firstSteps(page, name, temporary, { screenshots = false } = {}) {
  const password = `own-password-${String(Math.random()).slice(2, 10)}`;
  await page.waitForSelector('input[name=new-password-again]');
  if (screenshots) await shotBothLanguages(page, 'password-first', () => page.waitForSelector('input[name=new-password-again]'));
  await page.fill('input[name=password]', temporary);
  await page.fill('input[name=new-password]', password);
  await page.fill('input[name=new-password-again]', password);
  await page.click('button[type=submit]');
  passwords[name] = password;
  return password;
}

async function enrolTotp(page, name, { screenshots = false } = {}) {
  await page.waitForSelector('h1 >> text=/TOTP|Tweestap|Two-step/');
  if (screenshots) await shotBothLanguages(page, 'totp', () => page.waitForSelector('main button.primary'));
  await page.click('main button.primary');
  const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
  await page.fill('input[name=totp]', totp(secret));
  await page.click('form button[type=submit]');
  secrets[name] = secret;
  return secret;
}

// A code that the appliance has not seen yet: the next 30-s step (accepted within ±1 step).
const freshCode = (name) => totp(secrets[name], Date.now() / 1000 + 30);

async function apiJson(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const session = await (await fetch('/api/v1/session')).json();
    const response = await fetch(path, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    return { status: response.status, json };
  }, { method, path, body });
}

test('the browser gets the certificate whose fingerprint yardwatch status prints, over TLS 1.2+', async () => {
  const status = appliance.cliJson(['status']);
  const peer = await peerFingerprint(appliance.port);
  assert.equal(peer.fingerprint, status.web.certificate_sha256);
  assert.match(peer.protocol, /TLSv1\.[23]/);
  assert.equal(await tlsHandshake(appliance.port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }), false,
    'TLS 1.1 must be refused');
});

test('first run: the one-time setup code creates the first admin, who then sets up TOTP', async () => {
  const page = await newPage(browser, problems);
  await page.goto(`${appliance.origin}/`);
  await page.waitForSelector('input[name=setup-code]');
  assert.equal(await language(page), 'nl', 'Dutch is the default');
  await shotBothLanguages(page, 'first-run', () => page.waitForSelector('input[name=setup-code]'));
  await page.fill('input[name=setup-code]', appliance.setupCode);
  await page.fill('input[name=username]', 'ict-beheer');
  await page.fill('input[name=new-password]', 'admin-password-of-the-school');
  await page.click('button[type=submit]');
  await page.waitForSelector('input[name=totp]');
  await shotBothLanguages(page, 'sign-in', () => page.waitForSelector('input[name=totp]'));
  passwords['ict-beheer'] = 'admin-password-of-the-school';
  await signIn(page, 'ict-beheer', passwords['ict-beheer']);
  await enrolTotp(page, 'ict-beheer', { screenshots: true });
  await waitForDashboard(page);
  const accounts = appliance.cliJson(['user', 'list']).accounts;
  const admin = accounts.find((a) => a.name === 'ict-beheer');
  assert.equal(admin.role, 'admin');
  assert.equal(admin.totp, true);
  // The admin's overview shows a recent picture of each camera (setup preview), audited.
  await page.waitForFunction(() => {
    const figures = [...document.querySelectorAll('.still-figure')];
    return figures.length === 2 && figures.every((f) => f.dataset.loaded === 'true');
  }, null, { timeout: 20000 });
  const previews = appliance.cliJson(['audit', 'list', '--action', 'camera_preview']).entries;
  assert.ok(previews.some((e) => e.actor === 'ict-beheer' && e.outcome === 'allowed'));
  open['ict-beheer'] = page;
  assertNoProblems();
});

test('a director signs in with TOTP, gives a purpose and recorded footage plays; the journal holds the viewing', async () => {
  const temporary = appliance.addAccount('directeur', 'director');
  await appliance.waitForSegments('cam1', 2);
  const page = await newPage(browser, problems);
  await signIn(page, 'directeur', temporary);
  await firstSteps(page, 'directeur', temporary, { screenshots: true });
  await enrolTotp(page, 'directeur');
  await waitForDashboard(page);
  await page.click('#sign-out');
  await page.waitForSelector('input[name=username]');

  await signIn(page, 'directeur', passwords.directeur, freshCode('directeur'));
  await waitForDashboard(page);
  const cameras = await apiJson(page, 'GET', '/api/v1/cameras');
  const cam1 = cameras.json.cameras.find((c) => c.name === 'cam1');
  await page.goto(`${appliance.origin}/#/camera/${cam1.id}`);
  await page.waitForSelector('.timeline-segment');
  await page.click('#play-recorded');
  await page.waitForSelector('dialog[open] textarea[name=purpose]');
  await shot(page, 'nl-director-purpose');
  // Nothing plays before a purpose is given.
  assert.equal(await page.evaluate(() => document.querySelector('video').currentTime), 0);
  const purpose = 'Melding fietsdiefstal bij de stalling (browsertest)';
  await page.fill('textarea[name=purpose]', purpose);
  await page.click('#purpose-ok');
  await page.waitForFunction(() => document.querySelector('video').dataset.firstFrameMs);
  const start = await page.evaluate(() => document.querySelector('video').currentTime);
  await page.waitForFunction((t0) => {
    const video = document.querySelector('video');
    return !video.paused && video.currentTime > t0 + 0.5;
  }, start, { timeout: 15000 });
  timings.push({ what: 'recorded, today', ms: Number(await page.evaluate(() => document.querySelector('video').dataset.firstFrameMs)) });
  await shot(page, 'nl-director-playback');

  const audit = await apiJson(page, 'GET', '/api/v1/audit?action=viewing_open&actor=directeur');
  assert.equal(audit.status, 200);
  const opened = audit.json.entries.filter((e) => e.purpose === purpose && e.outcome === 'allowed');
  assert.equal(opened.length, 1, 'one viewing_open entry with the purpose');
  assert.equal(opened[0].camera, 'cam1');
  const segmentsRead = await apiJson(page, 'GET', '/api/v1/audit?action=view_recorded&actor=directeur');
  assert.ok(segmentsRead.json.entries.some((e) => e.purpose === purpose && e.outcome === 'allowed'),
    'each segment read is audited with the purpose');
  // Speed and seek work on the same viewing: back to the first second of the day's footage.
  await page.selectOption('.controls select', '2');
  assert.equal(await page.evaluate(() => document.querySelector('video').playbackRate), 2);
  const first = appliance.segments('cam1')[0];
  const dayStart = Date.parse(`${new Date(first.start_utc_us / 1000).toISOString().slice(0, 10)}T00:00:00Z`) * 1000;
  const target = Math.ceil((first.start_utc_us - dayStart) / 1e6) + 1;
  await page.evaluate((value) => {
    const seek = document.querySelector('.controls input[type=range]');
    seek.value = String(value);
    seek.dispatchEvent(new Event('change'));
  }, target);
  await page.waitForFunction((value) => {
    const video = document.querySelector('video');
    return Math.abs(video.currentTime - value) < 3 && !video.paused;
  }, target, { timeout: 10000 }).catch(async (error) => {
    const state = await page.evaluate(() => {
      const video = document.querySelector('video');
      const ranges = [];
      for (let i = 0; i < video.buffered.length; i += 1) ranges.push([video.buffered.start(i), video.buffered.end(i)]);
      return { time: video.currentTime, paused: video.paused, ready: video.readyState, ranges };
    });
    throw new Error(`${error.message}: seek target ${target}, ${JSON.stringify(state)}`);
  });
  // Playback runs on across the seams between the 4-s segments (the next one is fetched ahead).
  const seam = (first.end_utc_us - dayStart) / 1e6;
  try {
    await page.waitForFunction((t) => document.querySelector('video').currentTime > t + 1, seam, { timeout: 20000 });
  } catch (error) {
    const state = await page.evaluate(() => {
      const video = document.querySelector('video');
      const ranges = [];
      for (let i = 0; i < video.buffered.length; i += 1) ranges.push([video.buffered.start(i), video.buffered.end(i)]);
      return { time: video.currentTime, paused: video.paused, ready: video.readyState, ranges, error: video.error && video.error.message };
    });
    throw new Error(`${error.message}: target ${target}, ${JSON.stringify(state)}`);
  }
  open.directeur = page;
  assertNoProblems();
});

test('live view starts after a purpose and its picture advances', async () => {
  const page = open.directeur;
  const cameras = await apiJson(page, 'GET', '/api/v1/cameras');
  const cam2 = cameras.json.cameras.find((c) => c.name === 'cam2');
  await page.goto(`${appliance.origin}/#/camera/${cam2.id}`);
  await page.click('#play-live');
  await page.fill('textarea[name=purpose]', 'Live meekijken bij het hek (browsertest)');
  await page.click('#purpose-ok');
  await page.waitForFunction(() => document.querySelector('video').dataset.firstFrameMs, null, { timeout: 20000 });
  const t0 = await page.evaluate(() => document.querySelector('video').currentTime);
  // Past a segment boundary (segments are 4 s here): the picture must not freeze when the
  // recorder starts a new segment.
  await page.waitForFunction((t) => document.querySelector('video').currentTime > t + 5, t0, { timeout: 20000 });
  timings.push({ what: 'live', ms: Number(await page.evaluate(() => document.querySelector('video').dataset.firstFrameMs)) });
  const audit = await apiJson(page, 'GET', '/api/v1/audit?action=viewing_open&camera=cam2');
  assert.ok(audit.json.entries.some((e) => e.details.kind === 'live' && e.purpose.includes('hek')));
  await page.click('button:has-text("Weergave sluiten")');
  assertNoProblems();
});

test('a viewer sees only assigned cameras and gets 403 for another camera by id, audited', async () => {
  const temporary = appliance.addAccount('concierge', 'viewer', ['cam1']);
  await appliance.waitForSegments('cam2', 1);
  const page = await newPage(browser, problems);
  await signIn(page, 'concierge', temporary);
  await firstSteps(page, 'concierge', temporary);
  await waitForDashboard(page);
  const names = await page.locator('.camera-card h3').allTextContents();
  assert.deepEqual(names, ['cam1']);
  const listed = await apiJson(page, 'GET', '/api/v1/cameras');
  assert.deepEqual(listed.json.cameras.map((c) => c.name), ['cam1']);

  const all = appliance.cliJson(['camera', 'list']).cameras;
  const cam1 = all.find((c) => c.name === 'cam1');
  const cam2 = all.find((c) => c.name === 'cam2');
  const otherSegment = appliance.segments('cam2')[0];
  assert.equal((await apiJson(page, 'GET', `/api/v1/cameras/${cam2.id}`)).status, 403);
  const now = Date.now();
  const range = { from: new Date(now - 3600e3).toISOString(), to: new Date(now + 60e3).toISOString() };
  assert.equal((await apiJson(page, 'GET', `/api/v1/cameras/${cam2.id}/timeline?from=${range.from}&to=${range.to}`)).status, 403);
  assert.equal((await apiJson(page, 'POST', '/api/v1/viewings', { camera_id: cam2.id, kind: 'recorded', purpose: 'kijken bij camera 2', ...range })).status, 403);
  const own = await apiJson(page, 'POST', '/api/v1/viewings', { camera_id: cam1.id, kind: 'recorded', purpose: 'controle van camera 1', ...range });
  assert.equal(own.status, 201);
  const stolen = await page.evaluate(async (url) => (await fetch(url)).status,
    `/api/v1/viewings/${own.json.id}/segments/${otherSegment.id}`);
  assert.equal(stolen, 403);
  const ownSegment = own.json.segments[0];
  assert.equal(await page.evaluate(async (url) => (await fetch(url)).status, ownSegment.url), 200);
  open.concierge = page;

  const journal = appliance.cliJson(['audit', 'list', '--actor', 'concierge']).entries;
  const denied = journal.filter((e) => e.outcome === 'denied');
  assert.ok(denied.some((e) => e.action === 'view_recorded' && e.object_id === String(otherSegment.id) && e.camera === 'cam2'),
    'the segment of another camera was refused and audited');
  assert.ok(denied.some((e) => e.action === 'viewing_open' && e.camera === 'cam2'));
  assertNoProblems();
});

test('a director creates a police export through the wizard and yardwatch-verify passes on it', async () => {
  const page = open.directeur;
  const complete = appliance.segments('cam1');
  const from = datetimeLocal(Math.ceil(complete[0].start_utc_us / 1e6) * 1000);
  const to = datetimeLocal(Math.floor(complete[complete.length - 1].end_utc_us / 1e6) * 1000);
  const passphrase = 'paarse olifant fietst naar Utrecht';
  await page.goto(`${appliance.origin}/#/export`);
  await page.waitForSelector('input[name=case]');
  await page.fill('input[name=case]', 'PL0900-2026123456');
  await page.fill('input[name=legal-basis]', 'Vordering art. 126nd Sv, 2026/123');
  await page.click('#export-next');
  await page.fill('input[name=recipient]', 'Politie Midden-Nederland, agent J. de Vries');
  await page.click('#export-next');
  await page.check('input[name=camera][value=cam1]');
  await page.fill('input[name=from]', from);
  await page.fill('input[name=to]', to);
  await page.click('#export-next');
  await page.fill('input[name=passphrase]', passphrase);
  await page.fill('input[name=passphrase-again]', passphrase);
  await page.click('#export-next');
  await page.click('#export-next');  // the medium: the export directory
  await page.waitForSelector('.summary dl');
  await shot(page, 'nl-directeur-export-review');
  await page.click('#export-next');
  const receipt = await page.waitForSelector('[data-testid=receipt]', { timeout: 120000 });
  assert.match(await receipt.textContent(), /PL0900-2026123456/);
  await shot(page, 'nl-directeur-export-receipt');
  const directory = await receipt.getAttribute('data-directory');
  const exportId = await receipt.getAttribute('data-export-id');
  const pdf = await page.evaluate(async (id) => {
    const response = await fetch(`/api/v1/exports/${id}/receipt.pdf`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, type: response.headers.get('Content-Type'), head: String.fromCharCode(...bytes.slice(0, 5)) };
  }, exportId);
  assert.deepEqual(pdf, { status: 200, type: 'application/pdf', head: '%PDF-' });

  const passphraseFile = path.join(appliance.root, 'passphrase.txt');
  writeFileSync(passphraseFile, `${passphrase}\n`);
  const verified = spawnSync(bin.verify, [path.join(appliance.exports, directory), '--passphrase-file', passphraseFile], { encoding: 'utf8' });
  assert.equal(verified.status, 0, `yardwatch-verify: ${verified.stdout}\n${verified.stderr}`);
  const journal = appliance.cliJson(['audit', 'list', '--action', 'police_export']).entries;
  assert.ok(journal.some((e) => e.actor === 'directeur' && e.outcome === 'allowed' && e.purpose.includes('126nd')));
  assertNoProblems();
});

// Every page, for the roles that reach it, in Dutch and in English: screenshots (test
// artifacts), no untranslated text, no serious axe-core violation.
test('every page in Dutch and English, accessible', async () => {
  const privacyTemporary = appliance.addAccount('fg', 'privacy_officer');
  const walk = [
    { name: 'ict-beheer', pages: ['dashboard', 'cameras', 'accounts', 'audit', 'settings', 'camera'] },
    { name: 'directeur', pages: ['dashboard', 'camera', 'holds', 'export', 'audit', 'settings'] },
    { name: 'concierge', pages: ['dashboard', 'camera', 'holds', 'audit'] },
    { name: 'fg', pages: ['dashboard', 'holds', 'audit'] },
  ];
  const cameraId = appliance.cliJson(['camera', 'list']).cameras.find((c) => c.name === 'cam1').id;
  for (const who of walk) {
    let page = open[who.name];
    if (!page) {
      page = await newPage(browser, problems);
      await signIn(page, 'fg', privacyTemporary);
      await firstSteps(page, 'fg', privacyTemporary);
      await waitForDashboard(page);
    }
    for (const lang of ['nl', 'en']) {
      const changed = await apiJson(page, 'PUT', '/api/v1/account/language', { language: lang });
      assert.equal(changed.status, 200);
      for (const name of who.pages) {
        const hash = name === 'camera' ? `#/camera/${cameraId}` : `#/${name}`;
        await page.goto(`${appliance.origin}/${hash}`);
        await page.reload();
        await page.waitForFunction((l) => document.documentElement.lang === l, lang);
        await page.waitForSelector('main h1');
        await page.waitForFunction(() => !document.querySelector('main .loading'));
        await shot(page, `${lang}-${who.name}-${name}`);
      }
    }
    await page.context().close();
    delete open[who.name];
  }
  assertNoProblems();
});
