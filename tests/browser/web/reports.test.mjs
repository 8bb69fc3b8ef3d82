// The reports page in a real browser (headless Debian chromium via playwright-core) against a
// real yardwatchd: a privacy officer sees "Rapporten" / "Reports" in the navigation, downloads
// the kwaliteitskaart as PDF (read back with pdftotext) and opens it as HTML; the page in Dutch
// and English, accessible (axe-core). A viewer has no such page and the API refuses them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Appliance, checkedShot, launchBrowser, newPage, screenshotPath, setLanguage } from './fixture.mjs';

let appliance;
let browser;
const problems = [];

before(async () => {
  appliance = new Appliance();
  await appliance.start({ cameras: 1, segmentSeconds: 4 });
  ({ browser } = await launchBrowser());
});

after(async () => {
  if (browser) await browser.close();
  if (appliance) await appliance.stop();
});

async function signInFirstTime(page, name, temporary) {
  await page.goto(`${appliance.origin}/`);
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', temporary);
  await page.click('button[type=submit]');
  const password = `own-password-${String(Math.random()).slice(2, 10)}`;
  await page.waitForSelector('input[name=new-password-again]');
  await page.fill('input[name=password]', temporary);
  await page.fill('input[name=new-password]', password);
  await page.fill('input[name=new-password-again]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav a[href="#/dashboard"]');
}

const shot = checkedShot;

test('a privacy officer downloads the kwaliteitskaart from the reports page, in Dutch and English', async () => {
  const temporary = appliance.addAccount('fg', 'privacy_officer');
  const page = await newPage(browser, problems);
  await signInFirstTime(page, 'fg', temporary);

  const expected = { nl: 'Rapporten', en: 'Reports' };
  for (const lang of ['nl', 'en']) {
    await setLanguage(page, lang);
    await page.goto(`${appliance.origin}/#/reports`);
    await page.reload();
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    try {
      await page.waitForSelector('#card-pdf', { timeout: 10000 });
    } catch (error) {
      throw new Error(`${error.message}\nthe page shows: ${(await page.locator('body').innerText()).slice(0, 600)}\nlogged: ${problems.join(' | ')}`);
    }
    assert.equal((await page.textContent('#nav a[href="#/reports"]')).trim(), expected[lang]);
    assert.equal((await page.textContent('main h1')).trim(), expected[lang]);
    await shot(page, `${lang}-fg-reports`);
  }

  // The PDF, as the browser downloads it.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#card-pdf')]);
  const file = screenshotPath('kwaliteitskaart').replace(/\.png$/, '.pdf');
  await download.saveAs(file);
  const text = spawnSync('/usr/bin/pdftotext', [file, '-'], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /Kwaliteitskaart/);
  assert.match(text.stdout, /cam1/);

  // The HTML as the browser shows it (its own CSP: inline style, no script), field by field
  // through the DOM: the camera with its zone and retention.
  const cardPage = await page.context().newPage();
  const cardProblems = [];
  cardPage.on('console', (message) => { if (message.type() === 'error') cardProblems.push(message.text()); });
  await cardPage.goto(`${appliance.origin}/api/v1/reports/kwaliteitskaart.html?lang=nl`);
  const camera = await cardPage.evaluate(() => {
    const section = document.querySelector('section[data-camera="cam1"]');
    return section && {
      zone: section.querySelector('[data-field="zone"]').textContent,
      retention: section.querySelector('[data-field="retention_days"]').textContent,
    };
  });
  assert.deepEqual(cardProblems, [], 'the card page logged errors (its style blocked?)');
  await cardPage.close();
  const listed = appliance.cliJson(['camera', 'list']).cameras.find((c) => c.name === 'cam1');
  assert.ok(camera, 'the card has a section for cam1');
  assert.equal(camera.zone, listed.zone);
  assert.equal(camera.retention, String(listed.retention_days));

  // The month picker points the access review at the month chosen.
  await page.fill('#review-month', '2026-01');
  assert.match(await page.getAttribute('#review-json', 'href'), /access-review\/2026-01\.json$/);
  assert.deepEqual(problems.splice(0), [], 'the page logged errors');
  await page.context().close();
});

test('a viewer has no reports page and the API refuses them', async () => {
  const temporary = appliance.addAccount('kijker', 'viewer', ['cam1']);
  const page = await newPage(browser, problems);
  await signInFirstTime(page, 'kijker', temporary);
  assert.equal(await page.locator('#nav a[href="#/reports"]').count(), 0);
  const status = await page.evaluate(async () => (await fetch('/api/v1/reports/kwaliteitskaart.pdf')).status);
  assert.equal(status, 403);
  problems.splice(0);
  await page.context().close();
});
