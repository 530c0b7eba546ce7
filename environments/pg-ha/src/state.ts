// The state file `up` leaves for `down` (and for people): which run to remove, and how to
// connect. It holds the passwords, so it is written with mode 600 under the gitignored dist/.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SetupError } from '@resilience/fixtures';
import type { PgHaDescription } from './pg-ha.ts';

export interface PgHaState {
  readonly environment: 'pg-ha';
  readonly runId: string;
  readonly createdAt: string;
  /** With passwords: the file is readable by its owner only. */
  readonly description: PgHaDescription;
}

const workspaceRoot = resolve(import.meta.dirname, '..', '..', '..');

/** dist/environments/pg-ha.json in the workspace; PGHA_STATE_FILE overrides it (tests). */
export function stateFile(): string {
  return process.env['PGHA_STATE_FILE'] || join(workspaceRoot, 'dist', 'environments', 'pg-ha.json');
}

export function readState(file: string = stateFile()): PgHaState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as PgHaState;
    if (state.environment !== 'pg-ha' || typeof state.runId !== 'string') throw new Error('not a pg-ha state file');
    return state;
  } catch (cause) {
    throw new SetupError(`The state file ${file} cannot be read`, { cause, hint: 'Remove it; `down` then finds kept pg-ha environments by their labels.' });
  }
}

export function writeState(state: PgHaState, file: string = stateFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  rmSync(file, { force: true }); // `mode` applies only to a new file
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function removeState(file: string = stateFile()): void {
  rmSync(file, { force: true });
}
