// What a pause really was, from a run's journal: the outage clients saw lies between the pause's
// inner span (freeze call returned → thaw called) and its outer span (freeze called → thaw
// returned); those calls take from a few to a few hundred ms on a busy host.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, type JournalEvent } from '@resilience/fixtures';

export interface PauseTruth {
  readonly inner: number;
  readonly outer: number;
  readonly freezeCallMs: number;
  readonly thawCallMs: number;
  /** Each probe's worst RTO from report.json. */
  readonly rtoMs: ReadonlyMap<string, number | null>;
}

/** The first fault's spans and the report's RTOs of a run's report folder; throws when the journal lacks the fault or its heal. */
export async function pauseTruth(dir: string): Promise<PauseTruth> {
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { probes: { name: string; rtoMs: number | null }[] };
  const events: JournalEvent[] = [];
  for await (const e of readJournal(join(dir, 'journal.ndjson'))) events.push(e);
  const injected = events.find((e) => e.type === 'fault-injected');
  const healed = events.find((e) => e.type === 'fault-healed');
  if (injected?.type !== 'fault-injected' || healed?.type !== 'fault-healed') throw new Error(`the journal of ${dir} has no fault and heal`);
  return {
    inner: (healed.at - healed.callMs!) - (injected.at + injected.callMs!),
    outer: healed.at - injected.at,
    freezeCallMs: injected.callMs!,
    thawCallMs: healed.callMs!,
    rtoMs: new Map(report.probes.map((p) => [p.name, p.rtoMs])),
  };
}
