import test from 'ava';
import type { RunSummary } from '@resilience/fixtures';
import { metricLookup, type Measurement } from '../../src/metrics.ts';

const summary = {
  phases: [{ name: 'steady' }],
  probes: {
    'sql-write': { attempts: 100, failures: 10, phases: { steady: { attempts: 50, failures: 0, latency: null } }, faults: [{ rtoMs: 9000, timeToDetectMs: 500 }], outageMs: 9000, latency: { p99Ms: 1000 } },
  },
} as unknown as RunSummary;
const measurements: Measurement[] = [
  { name: 'election', scope: 'postgres', iteration: 1, value: 8500, unit: 'ms', description: '' },
  { name: 'election', scope: 'redis', iteration: 1, value: 3100, unit: 'ms', description: '' },
];

test('a measurement is selected by its scope, or the worst of all scopes', (t) => {
  const lookup = metricLookup(summary, measurements);
  t.is(lookup('election', ['postgres']), 8500);
  t.is(lookup('election', ['redis']), 3100);
  t.is(lookup('election', []), 8500);
  t.is(lookup('election', ['etcd']), null);
});

test('probe metrics take phases and probe names; an unknown probe is not measured', (t) => {
  const lookup = metricLookup(summary, measurements);
  t.is(lookup('availability', ['steady']), 1);
  t.is(lookup('availability', []), 0.9);
  t.is(lookup('rto', ['sql-write']), 9000);
  t.is(lookup('p99', []), 1000);
  t.is(lookup('rto', ['no-such-probe']), null);
});
