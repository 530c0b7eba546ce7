// Removal of redis-sentinel environments found by their labels, for `down`: the containers and
// networks labelled as this environment (of one run, or every kept one), and nothing else of
// that run, since an environment composed into a bigger one shares its run.
import { Labels, PROJECT, isProjectOwned, type Engine } from '@resilience/fixtures';
import { ENVIRONMENT, ENVIRONMENT_LABEL } from './redis-sentinel.ts';

export interface Removed {
  readonly containers: string[];
  readonly networks: string[];
  readonly errors: Error[];
}

export async function removeEnvironments(engine: Engine, filter: { readonly runId?: string }): Promise<Removed> {
  const label = [`${Labels.project}=${PROJECT}`, `${ENVIRONMENT_LABEL}=${ENVIRONMENT}`];
  label.push(filter.runId ? `${Labels.runId}=${filter.runId}` : `${Labels.keep}=true`);
  const removed: Removed = { containers: [], networks: [], errors: [] };
  const containers = (await engine.docker.listContainers({ all: true, filters: { label } })).filter((c) => isProjectOwned(c.Labels));
  await Promise.all(containers.map(async (c) => {
    try {
      const handle = await engine.container(c.Id);
      await handle.remove();
      removed.containers.push(handle.name);
    } catch (e) {
      removed.errors.push(e as Error);
    }
  }));
  const networks = (await engine.docker.listNetworks({ filters: { label } })).filter((n) => isProjectOwned(n.Labels));
  for (const n of networks) {
    try {
      await engine.docker.getNetwork(n.Id).remove();
      removed.networks.push(n.Name);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) removed.errors.push(e as Error);
    }
  }
  return removed;
}
