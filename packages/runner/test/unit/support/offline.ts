// A workflow run without Docker objects: an engine whose Docker lists nothing, no watchdog, no
// sweep, the reports and the run's state in temporary folders, the console captured.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Engine } from '@resilience/fixtures';
import type Docker from 'dockerode';
import { runWorkflow, type RunWorkflowOptions, type WorkflowDefinition, type WorkflowResult } from '../../../src/index.ts';

/** A Docker API that answers and holds nothing: the run finds no object to sweep or remove. */
export const emptyDocker = {
  ping: async () => 'OK',
  listContainers: async () => [],
  listNetworks: async () => [],
  listVolumes: async () => ({ Volumes: [] }),
} as unknown as Docker;

/** Runs `workflow` with `argv` offline; `options` adds to (never replaces) the offline settings. */
export async function runOffline<O, E>(
  workflow: WorkflowDefinition<O, E>,
  argv: readonly string[],
  options: Omit<RunWorkflowOptions, 'argv' | 'out' | 'engine' | 'handleSignals' | 'reportsRoot' | 'run'> = {},
): Promise<{ result: WorkflowResult; text: string; reportsRoot: string }> {
  let text = '';
  const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
  const engine = await Engine.connect({ docker: emptyDocker });
  const reportsRoot = mkdtempSync(join(tmpdir(), 'rz-offline-'));
  const result = await runWorkflow(workflow, {
    ...options, argv, out, engine, handleSignals: false, reportsRoot,
    run: { watchdog: false, sweep: false, stateRoot: mkdtempSync(join(tmpdir(), 'rz-state-')) },
  });
  return { result, text, reportsRoot };
}
