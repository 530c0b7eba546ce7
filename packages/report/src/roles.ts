// report.json's `roles`: per variant and system, each node's roles over time, the split-brain
// overlaps, the faults, elections and lost writes, with the same helpers as the runner.
import type { RoleEvent } from '@resilience/fixtures/events';
import { roleSpans, totalLength, writableOverlaps } from '@resilience/fixtures/analysis';
import type { Measurement, ReportFault, ReportRoleChart, ReportWriteCheck } from './schema.ts';

/** The measurements that mark a moment after a fault, by measurement name. */
const MOMENTS = { election: 'election', demotion: 'demotion' } as const;

/**
 * One chart per (variant, scope) that has role events, in order of their first event. Spans
 * run to `endAt` (the run's end); overlaps are writableOverlaps over the whole run.
 */
export function roleChartsOf(
  roles: readonly RoleEvent[],
  o: { readonly endAt: number; readonly faults: readonly ReportFault[]; readonly measurements: readonly Measurement[]; readonly writeChecks: readonly ReportWriteCheck[] },
): ReportRoleChart[] {
  const valid = roles.filter((e) => typeof e.scope === 'string' && e.scope !== '' && typeof e.node === 'string' && e.node !== '' && finite(e.at)
    && (e.role === 'primary' || e.role === 'replica' || e.role === 'down'));
  const spans = roleSpans(valid, o.endAt);
  const keys = new Map<string, { scope: string; variant: string | null }>();
  for (const e of valid) {
    const variant = typeof e.variant === 'string' && e.variant !== '' ? e.variant : null;
    keys.set(`${variant ?? ''}\u0000${e.scope}`, { scope: e.scope, variant });
  }
  return [...keys.values()].map(({ scope, variant }) => {
    const mine = spans.filter((s) => s.scope === scope && s.variant === variant);
    const overlaps = writableOverlaps(spans, { scope, variant });
    const faults = o.faults.filter((f) => (f.scope === null || f.scope === scope) && f.variant === variant);
    const lostWrites = o.writeChecks
      .filter((c) => c.scope === scope && (c.variant ?? null) === variant)
      .flatMap((c) => (c.lostSpans ?? []).map((s) => ({ probe: c.probe, node: s.node, from: s.from, to: s.to, count: s.count })))
      .sort((a, b) => a.from - b.from);
    const nodes = [...new Set(mine.map((s) => s.node))].sort(byName);
    for (const l of lostWrites) if (!nodes.includes(l.node)) nodes.push(l.node);
    return {
      scope,
      variant,
      nodes,
      spans: mine.map((s) => ({ node: s.node, role: s.role, writable: s.writable, from: r(s.from), to: r(s.to), ...(s.detail ? { detail: s.detail } : {}) })),
      overlaps: overlaps.map((x) => ({ from: r(x.from), to: r(x.to), durationMs: r(x.to - x.from), nodes: [...x.nodes] })),
      splitBrainMs: r(totalLength(overlaps)),
      faults: faults.map((f) => f.id),
      moments: faults.flatMap((f) => (Object.keys(MOMENTS) as (keyof typeof MOMENTS)[]).flatMap((kind) => {
        const m = o.measurements.find((x) => x.name === MOMENTS[kind] && typeof x.value === 'number' && Number.isFinite(x.value)
          && x.variant === f.variant && x.iteration === f.iteration && (x.scope === null || x.scope === f.scope || x.scope === scope));
        return m ? [{ kind, faultId: f.id, at: r(f.at + (m.value as number)), afterMs: m.value as number }] : [];
      })),
      lostWrites,
    };
  });
}

/** pg2 before pg10. */
function byName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function r(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
