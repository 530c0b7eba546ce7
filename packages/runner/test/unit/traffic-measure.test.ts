// Traffic.measure: what a probe (pair) measured of its own operations is read once after the
// schedule, with the probes stopped, and journaled as the runner's measurements and findings,
// with the variant added; a hypothesis can judge it; a hook that throws leaves it unmeasured.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Probe, type JournalEvent } from '@resilience/fixtures';
import { defineWorkflow, steady, type TrafficMeasures } from '../../src/index.ts';
import { runOffline } from './support/offline.ts';

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false);
const Options = z.object({ variants: z.coerce.number().default(1), broken: flag }).strict();

/** One read probe whose hook reports how many operations it had run when it was asked, and when. */
function workflow(calls: { operations: number; stopped: boolean }[]) {
  return defineWorkflow<z.infer<typeof Options>, undefined>({
    name: 'measured',
    description: 'a run whose traffic measures itself',
    options: Options,
    usage: '',
    metrics: [{ name: 'operationsSeen', unit: 'count', description: 'operations the probe had run when asked' }],
    variants: (o) => (o.variants > 1 ? ['a', 'b'] : []),
    timeoutMs: () => 5000,
    environment: async () => ({ handle: undefined, teardown: async () => undefined }),
    traffic: (_env, o, t) => {
      let operations = 0;
      const probe = new Probe({ name: t.name('reader'), op: 'read', intervalMs: 10, timeoutMs: 100, now: t.now, run: async () => { operations++; } });
      return [{
        probe, scopes: [],
        measure: (): TrafficMeasures => {
          calls.push({ operations, stopped: probe.state !== 'running' });
          if (o.broken) throw new Error('the tally is gone');
          return {
            measurements: [{ name: 'operationsSeen', scope: 'reader', value: operations, unit: 'count', description: 'operations the probe had run when asked' }],
            findings: [{ id: `seen:${probe.name}`, kind: 'traffic-finding', severity: 'warning', scope: 'reader', at: t.now(), title: `${operations} operations`, detail: 'from the hook', evidence: [] }],
          };
        },
      }];
    },
    schedule: () => [steady(250)],
    hypotheses: () => ['operationsSeen(reader) >= 1'],
  });
}

async function run(argv: string[]) {
  const calls: { operations: number; stopped: boolean }[] = [];
  const { result, text } = await runOffline(workflow(calls), argv);
  if (!result.reportDir) throw new Error(`no report: ${text}`);
  const events = readFileSync(join(result.reportDir, 'journal.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalEvent);
  return { result, text, calls, events };
}

test.serial('the hook is read once after the probes stopped; its measurement and finding are journaled and judged', async (t) => {
  const { result, text, calls, events } = await run([]);
  t.is(result.exitCode, 0, text);
  t.is(calls.length, 1);
  t.true(calls[0]!.stopped, 'the probe had stopped when the hook was read');
  const samples = result.summary!.probes['reader']!.attempts;
  t.true(samples >= 10, String(samples));
  // Every operation the probe ran has its sample in the analysis: the hook saw the finished traffic, not part of it.
  const measured = events.filter((e) => e.type === 'measurement' && e.name === 'operationsSeen');
  t.deepEqual(measured.map((e) => e.type === 'measurement' && [e.scope, e.value]), [['reader', samples]]);
  t.deepEqual(result.findings.map((f) => [f.id, f.kind, f.title]), [['seen:reader', 'traffic-finding', `${samples} operations`]]);
  t.like(result.outcomes.find((o) => o.text === 'operationsSeen(reader) >= 1'), { ok: true, observed: samples });
});

test.serial('variants: one reading per variant, each with its variant', async (t) => {
  const { result, calls, events } = await run(['--variants', '2']);
  t.is(calls.length, 2);
  const measured = events.filter((e) => e.type === 'measurement' && e.name === 'operationsSeen');
  t.deepEqual(measured.map((e) => e.type === 'measurement' && e.variant), ['a', 'b']);
  t.deepEqual(result.findings.map((f) => [f.id, f.variant]), [['seen:reader@a', 'a'], ['seen:reader@b', 'b']]);
});

test.serial('a hook that throws is reported; its metric is unmeasured and fails the hypothesis on it', async (t) => {
  const { result, text, events } = await run(['--broken']);
  t.regex(text, /measuring reader failed: .*the tally is gone/);
  t.false(events.some((e) => e.type === 'measurement' && e.name === 'operationsSeen'));
  t.like(result.outcomes.find((o) => o.text === 'operationsSeen(reader) >= 1'), { ok: false, observed: null });
  t.is(result.exitCode, 1);
});
