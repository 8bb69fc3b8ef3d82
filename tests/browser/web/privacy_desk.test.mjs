// The privacy desk in the web admin (issue #8), in a real browser (headless Debian chromium via
// playwright-core) against a real yardwatchd recording a real RTSP camera: a director registers
// a data subject's request, finds it in the due list and extends it; registers a breach and
// records the decision; with four-eyes on, opening recorded footage asks for a second person, a
// second director signs in in that dialog and the video plays — also a second director with TOTP
// on, whose code goes in the dialog's TOTP field. Dutch and English, axe-core.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Appliance, checkedShot, launchBrowser, newPage, setLanguage, totp, visitIn, waitFor, waitShown } from './fixture.mjs';

let appliance;
let browser;
let page;
const problems = [];
const passwords = {};

before(async () => {
  appliance = new Appliance();
  await appliance.start({ cameras: 1, segmentSeconds: 4 });
  // TOTP sign-in is proven in web_admin.test.mjs; here both directors sign in with a password.
  appliance.cli(['setting', 'set', 'policy.require_totp', '0']);
  ({ browser } = await launchBrowser());
});

after(async () => {
  if (page) await page.context().close();
  if (browser) await browser.close();
  if (appliance) await appliance.stop();
});

function assertNoProblems() {
  const found = problems.splice(0);
  assert.deepEqual(found, [], 'the page logged errors (a missing translation is one)');
}

const shot = (name) => checkedShot(page, name);
const language = (lang) => setLanguage(page, lang);
const visit = (hash, lang) => visitIn(page, appliance.origin, hash, lang);
const present = (selector, options) => waitShown(page, selector, options, 'privacy-desk');
// A director whose own password is set at the console.
function director(name) {
  passwords[name] = appliance.addPersonalAccount(name, 'director');
}

const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

test('a director registers a request, finds it due, extends it; registers and decides a breach', async () => {
  director('directeur');
  page = await newPage(browser, problems);
  await page.goto(`${appliance.origin}/`);
  await present('input[name=username]');
  await page.fill('input[name=username]', 'directeur');
  await page.fill('input[name=password]', passwords.directeur);
  await page.click('button[type=submit]');
  await present('#cameras-heading');
  // No DPIA date recorded: the dashboard warns.
  await present('#dpia-warning[data-state=unknown]');

  for (const lang of ['nl', 'en']) {
    await language(lang);
    const reference = `AVG-2026-${lang}`;
    await visit('#/requests/open', lang);
    await present('#add-request');
    await page.click('#add-request');
    await present('dialog[open] input[name=request-reference]');
    await page.fill('input[name=request-reference]', reference);
    await page.selectOption('select[name=request-kind]', 'access');
    await page.fill('input[name=request-requester]', 'Ouder van een leerling uit groep 7');
    await page.fill('input[name=request-contact]', 'ouder@example.org');
    // Received 25 days ago: due in 3 days.
    await page.fill('input[name=request-received]', isoDay(Date.now() - 25 * 86400e3));
    await shot(`${lang}-request-dialog`);
    await page.click('#request-dialog-ok');
    await present(`tr[data-reference="${reference}"]`);

    // In the due list, with a link to the subject export of this access request.
    await page.selectOption('select[name=state]', 'due');
    const row = `tr[data-reference="${reference}"]`;
    await present(`${row}[data-status=due_soon]`);
    const link = await page.getAttribute(`${row} a[data-action=subject-export]`, 'href');
    assert.equal(link, `#/subject-export/${reference}`);
    await shot(`${lang}-requests-due`);
    const before = await page.textContent(`${row} .request-deadline`);

    await page.click(`${row} button[data-action=extend]`);
    await present('dialog[open] textarea[name=extend-reason]');
    await page.fill('textarea[name=extend-reason]', 'beelden van drie camera\'s moeten worden bekeken');
    await shot(`${lang}-request-extend-dialog`);
    await page.click('#extend-request-dialog-ok');
    // Extended to 12 weeks after receipt, it leaves the due list; the open list shows the date.
    await page.waitForFunction((r) => !document.querySelector(r), row);
    await page.selectOption('select[name=state]', 'open');
    await present(`${row}[data-status=open]`);
    assert.equal(await page.locator(`${row} button[data-action=extend]`).count(), 0, 'extended only once');
    const afterText = await page.textContent(`${row} .request-deadline`);
    assert.notEqual(afterText, before);
    assert.ok(afterText.includes(isoDay(Date.now() - 25 * 86400e3 + 84 * 86400e3)), afterText);

    // The breach register: register by hand, then decide.
    await visit('#/breaches', lang);
    await present('#register-breach');
    await page.click('#register-breach');
    await present('dialog[open] textarea[name=breach-description]');
    const description = `Geprinte still van het schoolplein gevonden op straat (${lang})`;
    await page.fill('textarea[name=breach-description]', description);
    await page.selectOption('select[name=breach-personal]', 'yes');
    await page.selectOption('select[name=breach-encrypted]', 'no');
    await shot(`${lang}-breach-dialog`);
    await page.click('#breach-dialog-ok');
    const breachRow = page.locator('tr', { hasText: description });
    await breachRow.waitFor();
    await shot(`${lang}-breaches`);

    // The dashboard shows the open 72-hour decision.
    await visit('#/dashboard', lang);
    await present('#breaches-open');

    await visit('#/breaches', lang);
    await breachRow.locator('button[data-action=decide]').click();
    await present('dialog[open] textarea[name=breach-reasoning]');
    await page.selectOption('select[name=breach-decision]', 'report');
    await page.fill('textarea[name=breach-reasoning]', 'Een herkenbaar kind op een still buiten de school');
    await shot(`${lang}-breach-decide-dialog`);
    await page.click('#decide-dialog-ok');
    await waitFor('the decision in the row', async () => (await breachRow.innerText()).includes('directeur'), 10000);
    assert.ok((await breachRow.locator('.breach-decision').innerText()).length > 0);
  }
  const decisions = appliance.cliJson(['audit', 'list', '--action', 'breach_decide']).entries;
  assert.equal(decisions.filter((e) => e.actor === 'directeur' && e.outcome === 'allowed').length, 2);
  assertNoProblems();
});

test('with four-eyes on, recorded footage plays after a second director signs in in the dialog', async () => {
  director('adjunct');
  appliance.cli(['setting', 'set', 'policy.four_eyes', '1']);
  await appliance.waitForSegments('cam1', 2);
  const cameraId = appliance.cliJson(['camera', 'list']).cameras.find((c) => c.name === 'cam1').id;
  for (const lang of ['nl', 'en']) {
    await language(lang);
    await visit(`#/camera/${cameraId}`, lang);
    await present('.timeline-segment');
    await page.click('#play-recorded');
    await present('dialog[open] textarea[name=purpose]');
    await page.fill('textarea[name=purpose]', `Melding fietsdiefstal bij de stalling (${lang})`);
    await page.click('#purpose-ok');
    // The appliance answers four_eyes_required: the second person's dialog opens.
    await present('dialog#four-eyes-dialog[open] input[name=second-password]');
    await shot(`${lang}-four-eyes-dialog`);
    // A wrong password is refused in the dialog, which stays open.
    await page.fill('input[name=second-name]', 'adjunct');
    await page.fill('input[name=second-password]', 'not-the-right-password');
    await page.click('#four-eyes-dialog-ok');
    await present('dialog#four-eyes-dialog[open] p.error:not([hidden])');
    assert.equal(await page.inputValue('input[name=second-password]'), '', 'the password field is emptied');
    await page.fill('input[name=second-password]', passwords.adjunct);
    await page.click('#four-eyes-dialog-ok');
    await present('dialog#four-eyes-dialog', { state: 'detached' });
    await page.waitForFunction(() => document.querySelector('video').dataset.firstFrameMs);
    const start = await page.evaluate(() => document.querySelector('video').currentTime);
    await page.waitForFunction((t0) => {
      const video = document.querySelector('video');
      return !video.paused && video.currentTime > t0 + 0.5;
    }, start, { timeout: 15000 });
  }
  const opened = appliance.cliJson(['audit', 'list', '--action', 'viewing_open']).entries
    .filter((e) => e.actor === 'directeur');
  const allowed = opened.filter((e) => e.outcome === 'allowed');
  assert.equal(allowed.length, 2);
  for (const entry of allowed) assert.equal(entry.details.four_eyes.approved_by, 'adjunct');
  // Alone (twice) and with the wrong password (twice): refused and on record.
  assert.equal(opened.filter((e) => e.outcome === 'denied').length, 4);
  assertNoProblems();
});

test('with four-eyes on, a second director with TOTP on approves with the code in the dialog', async () => {
  // The first test turned TOTP off as a requirement; this second person turns it on for herself.
  director('tweede');
  const enrolment = JSON.parse(appliance.cli(['user', 'totp-enrol', '--user', 'tweede', '--password-stdin', '--json'],
    `${passwords.tweede}\n`));
  appliance.cli(['user', 'totp-confirm', '--user', 'tweede', '--code', totp(enrolment.secret), '--password-stdin'],
    `${passwords.tweede}\n`);
  const cameraId = appliance.cliJson(['camera', 'list']).cameras.find((c) => c.name === 'cam1').id;
  await language('nl');
  await visit(`#/camera/${cameraId}`, 'nl');
  await present('.timeline-segment');
  await page.click('#play-recorded');
  await present('dialog[open] textarea[name=purpose]');
  await page.fill('textarea[name=purpose]', 'Melding vernieling bij het hek (tweede persoon met TOTP)');
  await page.click('#purpose-ok');
  await present('dialog#four-eyes-dialog[open] input[name=second-totp]');
  // Her password alone is not enough: refused in the dialog, which stays open.
  await page.fill('input[name=second-name]', 'tweede');
  await page.fill('input[name=second-password]', passwords.tweede);
  await page.click('#four-eyes-dialog-ok');
  await present('dialog#four-eyes-dialog[open] p.error:not([hidden])');
  const refusal = await page.textContent('dialog#four-eyes-dialog p.error');
  assert.ok(refusal.includes('TOTP'), refusal);
  // Password and a code the appliance has not seen yet (the next 30-s step, accepted ±1 step).
  await page.fill('input[name=second-password]', passwords.tweede);
  await page.fill('input[name=second-totp]', totp(enrolment.secret, Date.now() / 1000 + 30));
  await shot('nl-four-eyes-dialog-totp');
  await page.click('#four-eyes-dialog-ok');
  await present('dialog#four-eyes-dialog', { state: 'detached' });
  await page.waitForFunction(() => document.querySelector('video').dataset.firstFrameMs);
  const approved = appliance.cliJson(['audit', 'list', '--action', 'viewing_open']).entries
    .filter((e) => e.actor === 'directeur' && e.outcome === 'allowed' && e.details?.four_eyes?.approved_by === 'tweede');
  assert.equal(approved.length, 1);
  assertNoProblems();
});
