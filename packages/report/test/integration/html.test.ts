// report.html in real headless Chromium (Debian's /usr/bin/chromium, no Docker): the charts
// draw, the page is quiet (no errors, no requests), and report.png is saved next to it.
// Output is kept in dist/test-output/report/ for a look at the PNG.
import test from 'ava';
import { readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright';
import type { Browser } from 'playwright';
import { CHROMIUM_ARGS, buildReport, renderPng, writeReport } from '../../src/index.ts';
import type { Report } from '../../src/index.ts';
import { tempDir, writeFailoverJournal } from '../support/journals.ts';
import { drillEvents, twoFaultEvents, variantEvents, writeJournal } from '../support/scenarios.ts';

// The browser globals used inside page.evaluate (the project is type-checked without the DOM lib).
interface BrowserCanvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { readonly data: Uint8ClampedArray } } | null;
}
interface BrowserElement {
  readonly dataset: Record<string, string | undefined>;
  querySelector(selector: 'canvas'): BrowserCanvas | null;
}
declare const document: { querySelectorAll(selector: string): Iterable<BrowserElement>; querySelector(selector: string): { readonly firstElementChild: { readonly id: string } | null } | null; readonly documentElement: { readonly scrollWidth: number } };
declare function getComputedStyle(element: unknown): { readonly backgroundColor: string };

const OUTPUT = resolve(import.meta.dirname, '../../../../dist/test-output/report');

let browser: Browser;
test.before(async () => {
  await rm(OUTPUT, { recursive: true, force: true });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
test.after.always(async () => {
  await browser?.close();
});

/** Opens a report page and waits for its charts; page errors and console errors are collected. */
async function openReport(t: { teardown: (fn: () => Promise<void>) => void }, html: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => page.close());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(pathToFileURL(html).href);
  await page.waitForSelector('html[data-charts-ready="true"]', { state: 'attached', timeout: 10_000 });
  return { page, problems };
}

async function writeHtml(t: Parameters<typeof tempDir>[0], name: string, options: Parameters<typeof writeFailoverJournal>[1] = {}): Promise<{ report: Report; html: string; dir: string }> {
  const journalPath = await writeFailoverJournal(await tempDir(t), options);
  const report = await buildReport({
    journalPath,
    exitCode: options.crashAt === undefined ? 1 : null,
    measurements: [
      { name: 'leader-election', value: 8421, unit: 'ms', description: 'from the pause to the first write accepted by the new leader' },
      { name: 'lost-writes', value: 0, unit: 'rows', description: 'acknowledged ids missing after recovery' },
    ],
  });
  const dir = join(OUTPUT, name);
  const { html } = await writeReport(report, dir, { png: false });
  return { report, html, dir };
}

interface CanvasInfo {
  readonly probe: string;
  readonly width: number;
  readonly height: number;
  readonly painted: number;
  readonly colors: Record<'p50' | 'p99' | 'success' | 'fault', number>;
}

test('report.html draws one non-blank chart per probe, with no errors and no requests', async (t) => {
  const { report, html, dir } = await writeHtml(t, 'failover');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => page.close());
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(html).href;
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('html[data-charts-ready="true"]', { state: 'attached', timeout: 10_000 });

  const canvases = await page.evaluate(() => {
    const near = (r: number, g: number, b: number, c: readonly number[]) => Math.abs(r - c[0]!) + Math.abs(g - c[1]!) + Math.abs(b - c[2]!) < 60;
    return [...document.querySelectorAll('.chart')].map((chart) => {
      const canvas = chart.querySelector('canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      const colors = { p50: 0, p99: 0, success: 0, fault: 0 };
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
        if (a === 0 || (r > 245 && g > 245 && b > 245)) continue;
        painted += 1;
        if (near(r, g, b, [37, 99, 235])) colors.p50 += 1;
        if (near(r, g, b, [147, 51, 234])) colors.p99 += 1;
        if (near(r, g, b, [22, 163, 74])) colors.success += 1;
        if (near(r, g, b, [207, 34, 46]) || near(r, g, b, [220, 38, 38])) colors.fault += 1;
      }
      return { probe: chart.dataset.probe ?? '', width: canvas.width, height: canvas.height, painted, colors };
    });
  }) as CanvasInfo[];

  t.deepEqual(canvases.map((c) => c.probe), report.probes.map((p) => p.name));
  for (const c of canvases) {
    t.true(c.width > 600 && c.height > 200, `${c.probe}: ${c.width}×${c.height}`);
    t.true(c.painted > 5000, `${c.probe}: only ${c.painted} painted pixels`);
    // Each series and the fault marks are really drawn, not just axes.
    for (const [series, n] of Object.entries(c.colors)) t.true(n > 100, `${c.probe}: ${n} pixels of ${series}`);
  }
  t.deepEqual(problems, []);
  t.deepEqual(requests, [url]);

  // The PNG, next to the report.
  const png = join(dir, 'report.png');
  const rendered = await renderPng(html, png);
  t.deepEqual([...rendered.consoleErrors, ...rendered.pageErrors, ...rendered.requests], []);
  const bytes = await readFile(png);
  t.true(bytes.length > 10 * 1024, `${bytes.length} bytes`);
  t.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  t.is(bytes.readUInt32BE(16), 1280, 'PNG width');
  t.true(bytes.readUInt32BE(20) > 2000, 'full page height');
  t.log(`report.png ${bytes.length} bytes, ${bytes.readUInt32BE(16)}×${bytes.readUInt32BE(20)}: ${png}`);
});

test('an interrupted run renders with an amber verdict and a banner', async (t) => {
  const { html, dir } = await writeHtml(t, 'interrupted', { crashAt: 4000, tornLine: true });
  const { page, problems } = await openReport(t, html);
  t.is(await page.locator('.verdict .word').textContent(), 'INTERRUPTED');
  t.is(await page.locator('.verdict .badge').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(191, 135, 0)');
  t.regex((await page.locator('.banner').textContent()) ?? '', /interrupted: its journal ends at t\+3\.\d\d s without a run-end event/);
  t.is(await page.locator('.chart canvas').count(), 2);
  t.deepEqual(problems, []);
  const rendered = await renderPng(html, join(dir, 'report.png'));
  t.deepEqual([...rendered.consoleErrors, ...rendered.pageErrors, ...rendered.requests], []);
});

test('writeReport with png renders report.png and reports no page problems', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const report = await buildReport({ journalPath });
  const dir = join(OUTPUT, 'write-report');
  const written = await writeReport(report, dir, { png: true });
  t.is(written.png, join(dir, 'report.png'));
  t.deepEqual(written.pageProblems, []);
  t.true((await stat(written.png!)).size > 10 * 1024);
});

// Serial (ava runs serial tests before the others): it changes CHROMIUM_PATH, which the other tests read.
test.serial('renderPng with a missing Chromium throws a SetupError saying how to fix it', async (t) => {
  const { html, dir } = await writeHtml(t, 'no-chromium');
  const saved = process.env.CHROMIUM_PATH;
  process.env.CHROMIUM_PATH = '/nonexistent/chromium';
  t.teardown(() => {
    if (saved === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved;
  });
  const error = await t.throwsAsync(renderPng(html, join(dir, 'report.png')));
  t.is(error?.name, 'SetupError');
  t.regex(error!.message, /\/nonexistent\/chromium[\s\S]*--no-png/);
  t.is((error as { exitCode?: number }).exitCode, 2);
});

test('findings lead the page: a red banner above the verdict, evidence readable; the variant table renders', async (t) => {
  const dir = join(OUTPUT, 'findings');
  const report = await buildReport({ journalPath: await writeJournal(await tempDir(t), twoFaultEvents()) });
  const { html } = await writeReport(report, dir, { png: false });
  const { page, problems } = await openReport(t, html);
  t.is(await page.evaluate(() => document.querySelector('main')?.firstElementChild?.id), 'findings');
  const banner = page.locator('#findings');
  t.is(await banner.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(255, 235, 233)');
  const box = await banner.boundingBox();
  t.true(box !== null && box.y < 40 && box.height > 100, JSON.stringify(box));
  t.is(await page.locator('.finding.critical .pill').textContent(), 'CRITICAL');
  t.is(await page.locator('.finding.critical .pill').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(207, 34, 46)');
  t.is(await page.locator('.finding.warning .pill').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(191, 135, 0)');
  t.regex((await page.locator('.finding.critical pre').first().textContent()) ?? '', /<script>alert\("evidence"\)<\/script>/);
  t.is(await page.locator('#tile-rto .value').textContent(), 'not recovered');
  t.deepEqual(problems, []);
  const rendered = await renderPng(html, join(dir, 'report.png'));
  t.deepEqual([...rendered.consoleErrors, ...rendered.pageErrors, ...rendered.requests], []);

  const variants = await buildReport({ journalPath: await writeJournal(await tempDir(t), variantEvents()) });
  const written = await writeReport(variants, join(OUTPUT, 'variants'), { png: true });
  t.deepEqual(written.pageProblems, []);
});

test('the Evidence section renders its tables under their titles, inside the page width, with no page problems', async (t) => {
  const dir = join(OUTPUT, 'evidence');
  const report = await buildReport({ journalPath: await writeJournal(await tempDir(t), drillEvents()) });
  const written = await writeReport(report, dir, { png: true });
  t.deepEqual(written.pageProblems, []);
  const { page, problems } = await openReport(t, written.html);
  const section = page.locator('#evidence');
  t.deepEqual(await section.locator('h4').allTextContents(), ['Backups in the repository', 'Restore steps', 'Rows after the restore']);
  t.is(await section.locator('table').nth(1).locator('tbody tr').count(), 3);
  t.regex((await section.locator('table').nth(2).textContent()) ?? '', /<\/table><script>alert\("evidence"\)<\/script>/, 'shown as text');
  const box = await section.boundingBox();
  t.true(box !== null && box.x >= 0 && box.x + box.width <= 1280, JSON.stringify(box));
  t.is(await page.evaluate(() => document.documentElement.scrollWidth), 1280, 'no horizontal scroll');
  t.deepEqual(problems, []);
});
