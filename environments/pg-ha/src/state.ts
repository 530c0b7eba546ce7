// The state file `up` leaves for `down` (and for people): which run to remove, and how to
// connect. It holds the passwords, so it is written with mode 600 under the gitignored dist/.
import { join, resolve } from 'node:path';
import { stateFileOf, type EnvironmentState, type StateFile } from '@resilience/fixtures';
import type { PgHaDescription } from './pg-ha.ts';

export type PgHaState = EnvironmentState<PgHaDescription>;

const workspaceRoot = resolve(import.meta.dirname, '..', '..', '..');

/** dist/environments/pg-ha.json in the workspace; PGHA_STATE_FILE overrides it (tests). */
export function pgHaStateFile(): StateFile<PgHaDescription> {
  return stateFileOf<PgHaDescription>('pg-ha', join(workspaceRoot, 'dist', 'environments', 'pg-ha.json'), 'PGHA_STATE_FILE');
}
