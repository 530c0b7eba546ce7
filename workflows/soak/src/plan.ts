// The soak's fault schedule, drawn from a seed: the same seed and options give the same
// schedule, printed at the start and stored in the journal. Times are from the first step.
import { seededRandom } from '@resilience/fixtures/faulty';
import { settleMs, type SoakKind, type SoakOptionsT } from './options.ts';

/** What a fault hits: a system's primary or one of its replicas, or every client connection. */
export type SoakTarget = 'postgres-primary' | 'postgres-replica' | 'redis-primary' | 'redis-replica' | 'clients';

export interface PlannedFault {
  /** 1-based, in time order. */
  readonly index: number;
  /** When it is due, ms from the first step. */
  readonly at: number;
  readonly kind: SoakKind;
  readonly target: SoakTarget;
  /** The system whose probes are judged on it. */
  readonly scope: 'postgres' | 'redis';
}

/** Time a fault needs after its hold before the run may end: recovery and full redundancy. */
export const RECOVERY_ROOM_MS = 30_000;

export function planFaults(o: Pick<SoakOptionsT, 'duration' | 'settle' | 'faults' | 'kinds' | 'seed' | 'hold'>): PlannedFault[] {
  const random = seededRandom(o.seed);
  /** A whole number from 0 to n - 1. */
  const pick = (n: number) => Math.floor(random() * n);
  const start = settleMs(o);
  const last = o.duration - o.hold - RECOVERY_ROOM_MS;
  const times: number[] = [];
  if (o.faults.type === 'every') {
    for (let t = start; t <= last; t += o.faults.periodMs) times.push(t);
  } else if (o.faults.type === 'poisson') {
    const perMs = o.faults.perHour / 3_600_000;
    // Exponential inter-arrival times; each fault keeps at least hold + 5 s from the one before.
    for (let t = start; ;) {
      t += Math.max(o.hold + 5_000, -Math.log(1 - random()) / perMs);
      if (t > last) break;
      times.push(Math.round(t));
    }
  }
  return times.map((at, i) => {
    const kind = o.kinds[pick(o.kinds.length)]!;
    if (kind === 'latency') return { index: i + 1, at, kind, target: 'clients', scope: 'postgres' };
    const scope = pick(2) === 0 ? 'postgres' : 'redis';
    const role = pick(2) === 0 ? 'primary' : 'replica';
    return { index: i + 1, at, kind, target: `${scope}-${role}`, scope };
  });
}

/** The schedule as lines, for the console, --dry-run and the report. */
export function describeFaults(plan: readonly PlannedFault[]): string[] {
  return plan.map((f) => `#${f.index} at ${clock(f.at)}: ${f.kind} on ${f.target}`);
}

export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
