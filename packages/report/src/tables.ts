// The report's tables as plain data, so summary.md and report.html show the same rows and
// each renderer only decides how a cell looks.
import { NONE, faultKindLabel, formatAt, formatCount, formatLatency, formatMs, formatRatio, formatValue, measurementName } from './format.ts';
import { formatMetric } from '@resilience/fixtures/analysis';
import type { Report, ReportProbe, ReportRunEvidence, ReportWriteCheck } from './schema.ts';

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
  /** A sub-heading over the table, when a section has several (`variant naive`). */
  readonly caption?: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Cell[])[];
  /** Shown instead of an empty table. */
  readonly empty: string;
}

const cell = (text: string, extra: Omit<Cell, 'text'> = {}): Cell => ({ text, ...extra });

/** True when the run compared several variants: then tables group and compare by variant. */
export function hasVariants(report: Report): boolean {
  return report.variants.length > 1;
}

export function hypothesesTable(report: Report, hypotheses: Report['verdict']['hypotheses'] = report.verdict.hypotheses, caption?: string): Table {
  return {
    id: caption ? `hypotheses-${slug(caption)}` : 'hypotheses',
    title: 'Hypotheses',
    ...(caption ? { caption } : {}),
    columns: [{ label: 'result' }, { label: 'hypothesis' }, { label: 'observed', numeric: true }, { label: 'threshold', numeric: true }, { label: 'description' }],
    rows: hypotheses.map((h) => [
      cell(h.ok ? 'held' : 'failed', { tone: h.ok ? 'ok' : 'bad', badge: true }),
      cell(h.name, { code: true }),
      cell(formatValue(h.observed, h.unit), h.ok ? {} : { tone: 'bad' }),
      cell(formatValue(h.threshold, h.unit, NONE)),
      cell(h.description),
    ]),
    empty: 'No hypotheses were checked.',
  };
}

/** One table of hypotheses, or with several variants one per variant (those of the whole run first). */
export function hypothesesTables(report: Report): Table[] {
  const all = report.verdict.hypotheses;
  if (!hasVariants(report) || all.length === 0) return [hypothesesTable(report)];
  const groups: [string, typeof all][] = [];
  const whole = all.filter((h) => h.variant === null || !report.variants.includes(h.variant));
  if (whole.length) groups.push(['whole run', whole]);
  for (const v of report.variants) {
    const mine = all.filter((h) => h.variant === v);
    if (mine.length) groups.push([`variant ${v}`, mine]);
  }
  return groups.map(([caption, hs]) => hypothesesTable(report, hs, caption));
}

/**
 * True when some probe had operations shed (refused on purpose, HTTP 429): only then do the
 * probe tables have a `shed` column.
 */
export function hasShed(report: Report): boolean {
  return report.probes.some((p) => (p.shed ?? 0) > 0);
}

export function probesTable(report: Report): Table {
  const shed = hasShed(report);
  return {
    id: 'probes',
    title: 'Probes',
    columns: [
      { label: 'probe' }, { label: 'attempts', numeric: true }, { label: 'failures', numeric: true },
      ...(shed ? [{ label: 'shed', numeric: true }] : []),
      { label: 'availability', numeric: true }, { label: 'p50', numeric: true }, { label: 'p99', numeric: true },
      { label: 'outage', numeric: true }, { label: 'time to detect (worst)', numeric: true }, { label: 'RTO (worst)', numeric: true },
    ],
    rows: report.probes.map((p) => [
      cell(p.name, { code: true }),
      cell(formatCount(p.attempts)),
      cell(formatCount(p.failures), p.failures > 0 ? { tone: 'bad' } : {}),
      ...(shed ? [shedCell(p.shed)] : []),
      cell(formatRatio(p.availability), p.availability !== null && p.availability < 1 ? { tone: 'warn' } : {}),
      cell(formatLatency(p.latency?.p50Ms)),
      cell(formatLatency(p.latency?.p99Ms)),
      cell(formatMs(p.outageMs), p.outageMs > 0 ? { tone: 'warn' } : {}),
      cell(formatMs(p.worst.timeToDetectMs)),
      worstRtoCell(p),
    ]),
    empty: 'No probe recorded a sample.',
  };
}

/**
 * What clients saw when they failed: one row per probe and cause (most frequent first), with the
 * fault in effect when the cause was first seen. The counts of a probe add up to its failures.
 */
export function errorsTable(report: Report): Table {
  const during = (at: number): string => {
    const f = report.faults.find((x) => x.at <= at && (x.healedAt === null || at <= x.healedAt));
    return f ? `${faultKindLabel(f.kind)} ${f.targets.join(', ')}`.trim() : 'no fault';
  };
  return {
    id: 'errors',
    title: 'Errors clients saw',
    columns: [
      { label: 'probe' }, { label: 'cause' }, { label: 'failures', numeric: true }, { label: 'share', numeric: true },
      { label: 'first', numeric: true }, { label: 'last', numeric: true }, { label: 'first seen during' }, { label: 'example' },
    ],
    rows: report.probes.flatMap((p) => (p.errors ?? []).map((e) => [
      cell(p.name, { code: true }),
      cell(e.cause, { code: true }),
      cell(formatCount(e.count), { tone: 'bad' }),
      cell(formatRatio(p.failures > 0 ? e.count / p.failures : null)),
      cell(formatAt(e.firstAt)),
      cell(formatAt(e.lastAt)),
      cell(during(e.firstAt)),
      cell(e.example === e.cause ? NONE : e.example, e.example === e.cause ? { tone: 'muted', code: true } : { code: true }),
    ])),
    empty: 'No operation failed.',
  };
}

/** Shed operations: amber (the system protecting itself), not red like other failures. */
function shedCell(shed: number | undefined): Cell {
  return cell(formatCount(shed ?? 0), (shed ?? 0) > 0 ? { tone: 'warn' } : {});
}

export function probePhasesTable(report: Report): Table {
  const shed = hasShed(report);
  return {
    id: 'probe-phases',
    title: 'Per phase',
    columns: [
      { label: 'probe' }, { label: 'phase' }, { label: 'attempts', numeric: true },
      ...(shed ? [{ label: 'shed', numeric: true }] : []),
      { label: 'availability', numeric: true },
      { label: 'p50', numeric: true }, { label: 'p95', numeric: true }, { label: 'p99', numeric: true },
      { label: 'p99.9', numeric: true }, { label: 'max', numeric: true },
    ],
    rows: report.probes.flatMap((p) => p.phases.map((ph) => [
      cell(p.name, { code: true }),
      cell(ph.phase),
      cell(formatCount(ph.attempts)),
      ...(shed ? [shedCell(ph.shed)] : []),
      cell(formatRatio(ph.availability), ph.availability !== null && ph.availability < 1 ? { tone: 'warn' } : {}),
      cell(formatLatency(ph.latency?.p50Ms)),
      cell(formatLatency(ph.latency?.p95Ms)),
      cell(formatLatency(ph.latency?.p99Ms)),
      cell(formatLatency(ph.latency?.p999Ms)),
      cell(formatLatency(ph.latency?.maxMs)),
    ])),
    empty: 'No samples.',
  };
}

export function measurementsTable(report: Report): Table {
  return {
    id: 'measurements',
    title: 'Measurements',
    columns: [{ label: 'measurement' }, { label: 'value', numeric: true }, { label: 'how it was measured' }],
    rows: report.measurements.map((m) => [
      cell(measurementName(m), { code: true }),
      cell(formatValue(m.value, m.unit), m.value === null ? { tone: 'warn' } : {}),
      cell(m.description),
    ]),
    empty: 'No extra measurements.',
  };
}

export function faultsTable(report: Report): Table {
  const scoped = report.faults.some((f) => f.scope !== null || f.iteration !== null || f.variant !== null);
  return {
    id: 'faults',
    title: 'Faults',
    columns: [
      { label: 'fault' }, { label: 'targets' }, ...(scoped ? [{ label: 'scope' }] : []), { label: 'injected', numeric: true }, { label: 'healed', numeric: true },
      { label: 'lasted', numeric: true }, { label: 'RTO per probe' }, { label: 'heal error' },
    ],
    rows: report.faults.map((f) => {
      const judged = report.probes.flatMap((p) => {
        const r = p.recoveries.find((x) => x.faultId === f.id);
        return r ? [`${p.name}: ${rtoText(r)}`] : [];
      });
      return [
        cell(faultKindLabel(f.kind), { code: true }),
        cell(f.targets.join(', ') || NONE),
        ...(scoped ? [cell(faultScopeText(f) || NONE)] : []),
        cell(formatAt(f.at) + (f.callMs !== null && f.callMs >= 1 ? ` (call ${formatMs(f.callMs)})` : '')),
        cell(f.healedAt === null ? 'not healed' : formatAt(f.healedAt), f.healedAt === null ? { tone: 'warn' } : {}),
        cell(formatMs(f.durationMs)),
        cell(judged.join('; ') || NONE),
        cell(f.healError ?? NONE, f.healError ? { tone: 'bad' } : { tone: 'muted' }),
      ];
    }),
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

/**
 * With several variants: one row per probe (base name, without `@variant`) and key metric
 * (availability, p99, worst RTO, lost writes for write probes), one column per variant.
 * null for a run with one variant or none.
 */
export function variantsTable(report: Report): Table | null {
  if (!hasVariants(report)) return null;
  const variants = report.variants;
  const bases: string[] = [];
  const byKey = new Map<string, ReportProbe>();
  for (const p of report.probes) {
    const variant = probeVariant(p, variants);
    if (variant === null) continue;
    const base = probeBase(p.name, variant);
    if (!bases.includes(base)) bases.push(base);
    byKey.set(`${base}\u0000${variant}`, p);
  }
  const rows: Cell[][] = [];
  for (const base of bases) {
    const probes = variants.map((v) => byKey.get(`${base}\u0000${v}`) ?? null);
    const each = (f: (p: ReportProbe) => Cell): Cell[] => probes.map((p) => (p ? f(p) : cell(NONE, { tone: 'muted' })));
    rows.push([cell(base, { code: true }), cell('availability'), ...each((p) => cell(formatRatio(p.availability), p.availability !== null && p.availability < 1 ? { tone: 'warn' } : {}))]);
    rows.push([cell(base, { code: true }), cell('p99 latency'), ...each((p) => cell(formatLatency(p.latency?.p99Ms)))]);
    rows.push([cell(base, { code: true }), cell('worst RTO'), ...each(worstRtoCell)]);
    const checks = probes.map((p) => (p ? writeCheckOf(report, p) : null));
    if (probes.some((p) => p?.writes) || checks.some((c) => c !== null)) {
      rows.push([cell(base, { code: true }), cell('lost writes'), ...probes.map((p, i) => {
        const check = checks[i];
        if (!p) return cell(NONE, { tone: 'muted' });
        if (!check) return cell('not checked', { tone: 'muted' });
        return cell(`${formatCount(check.lost)} of ${formatCount(check.acked)}`, check.lost > 0 ? { tone: 'bad' } : { tone: 'ok' });
      })]);
    }
  }
  return {
    id: 'variants',
    title: 'Variants side by side',
    columns: [{ label: 'probe' }, { label: 'metric' }, ...variants.map((v) => ({ label: v, numeric: true }))],
    rows,
    empty: 'No probe ran against a variant.',
  };
}

export const WINDOW_LABEL: Record<keyof ReportWriteCheck['lostByWindow'], string> = {
  'before-fault': 'before the fault',
  fault: 'fault to election',
  'after-election': 'election to heal',
  'after-heal': 'after heal',
};

/** One row per write check: what was acknowledged, read back, lost and stored without an ack. */
export function writeChecksTable(report: Report): Table {
  const variants = hasVariants(report);
  return {
    id: 'write-checks',
    title: 'Lost writes',
    columns: [
      { label: 'probe' }, ...(variants ? [{ label: 'variant' }] : []), { label: 'store' }, { label: 'acked', numeric: true },
      { label: 'present', numeric: true }, { label: 'lost', numeric: true }, { label: 'ghost', numeric: true }, { label: 'worst RPO', numeric: true },
    ],
    rows: report.writeChecks.map((c) => [
      cell(variants ? probeBase(c.probe, c.variant ?? null) : c.probe, { code: true }),
      ...(variants ? [cell(c.variant ?? NONE)] : []),
      cell(c.store || NONE),
      cell(formatCount(c.acked)),
      cell(formatCount(c.present)),
      cell(formatCount(c.lost), c.lost > 0 ? { tone: 'bad' } : { tone: 'ok' }),
      cell(formatCount(c.ghost), c.ghost > 0 ? { tone: 'warn' } : {}),
      cell(c.perFault.length ? formatMetric(Math.max(...c.perFault.map((f) => f.rpoSeconds)), 's') : NONE, c.lost > 0 ? { tone: 'bad' } : {}),
    ]),
    empty: 'No write probe was checked.',
  };
}

/** Why one write check lost what it lost: by acknowledging node, by window, per fault with its RPO, and the first examples. */
export function writeCheckDetailTables(report: Report, check: ReportWriteCheck, maxExamples = 10): Table[] {
  const id = slug(`${check.probe}-${check.variant ?? ''}`);
  const nodes = Object.entries(check.lostByNode).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const tables: Table[] = [
    {
      id: `lost-by-node-${id}`,
      title: 'Lost by acknowledging node',
      columns: [{ label: 'node' }, { label: 'lost', numeric: true }],
      rows: nodes.map(([node, n]) => [cell(node, { code: true }), cell(formatCount(n), n > 0 ? { tone: 'bad' } : {})]),
      empty: 'No lost write.',
    },
    {
      id: `lost-by-window-${id}`,
      title: 'Lost by window',
      columns: [{ label: 'acknowledged' }, { label: 'lost', numeric: true }],
      rows: (Object.keys(WINDOW_LABEL) as (keyof typeof WINDOW_LABEL)[]).map((w) => [
        cell(WINDOW_LABEL[w]),
        cell(formatCount(check.lostByWindow[w]), check.lostByWindow[w] > 0 ? { tone: 'bad' } : {}),
      ]),
      empty: 'No lost write.',
    },
    {
      id: `rpo-${id}`,
      title: 'RPO per fault',
      caption: 'what was lost after each fault, until the next one',
      columns: [
        { label: 'fault' }, { label: 'scope' }, { label: 'lost', numeric: true }, { label: 'RPO', numeric: true },
        { label: 'first lost ack', numeric: true }, { label: 'last lost ack', numeric: true },
      ],
      rows: check.perFault.map((f) => {
        const fault = report.faults.find((x) => x.id === f.faultId);
        const what = fault ? `${f.faultId} (${faultKindLabel(fault.kind)}${fault.targets.length ? ` ${fault.targets.join(', ')}` : ''})` : f.faultId;
        return [
          cell(what, { code: true }),
          cell(`${f.scope ?? ''}${typeof f.iteration === 'number' ? ` #${f.iteration}` : ''}`.trim() || NONE),
          cell(formatCount(f.lost), f.lost > 0 ? { tone: 'bad' } : {}),
          cell(formatMetric(f.rpoSeconds, 's'), f.rpoSeconds > 0 ? { tone: 'bad' } : {}),
          cell(formatAt(f.firstLostAckAt)),
          cell(formatAt(f.lastLostAckAt)),
        ];
      }),
      empty: 'No fault was attributed.',
    },
  ];
  if (check.examples.length) {
    tables.push({
      id: `lost-examples-${id}`,
      title: 'Examples',
      caption: `the first ${Math.min(maxExamples, check.examples.length)} of ${formatCount(check.lost)} lost`,
      columns: [{ label: 'id' }, { label: 'acknowledged', numeric: true }, { label: 'node' }, { label: 'window' }],
      rows: check.examples.slice(0, maxExamples).map((x) => [
        cell(x.id, { code: true }),
        cell(formatAt(x.at)),
        cell(x.node, { code: true }),
        cell(x.window ? WINDOW_LABEL[x.window] : NONE),
      ]),
      empty: 'No examples.',
    });
  }
  return tables;
}

/** `sql-write: 12 of 3,400 acknowledged writes lost, 1 ghost (table resilience_writes on the leader)`. */
export function writeCheckHeadline(check: ReportWriteCheck): string {
  const ghost = check.ghost > 0 ? `, ${formatCount(check.ghost)} ghost write${check.ghost === 1 ? '' : 's'}` : '';
  const variant = check.variant && !check.probe.endsWith(`@${check.variant}`) ? ` [${check.variant}]` : '';
  return `${check.probe}${variant}: ${formatCount(check.lost)} of ${formatCount(check.acked)} acknowledged writes lost${ghost}${check.store ? ` (${check.store})` : ''}`;
}

/** `restore`, `restore [hardened]`. */
export function evidenceTitle(e: ReportRunEvidence): string {
  return e.variant ? `${e.name} [${e.variant}]` : e.name;
}

/** The tables of one evidence, as the workflow gave them (title, header, rows of text). */
export function evidenceTables(e: ReportRunEvidence): Table[] {
  const id = slug(`${e.name}-${e.variant ?? ''}`);
  return e.tables.map((t, i) => ({
    id: `evidence-${id}-${i + 1}`,
    title: t.title,
    columns: t.header.map((label) => ({ label })),
    rows: t.rows.map((row) => row.map((text) => cell(text))),
    empty: 'No rows.',
  }));
}

/** RTO of one fault with the reason when there is none: "2.01 s", "0 (no visible outage)", "not recovered". */
export function rtoText(recovery: ReportProbe['recoveries'][number] | null): string {
  if (!recovery) return NONE;
  switch (recovery.status) {
    case 'recovered': return formatMs(recovery.rtoMs);
    case 'no-visible-outage': return '0 (no visible outage)';
    case 'not-recovered': return 'not recovered';
    case 'no-data': return 'no data';
  }
}

/**
 * A probe's RTO over all its faults (the worst): "3.48 s", "not recovered", "0 (no visible
 * outage)" when no fault caused one, "—" without faults.
 */
export function worstRtoText(p: ReportProbe): string {
  switch (p.worst.status) {
    case 'no-faults': return NONE;
    case 'not-recovered': return 'not recovered';
    case 'recovered':
      return p.worst.rtoMs === 0 && p.recoveries.every((r) => r.status === 'no-visible-outage') ? '0 (no visible outage)' : formatMs(p.worst.rtoMs);
  }
}

function worstRtoCell(p: ReportProbe): Cell {
  return cell(worstRtoText(p), p.worst.status === 'not-recovered' ? { tone: 'bad' } : p.worst.status === 'no-faults' ? { tone: 'muted' } : {});
}

/** `postgres #2 [naive]`. */
export function faultScopeText(f: Report['faults'][number]): string {
  return `${f.scope ?? ''}${f.iteration !== null ? ` #${f.iteration}` : ''}${f.variant ? ` [${f.variant}]` : ''}`.trim();
}

/** The probe's variant: its own, or the suffix of `<probe>@<variant>` when that is one of the run's. */
export function probeVariant(p: Pick<ReportProbe, 'name' | 'variant'>, variants: readonly string[]): string | null {
  if (p.variant !== null) return p.variant;
  const at = p.name.lastIndexOf('@');
  const suffix = at > 0 ? p.name.slice(at + 1) : null;
  return suffix !== null && variants.includes(suffix) ? suffix : null;
}

/** `redis-write@naive` → `redis-write`. */
export function probeBase(name: string, variant: string | null): string {
  return variant !== null && name.endsWith(`@${variant}`) ? name.slice(0, -(variant.length + 1)) : name;
}

function writeCheckOf(report: Report, p: ReportProbe): ReportWriteCheck | null {
  return report.writeChecks.find((c) => c.probe === p.name && (c.variant === undefined || p.variant === null || c.variant === p.variant)) ?? null;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}
