#!/usr/bin/env node
// Time to first frame in the web admin: a director picks a day in the timeline, gives a purpose
// and plays; measured in the page from the purpose dialog's OK to the first presented video
// frame (requestVideoFrameCallback). Footage is recorded at simulated times (YARDWATCH_SIM_NOW)
// on several days of the last four weeks, plus today, with the demo's stream settings
// (1280×720 H.264, 2 Mbit/s, GOP 2 s, 60-s segments). Prints markdown rows to stdout.
//
//   YW_BINARY_DIR=build/test node tools/bench/bench_web_playback.mjs [--runs 5] [--days 27,20,13,6,1]
import { Appliance, launchBrowser, newPage, sleep, waitFor } from '../../tests/browser/web/fixture.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const runs = Number(option('--runs', '5'));
const daysBack = option('--days', '27,20,13,6,1').split(',').map(Number).sort((a, b) => b - a);
const pastSeconds = Number(option('--past-seconds', '25'));
const todaySeconds = Number(option('--today-seconds', '65'));

const appliance = new Appliance();
const problems = [];
let browser;
try {
  // Recording: the past days first (segments of a camera never go back in time), then today.
  const first = daysBack.length ? { YARDWATCH_SIM_NOW: new Date(Date.now() - daysBack[0] * 86400e3).toISOString() } : {};
  await appliance.start({ cameras: 1, segmentSeconds: 60, width: 1280, height: 720, bitrate: 2000, gop: 50, env: first });
  appliance.cli(['setting', 'set', 'policy.require_totp', '0']);
  appliance.cli(['user', 'add', '--name', 'bench-director', '--role', 'director', '--password-stdin'], 'temporary-password-1\n');
  appliance.cli(['user', 'passwd', '--user', 'bench-director'], 'temporary-password-1\ntime-to-first-frame-1\n');
  for (let i = 0; i < daysBack.length; i += 1) {
    if (i > 0) {
      await appliance.stopDaemon();
      await appliance.startDaemon(60, { YARDWATCH_SIM_NOW: new Date(Date.now() - daysBack[i] * 86400e3).toISOString() });
    }
    process.stderr.write(`recording ${pastSeconds} s at ${daysBack[i]} days ago…\n`);
    await sleep(pastSeconds * 1000);
  }
  await appliance.stopDaemon();
  await appliance.startDaemon(60);
  process.stderr.write(`recording ${todaySeconds} s today…\n`);
  await sleep(todaySeconds * 1000);
  const segments = appliance.cliJson(['segments', '--camera', 'cam1']).segments;

  ({ browser } = await launchBrowser());
  const page = await newPage(browser, problems);
  await page.goto(`${appliance.origin}/`);
  await page.fill('input[name=username]', 'bench-director');
  await page.fill('input[name=password]', 'time-to-first-frame-1');
  await page.click('button[type=submit]');
  await page.waitForSelector('#cameras-heading');
  const cameraId = appliance.cliJson(['camera', 'list']).cameras[0].id;

  console.log('| footage from | segment length s | segment MiB | runs | median ms | min ms | max ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const back of [...daysBack, 0]) {
    const day = new Date(Date.now() - back * 86400e3);
    const dayText = day.toISOString().slice(0, 10);
    const complete = segments.filter((s) => s.state === 'complete' && s.start.startsWith(dayText));
    const longest = complete.reduce((a, s) => (a && a.end_utc_us - a.start_utc_us >= s.end_utc_us - s.start_utc_us ? a : s), null);
    const times = [];
    for (let run = 0; run < runs; run += 1) {
      await page.goto(`${appliance.origin}/#/camera/${cameraId}`);
      await page.reload();
      await page.waitForSelector('input[type=date]');
      await page.fill('input[type=date]', dayText);
      await page.dispatchEvent('input[type=date]', 'change');
      await waitFor('the timeline', async () => (await page.locator('.timeline-segment').count()) > 0, 10000);
      await page.click('#play-recorded');
      await page.fill('textarea[name=purpose]', 'benchmark: time to first frame');
      await page.click('#purpose-ok');
      await page.waitForFunction(() => document.querySelector('video').dataset.firstFrameMs, null, { timeout: 20000 });
      times.push(Number(await page.evaluate(() => document.querySelector('video').dataset.firstFrameMs)));
      await page.click('button:has-text("Weergave sluiten")');
    }
    times.sort((a, b) => a - b);
    const label = back === 0 ? 'today' : `${back} days ago`;
    const seconds = longest ? ((longest.end_utc_us - longest.start_utc_us) / 1e6).toFixed(0) : '?';
    const mib = longest ? (longest.bytes / 1048576).toFixed(1) : '?';
    console.log(`| ${label} | ${seconds} | ${mib} | ${runs} | ${times[Math.floor(times.length / 2)]} | ${times[0]} | ${times[times.length - 1]} |`);
  }
  if (problems.length) process.stderr.write(`page problems: ${problems.join('; ')}\n`);
} finally {
  if (browser) await browser.close();
  await appliance.stop();
}
