// What the drills' steps share: a step from a label and a function, and how times and hosts are
// written in their evidence tables.
import type { CustomFault, NodeRef, Step, StepContext } from '@resilience/runner';
import type { Check } from './environment.ts';

export function drillStep<E, O>(label: string, run: (sc: StepContext<E, O>) => Promise<void>): Step<E, O> {
  return { label, run };
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const iso = (epoch: number | undefined) => (epoch === undefined ? '' : new Date(epoch).toISOString());
/** `rz-<run>-pgha-backup` as `pgha-backup`. */
export const hostName = (container: string) => container.replace(/^rz-[^-]+-[^-]+-/, '');

/**
 * A disaster as a fault of kind `disaster`: `strike` destroys (or damages) and returns what it
 * did; the start is stamped before it, and there is nothing to undo (the restore brings the
 * data back). `disasterAt` (epoch ms) is passed to `strike` for the drill's records.
 */
export function disasterFault<E>(strike: (sc: StepContext<E>, target: NodeRef, disasterAt: number) => Promise<Record<string, unknown>>): CustomFault<E> {
  return {
    name: 'disaster',
    apply: async (run, target, _params, _system, sc) => {
      const at = run.now();
      const epoch = Date.now();
      const params = await strike(sc, target, epoch);
      return run.chaos.announce({
        id: `disaster-${epoch.toString(36)}`, kind: 'disaster', targets: [{ id: target.container.id, name: target.name }],
        params, expiresInMs: undefined, at, callMs: run.now() - at,
        undo: async () => [],
      });
    },
  };
}

/** Records a verification check in the drill's evidence; a failed one is a critical `verification-failed` finding. */
export function addCheck<E extends { readonly checks: Check[] }, O>(sc: StepContext<E, O>, scope: string, check: Check): void {
  sc.env.checks.push(check);
  if (!check.ok) sc.finding({ kind: 'verification-failed', severity: 'critical', scope, at: sc.now(), title: `Verification failed: ${check.check}`, detail: check.detail });
}
