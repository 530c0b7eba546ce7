// The report's tables as plain data, so summary.md and report.html show the same rows and
// each renderer only decides how a cell looks.
import { NONE, formatAt, formatCount, formatMs, formatRatio, formatScalar } from './format.ts';
import type { Report } from './schema.ts';

export type Tone = 'ok' | 'bad' | 'warn' | 'muted';

export interface Cell {
  readonly text: string;
  readonly tone?: Tone;
  /** Shown as a status badge (an emoji in Markdown, a pill in HTML). */
  readonly badge?: boolean;
  /** Kept as code (monospace) in both renderers. */
  readonly code?: boolean;
}

export interface Column {
  readonly label: string;
  readonly numeric?: boolean;
}

export interface Table {
  readonly id: string;
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Cell[])[];
  /** Shown instead of an empty table. */
  readonly empty: string;
}

const cell = (text: string, extra: Omit<Cell, 'text'> = {}): Cell => ({ text, ...extra });

export function hypothesesTable(report: Report): Table {
  return {
    id: 'hypotheses',
    title: 'Hypotheses',
    columns: [{ label: 'result' }, { label: 'hypothesis' }, { label: 'observed', numeric: true }, { label: 'threshold', numeric: true }, { label: 'description' }],
    rows: report.verdict.hypotheses.map((h) => [
      cell(h.ok ? 'held' : 'failed', { tone: h.ok ? 'ok' : 'bad', badge: true }),
      cell(h.name, { code: true }),
      cell(formatScalar(h.observed, h.unit), h.ok ? {} : { tone: 'bad' }),
      cell(formatScalar(h.threshold, h.unit)),
      cell(h.description),
    ]),
    empty: 'No hypotheses were checked.',
  };
}

export function probesTable(report: Report): Table {
  return {
    id: 'probes',
    title: 'Probes',
    columns: [
      { label: 'probe' }, { label: 'attempts', numeric: true }, { label: 'failures', numeric: true },
      { label: 'availability', numeric: true }, { label: 'p50', numeric: true }, { label: 'p99', numeric: true },
      { label: 'outage', numeric: true }, { label: 'time to detect', numeric: true }, { label: 'RTO', numeric: true },
    ],
    rows: report.probes.map((p) => [
      cell(p.name, { code: true }),
      cell(formatCount(p.attempts)),
      cell(formatCount(p.failures), p.failures > 0 ? { tone: 'bad' } : {}),
      cell(formatRatio(p.availability), p.availability !== null && p.availability < 1 ? { tone: 'warn' } : {}),
      cell(formatMs(p.latency?.p50Ms)),
      cell(formatMs(p.latency?.p99Ms)),
      cell(formatMs(p.outageMs), p.outageMs > 0 ? { tone: 'warn' } : {}),
      cell(formatMs(p.timeToDetectMs)),
      cell(rtoText(p.recoveries[0] ?? null), p.recoveries[0]?.status === 'not-recovered' ? { tone: 'bad' } : {}),
    ]),
    empty: 'No probe recorded a sample.',
  };
}

export function probePhasesTable(report: Report): Table {
  return {
    id: 'probe-phases',
    title: 'Per phase',
    columns: [
      { label: 'probe' }, { label: 'phase' }, { label: 'attempts', numeric: true }, { label: 'availability', numeric: true },
      { label: 'p50', numeric: true }, { label: 'p95', numeric: true }, { label: 'p99', numeric: true },
      { label: 'p99.9', numeric: true }, { label: 'max', numeric: true },
    ],
    rows: report.probes.flatMap((p) => p.phases.map((ph) => [
      cell(p.name, { code: true }),
      cell(ph.phase),
      cell(formatCount(ph.attempts)),
      cell(formatRatio(ph.availability), ph.availability !== null && ph.availability < 1 ? { tone: 'warn' } : {}),
      cell(formatMs(ph.latency?.p50Ms)),
      cell(formatMs(ph.latency?.p95Ms)),
      cell(formatMs(ph.latency?.p99Ms)),
      cell(formatMs(ph.latency?.p999Ms)),
      cell(formatMs(ph.latency?.maxMs)),
    ])),
    empty: 'No samples.',
  };
}

export function measurementsTable(report: Report): Table {
  return {
    id: 'measurements',
    title: 'Measurements',
    columns: [{ label: 'measurement' }, { label: 'value', numeric: true }, { label: 'how it was measured' }],
    rows: report.measurements.map((m) => [cell(m.name, { code: true }), cell(formatScalar(m.value, m.unit)), cell(m.description)]),
    empty: 'No extra measurements.',
  };
}

export function faultsTable(report: Report): Table {
  return {
    id: 'faults',
    title: 'Faults',
    columns: [
      { label: 'fault' }, { label: 'targets' }, { label: 'injected', numeric: true }, { label: 'healed', numeric: true },
      { label: 'lasted', numeric: true }, { label: 'RTO per probe' }, { label: 'heal error' },
    ],
    rows: report.faults.map((f) => [
      cell(f.kind, { code: true }),
      cell(f.targets.join(', ') || NONE),
      cell(formatAt(f.at)),
      cell(f.healedAt === null ? 'not healed' : formatAt(f.healedAt), f.healedAt === null ? { tone: 'warn' } : {}),
      cell(formatMs(f.durationMs)),
      cell(report.probes.map((p) => `${p.name}: ${rtoText(p.recoveries.find((r) => r.faultId === f.id) ?? null)}`).join('; ') || NONE),
      cell(f.healError ?? NONE, f.healError ? { tone: 'bad' } : { tone: 'muted' }),
    ]),
    empty: 'No faults were injected.',
  };
}

export function phasesTable(report: Report): Table {
  return {
    id: 'phases',
    title: 'Phases',
    columns: [{ label: 'phase' }, { label: 'from', numeric: true }, { label: 'to', numeric: true }, { label: 'lasted', numeric: true }],
    rows: report.phases.map((p) => [cell(p.name), cell(formatAt(p.from)), cell(p.to === null ? 'end' : formatAt(p.to)), cell(formatMs(p.durationMs))]),
    empty: 'No phases were recorded.',
  };
}

/** RTO with the reason when there is none: "2.01 s", "0 (no visible outage)", "not recovered". */
export function rtoText(recovery: Report['probes'][number]['recoveries'][number] | null): string {
  if (!recovery) return NONE;
  switch (recovery.status) {
    case 'recovered': return formatMs(recovery.rtoMs);
    case 'no-visible-outage': return '0 (no visible outage)';
    case 'not-recovered': return 'not recovered';
    case 'no-data': return 'no data';
  }
}
