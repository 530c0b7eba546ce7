// What one provision created (its containers, its network), removed in one place whether
// provisioning finished or not, without touching anything else of a shared run.
import type { ContainerHandle, Engine } from '@resilience/fixtures';

/** What provision created, removed in one place whether provisioning finished or not. */
export class Resources {
  readonly engine: Engine;
  readonly #ownsEngine: boolean;
  readonly containers: ContainerHandle[] = [];
  network: { id: string; name: string } | undefined;

  constructor(engine: Engine, ownsEngine: boolean) {
    this.engine = engine;
    this.#ownsEngine = ownsEngine;
  }

  async remove(): Promise<void> {
    const errors: unknown[] = [];
    if (this.#ownsEngine) {
      // The run is this environment's alone: remove everything it holds, even a container whose
      // start was still in flight when provisioning failed.
      errors.push(...(await this.engine.removeRun()).errors);
    } else {
      const results = await Promise.allSettled(this.containers.map((c) => c.remove()));
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
      if (this.network) {
        try {
          await this.engine.docker.getNetwork(this.network.id).remove();
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) errors.push(e);
        }
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `Removing redis-sentinel left ${errors.length} errors`);
  }
}
