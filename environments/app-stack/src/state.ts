// The state file `up` leaves for `down` (and for people): which run to remove, and how to
// connect. It holds the passwords, so it is written with mode 600 under the gitignored dist/.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SetupError } from '@resilience/fixtures';
import type { AppStackDescription } from './app-stack.ts';

export interface AppStackState {
  readonly environment: 'app-stack';
  readonly runId: string;
  readonly createdAt: string;
  /** With passwords: the file is readable by its owner only. */
  readonly description: AppStackDescription;
}

const workspaceRoot = resolve(import.meta.dirname, '..', '..', '..');

/** dist/environments/app-stack.json in the workspace; APPSTACK_STATE_FILE overrides it (tests). */
export function stateFile(): string {
  return process.env['APPSTACK_STATE_FILE'] || join(workspaceRoot, 'dist', 'environments', 'app-stack.json');
}

export function readState(file: string = stateFile()): AppStackState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as AppStackState;
    if (state.environment !== 'app-stack' || typeof state.runId !== 'string') throw new Error('not an app-stack state file');
    return state;
  } catch (cause) {
    throw new SetupError(`The state file ${file} cannot be read`, { cause, hint: 'Remove it; `down` then finds kept app-stack environments by their labels.' });
  }
}

export function writeState(state: AppStackState, file: string = stateFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  rmSync(file, { force: true }); // `mode` applies only to a new file
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function removeState(file: string = stateFile()): void {
  rmSync(file, { force: true });
}
