// Failed browser journeys in the report: report.json lists the first 10 failed samples that name
// a screenshot (and how many there were), report.html inlines those PNGs from the run's folder
// as data: URLs (the page may load nothing), says which could not be shown and how many were
// left out. Paths outside the run's folder are never read. End to end: a real journey in
// Chromium, its samples through the real journal, its screenshot on the page.
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalEvent, SampleEvent } from '@resilience/fixtures/events';
import { Journal } from '@resilience/fixtures/journal';
import { browserJourney, toSampleEvent } from '@resilience/fixtures/probes';
import { createApp, loadConfig, serve, silentLogger } from '@resilience/sample-app';
import { main } from '../../src/cli.ts';
import { MAX_INLINE_SCREENSHOT_BYTES, buildReport, isReportFilePath, renderHtml, reportSchema, writeReport } from '../../src/index.ts';
import { tempDir } from '../support/journals.ts';
import { writeJournal } from '../support/scenarios.ts';

// A 1×1 PNG; each test file gets a different tail after IEND (ignored by decoders) so every
// inlined image can be matched to its file.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const pngOf = (i: number): Buffer => Buffer.concat([PNG, Buffer.from(`#${i}`)]);
const dataUrl = (bytes: Buffer): string => `data:image/png;base64,${bytes.toString('base64')}`;

function journey(i: number, extra: Partial<SampleEvent> = {}): SampleEvent {
  const intended = 1000 + i * 2000;
  return { type: 'sample', probe: 'web', op: 'journey open,place-order,find-order', intended, completed: intended + 1200 + i, ok: false, error: 'place-order: HTTP 503: { "error": "database not configured" }', screenshot: `screenshots/web-${String(i).padStart(6, '0')}.png`, ...extra };
}

/** A run folder: its journal with 12 failed journeys (files for all but #3, #4 not a PNG), plus samples that must not count. */
async function runFolder(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'screenshots'));
  for (let i = 0; i < 12; i++) {
    if (i === 3) continue;
    await writeFile(join(dir, `screenshots/web-${String(i).padStart(6, '0')}.png`), i === 4 ? 'not a png' : pngOf(i));
  }
  await writeFile(join(dir, 'secret.png'), pngOf(99));
  const events: JournalEvent[] = [
    { type: 'sample', probe: 'web', op: 'journey', intended: 0, completed: 700, ok: true },
    { type: 'sample', probe: 'web', op: 'journey', intended: 500, completed: 1500, ok: false, error: 'open: no screenshot dir' },
    // Paths that leave the run's folder are not read (a journal is not checked when written).
    { type: 'sample', probe: 'web', op: 'journey', intended: 600, completed: 900, ok: false, screenshot: '../secret.png' },
    { type: 'sample', probe: 'web', op: 'journey', intended: 700, completed: 900, ok: false, screenshot: join(dir, 'secret.png') },
    ...Array.from({ length: 12 }, (_, i) => journey(i)),
    { type: 'run-end', status: 'completed', at: 40_000 },
  ];
  await writeJournal(dir, events);
  return dir;
}

test('report.json: the first 10 failed journeys with a screenshot, and how many there were', async (t) => {
  const dir = await runFolder(t);
  const report = await buildReport({ journalPath: join(dir, 'journal.ndjson') });
  t.notThrows(() => reportSchema.parse(report));
  t.is(report.screenshots?.total, 12);
  t.deepEqual(report.screenshots?.shown.map((s) => s.file), Array.from({ length: 10 }, (_, i) => `screenshots/web-${String(i).padStart(6, '0')}.png`));
  t.deepEqual(report.screenshots?.shown[2], { probe: 'web', op: 'journey open,place-order,find-order', at: 5000, durationMs: 1202, error: 'place-order: HTTP 503: { "error": "database not configured" }', file: 'screenshots/web-000002.png' });
});

test('report.html written into the run folder inlines each PNG, names the missing and broken ones and counts those left out', async (t) => {
  const dir = await runFolder(t);
  const written = await writeReport(await buildReport({ journalPath: join(dir, 'journal.ndjson') }), dir, { png: false });
  const html = await readFile(written.html, 'utf8');
  const section = html.slice(html.indexOf('<section id="screenshots">'), html.indexOf('</section>', html.indexOf('<section id="screenshots">')));
  t.regex(section, /<h2>Failed journeys <span class="count">\(12\)<\/span><\/h2>/);
  const images = [...section.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
  t.deepEqual(images, [0, 1, 2, 5, 6, 7, 8, 9].map((i) => dataUrl(pngOf(i))), 'each image is its own file, in order');
  t.regex(section, /Screenshot <code>screenshots\/web-000003\.png<\/code>: file not found\./);
  t.regex(section, /Screenshot <code>screenshots\/web-000004\.png<\/code>: not a PNG\./);
  t.regex(section, /2 more failed journeys with a screenshot not shown here/);
  t.regex(section, /<strong>web<\/strong> · started [^<]+ · failed after 1\.20 s<br><code>place-order: HTTP 503: \{ &quot;error&quot;: &quot;database not configured&quot; \}<\/code>/);
  t.false(html.includes(dataUrl(pngOf(99))), 'a file outside screenshots named by an unsafe path is never read');
  // The page still loads nothing: every src is a data: URL, and the CSP allows only those for images.
  t.deepEqual([...html.matchAll(/\bsrc="([^"]*)"/g)].filter((m) => !m[1]!.startsWith('data:image/png;base64,')), []);
  t.regex(html, /img-src data:/);
});

test('written elsewhere, the report finds the screenshots only through attachmentsDir; the CLI passes the journal\'s folder', async (t) => {
  const dir = await runFolder(t);
  const report = await buildReport({ journalPath: join(dir, 'journal.ndjson') });
  const elsewhere = await tempDir(t);
  const without = await readFile((await writeReport(report, elsewhere, { png: false })).html, 'utf8');
  t.false(without.includes('<img src="data:'));
  t.regex(without, /web-000000\.png<\/code>: file not found/);
  const withDir = await readFile((await writeReport(report, elsewhere, { png: false, attachmentsDir: dir })).html, 'utf8');
  t.true(withDir.includes(dataUrl(pngOf(0))));
  const out: string[] = [];
  const code = await main([join(dir, 'journal.ndjson'), '--out', join(elsewhere, 'cli'), '--no-png'], { out: (l) => out.push(l), err: (l) => out.push(l) });
  t.is(code, 0, out.join('\n'));
  t.true((await readFile(join(elsewhere, 'cli', 'report.html'), 'utf8')).includes(dataUrl(pngOf(9))));
});

test('a PNG larger than the inline limit is named, not inlined; no screenshots: no section and no field', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'screenshots'));
  await writeFile(join(dir, 'screenshots/big.png'), Buffer.concat([PNG, Buffer.alloc(MAX_INLINE_SCREENSHOT_BYTES)]));
  const big = await buildReport({ journalPath: await writeJournal(dir, [journey(0, { screenshot: 'screenshots/big.png' }), { type: 'run-end', status: 'completed', at: 9000 }]) });
  t.regex(await renderHtml(big, { attachmentsDir: dir }), /big\.png<\/code>: too large to inline \(1024 kB\)/);
  const plain = await buildReport({ journalPath: await writeJournal(await tempDir(t), [{ type: 'sample', probe: 'web', op: 'journey', intended: 0, completed: 9, ok: false, error: 'open: x' }]) });
  t.false('screenshots' in plain);
  t.false((await renderHtml(plain)).includes('id="screenshots"'));
});

test('isReportFilePath: relative paths inside the folder to a .png only', (t) => {
  for (const ok of ['screenshots/web-000001.png', 'a.PNG']) t.true(isReportFilePath(ok), ok);
  for (const bad of ['', '/etc/x.png', '../x.png', 'screenshots/../../x.png', 'screenshots/./a.png', 'a\\b.png', 'x.jpg', 'screenshots/a.png\0']) t.false(isReportFilePath(bad), JSON.stringify(bad));
});

test.serial('end to end: a journey failing in Chromium leaves its screenshot, through the journal, on report.html', async (t) => {
  const app = await createApp(loadConfig({}), { log: silentLogger });
  const served = await serve(app, { host: '127.0.0.1', port: 0, log: silentLogger });
  t.teardown(() => served.close());
  const dir = await tempDir(t);
  const journal = await Journal.open(dir, { runId: 'journey-e2e', workflow: 'journey' });
  const probe = browserJourney({ name: 'web', url: served.url, reportDir: dir, intervalMs: 1000, now: () => journal.now() });
  let n = 0;
  probe.subscribe((s) => {
    n++;
    journal.write(toSampleEvent(s));
  });
  await probe.start();
  while (n < 2) await sleep(50);
  await probe.stop();
  journal.write({ type: 'run-end', status: 'completed', at: journal.now() });
  await journal.close();
  const report = await buildReport({ journalPath: journal.path });
  t.is(report.screenshots?.total, n);
  t.true(report.screenshots!.shown.every((s) => s.error === 'place-order: HTTP 503: { "error": "database not configured" }'));
  const html = await readFile((await writeReport(report, dir, { png: false })).html, 'utf8');
  t.true(html.includes(dataUrl(await readFile(join(dir, report.screenshots!.shown[0]!.file)))), 'the real screenshot is on the page');
});
