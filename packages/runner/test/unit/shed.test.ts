// Shed load end to end: a workflow whose HTTP probe meets a real server on 127.0.0.1 that answers
// 429 to exactly every 4th operation. The runner's console probe table, the `shed` metric of its
// hypotheses, and report.json / summary.md / report.html all count exactly the refusals the
// server made, and availability still counts them as not served.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { httpProbe } from '@resilience/fixtures';
import { defineWorkflow, observe, steady } from '../../src/index.ts';
import { runOffline } from './support/offline.ts';

test.serial('a probe answered 429 on every 4th operation: shed in the console table, the hypotheses and every report format', async (t) => {
  let refused = 0;
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // Every 4th request by arrival, as a token bucket would refuse them.
      received += 1;
      if (received % 4 === 0) {
        refused += 1;
        res.writeHead(429, { 'retry-after': '1' }).end('{"error":"rate limited"}');
        return;
      }
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;

  const workflow = defineWorkflow<Record<string, never>, { url: string }>({
    name: 'shedding',
    description: 'a rate-limited HTTP endpoint under a steady probe',
    options: z.object({}).strict(),
    usage: '',
    timeoutMs: () => 5000,
    environment: async () => ({ handle: { url }, teardown: async () => undefined }),
    traffic: (env, _o, tr) => [{ probe: httpProbe({ name: tr.name('api'), url: env.url, intervalMs: 10, timeoutMs: 1000, now: tr.now }), scopes: ['app'] }],
    schedule: () => [steady(1500), observe(200)],
    hypotheses: () => ['shed(steady) >= 1', 'shed(steady) == 0', 'availability(steady) >= 99%'],
  });

  const { result, text } = await runOffline(workflow, ['--no-png']);

  // Ground truth: the server's own count. Every request has its sample (none timed out).
  const api = result.summary!.probes['api']!;
  t.true(refused >= 30, `${refused} refusals`);
  t.is(api.attempts, received, text);
  t.is(api.shed, refused);
  t.is(api.failures, refused);
  t.is(api.availability, (received - refused) / received);

  // Hypotheses: shed is a metric; shed operations are not served.
  const outcome = (name: string) => result.outcomes.find((o) => o.text === name)!;
  t.true(outcome('shed(steady) >= 1').ok);
  t.false(outcome('shed(steady) == 0').ok);
  t.is(outcome('shed(steady) == 0').observed, api.phases['steady']!.shed);
  t.false(outcome('availability(steady) >= 99%').ok, 'availability does not look better because load was shed');
  t.is(result.exitCode, 1);

  // Console: the probe table has a shed column with the count.
  const header = text.split('\n').find((l) => /^\s*probe\s+attempts\s+shed\s+availability/.test(l));
  t.truthy(header, text);
  const row = text.split('\n').find((l) => /^\s*api\s+[\d,]+\s+[\d,]+\s+[\d.]+ ?%/.test(l));
  t.truthy(row, text);
  t.is(Number(row!.trim().split(/\s+/)[2]!.replace(/,/g, '')), refused);

  // report.json: per probe and per phase.
  const report = JSON.parse(readFileSync(join(result.reportDir!, 'report.json'), 'utf8')) as { probes: { name: string; shed?: number; failures: number; phases: { phase: string; shed?: number }[] }[] };
  const probe = report.probes.find((p) => p.name === 'api')!;
  t.is(probe.shed, refused);
  t.is(probe.failures, refused);
  t.is(probe.phases.reduce((n, ph) => n + (ph.shed ?? 0), 0), refused);
  t.is(probe.phases.find((ph) => ph.phase === 'steady')!.shed, api.phases['steady']!.shed);

  // summary.md and report.html: a shed column in the probe tables with the count.
  const md = readFileSync(join(result.reportDir!, 'summary.md'), 'utf8');
  t.regex(md, /\| probe \| attempts \| failures \| shed \| availability \|/);
  t.true(md.includes(`| \`api\` | ${received.toLocaleString('en-US')} | **${refused}** | ${refused} |`), md);
  const html = readFileSync(join(result.reportDir!, 'report.html'), 'utf8');
  t.regex(html, /<th[^>]*>shed<\/th>/);
  t.regex(html, new RegExp(`\\(${refused} shed\\)`));
});
