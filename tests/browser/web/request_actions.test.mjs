// Answering a data subject's request from the web admin (R7), in a real browser (headless Debian
// chromium via playwright-core) against a real yardwatchd recording a real RTSP camera: a
// director registers an erasure request, opens its page, restricts the footage, sees the erasure
// refused while the restriction is in force, lifts it, erases a range (after a confirmation that
// names it and says it cannot be undone), links an existing hold, and the register shows the
// linked actions. The
// segments really go; the audit journal names the request's reference. Dutch and English,
// axe-core.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Appliance, checkedShot, datetimeLocal, launchBrowser, newPage, setLanguage, visitIn, waitFor, waitShown } from './fixture.mjs';

let appliance;
let browser;
let page;
const problems = [];

before(async () => {
  appliance = new Appliance();
  await appliance.start({ cameras: 1, segmentSeconds: 3 });
  // TOTP sign-in is proven in web_admin.test.mjs; here the director signs in with a password.
  appliance.cli(['setting', 'set', 'policy.require_totp', '0']);
  ({ browser } = await launchBrowser());
});

after(async () => {
  if (page) await page.context().close();
  if (browser) await browser.close();
  if (appliance) await appliance.stop();
});

const shot = (name) => checkedShot(page, name);
const language = (lang) => setLanguage(page, lang);
const visit = (hash, lang) => visitIn(page, appliance.origin, hash, lang);
const present = (selector, options) => waitShown(page, selector, options, 'request-actions');
const ms = (iso) => Date.parse(iso);
const minute = (t) => new Date(Math.floor(t / 60000) * 60000).toISOString().slice(0, 16);

test('R7: a director restricts, then erases footage from an erasure request\'s page, and the register shows the linked actions', async () => {
  const password = appliance.addPersonalAccount('directeur', 'director');
  await appliance.waitForSegments('cam1', 3);
  const [first, second] = appliance.segments('cam1');
  const reference = 'AVG-2026-wissen';

  page = await newPage(browser, problems);
  await page.goto(`${appliance.origin}/`);
  await present('input[name=username]');
  await page.fill('input[name=username]', 'directeur');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await present('#cameras-heading');
  await language('nl');

  // Register the request, naming the minutes of footage it concerns.
  await visit('#/requests/open', 'nl');
  await page.click('#add-request');
  await present('dialog[open] input[name=request-reference]');
  await page.fill('input[name=request-reference]', reference);
  await page.selectOption('select[name=request-kind]', 'erasure');
  await page.fill('input[name=request-requester]', 'Ouder van een leerling uit groep 5');
  await page.fill('input[name=request-camera]', 'cam1');
  await page.fill('input[name=request-from]', minute(ms(first.start)));
  await page.fill('input[name=request-to]', minute(ms(first.start) + 10 * 60000));
  await page.click('#request-dialog-ok');
  const row = `tr[data-reference="${reference}"]`;
  await present(row);

  // Its page: the footage concerned, with restrict and erase pre-filled from it.
  await page.click(`${row} a[data-action=open]`);
  await present(`#request-heading[data-reference="${reference}"]`);
  await present('#request-actions-none');
  await shot('nl-request-page');

  // Restrict [first, second): the dialog starts from the request's range; the times are edited.
  await page.click('li[data-index="0"] button[data-action=restrict]');
  await present('dialog#restrict-dialog[open]');
  assert.equal(await page.inputValue('input[name=restrict-dialog-camera]'), 'cam1');
  assert.equal(await page.inputValue('input[name=restrict-dialog-from]'), minute(ms(first.start)));
  await page.fill('input[name=restrict-dialog-from]', datetimeLocal(Math.floor(ms(first.start) / 1000) * 1000));
  await page.fill('input[name=restrict-dialog-to]', datetimeLocal(Math.floor(ms(second.end) / 1000) * 1000));
  await page.fill('textarea[name=restrict-reason]', 'bezwaar: beelden blijven staan tot het besluit');
  await shot('nl-restrict-dialog');
  await page.click('#restrict-dialog-ok');
  await present('#request-restrictions tr[data-in-force=true]');
  await present('#request-actions li[data-kind=restriction]');

  // Erasing restricted footage: the confirmation names the range and says it cannot be undone;
  // the appliance refuses, and the refusal stays readable in the dialog. Nothing is erased.
  const eraseFrom = datetimeLocal(Math.floor(ms(first.start) / 1000) * 1000);
  const eraseTo = datetimeLocal(Math.floor((ms(first.end) + ms(second.end)) / 2000) * 1000);
  async function askToErase() {
    await page.click('li[data-index="0"] button[data-action=erase]');
    await present('dialog#erase-dialog[open]');
    await page.fill('input[name=erase-dialog-from]', eraseFrom);
    await page.fill('input[name=erase-dialog-to]', eraseTo);
    await page.click('#erase-dialog-ok');
    await present('dialog#erase-confirm-dialog[open]');
    const warning = await page.textContent('#erase-confirm-range');
    assert.ok(warning.includes('cam1') && warning.includes(reference), warning);
    assert.ok(warning.includes('niet ongedaan') || warning.includes('cannot be undone'), warning);
  }
  await askToErase();
  await shot('nl-erase-confirm-dialog');
  await page.click('#erase-confirm-dialog-ok');
  await present('dialog#erase-confirm-dialog[open] p.error:not([hidden])');
  const refusal = await page.textContent('dialog#erase-confirm-dialog p.error');
  assert.ok(refusal.includes('restriction'), refusal);
  await shot('nl-erase-refused');
  await page.click('dialog#erase-confirm-dialog button.secondary');
  await present('dialog#erase-confirm-dialog', { state: 'detached' });
  assert.ok(appliance.segments('cam1').some((s) => s.id === first.id), 'nothing erased while restricted');

  // Lift the restriction, then erase: the segment is gone.
  await page.click('#request-restrictions button[data-action=lift]');
  await present('dialog#lift-dialog[open]');
  await page.click('#lift-dialog-ok');
  await present('#request-restrictions tr[data-in-force=false]');
  await askToErase();
  await page.click('#erase-confirm-dialog-ok');
  await present('dialog#erase-confirm-dialog', { state: 'detached' });
  await present('#request-actions li[data-kind=erasure]');
  await waitFor('the first segment to be erased', () => !appliance.segments('cam1').some((s) => s.id === first.id), 10000);
  assert.ok(appliance.segments('cam1').some((s) => ms(s.start) >= ms(second.end)), 'later footage is kept');

  // A hold placed at the console, linked to the request by hand from its page.
  const reviewBy = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  const hold = JSON.parse(appliance.cli(['hold', 'add', '--user', 'directeur', '--password-stdin', '--camera', 'cam1',
    '--from', first.start, '--to', second.end, '--reason', 'vernieling bij het hek',
    '--case', '2026-117', '--review-by', reviewBy, '--json'], `${password}\n`));
  await page.click('#link-action');
  await present('dialog#link-dialog[open] select[name=link-object]');
  await page.selectOption('select[name=link-object]', `hold:${hold.id}`);
  await shot('nl-link-dialog');
  await page.click('#link-dialog-ok');
  await present('#request-actions li[data-kind=hold]');
  const kinds = await page.$$eval('#request-actions li', (items) => items.map((item) => item.dataset.kind));
  assert.deepEqual(kinds, ['restriction', 'restriction_lifted', 'erasure', 'hold']);

  // The register shows what was done, in both languages.
  for (const lang of ['nl', 'en']) {
    await language(lang);
    await visit('#/requests/all', lang);
    await present(`${row} .request-linked`);
    assert.equal(await page.getAttribute(`${row} .request-linked`, 'data-kinds'), 'restriction restriction_lifted erasure hold');
    await shot(`${lang}-requests-with-actions`);
    await page.click(`${row} a[data-action=open]`);
    await present('#request-actions li[data-kind=erasure]');
    await shot(`${lang}-request-page-answered`);
  }

  // The audit journal names the request's reference for each action.
  for (const action of ['footage_restrict', 'footage_unrestrict', 'footage_erase', 'request_link']) {
    const entries = appliance.cliJson(['audit', 'list', '--action', action]).entries;
    const allowed = entries.filter((e) => e.outcome === 'allowed' && e.actor === 'directeur');
    assert.equal(allowed.length, 1, action);
    assert.equal(allowed[0].purpose, reference, action);
  }
  const denied = appliance.cliJson(['audit', 'list', '--action', 'footage_erase']).entries
    .filter((e) => e.outcome === 'denied' && e.purpose === reference);
  assert.equal(denied.length, 1);
  assert.deepEqual(problems.splice(0), [], 'the page logged errors (a missing translation is one)');
});
