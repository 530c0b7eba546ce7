// The state file `up` leaves for `down` (and for people): which run to remove, and how to
// connect. It holds the passwords, so it is written with mode 600 under the gitignored dist/.
import { join, resolve } from 'node:path';
import { stateFileOf, type EnvironmentState, type StateFile } from '@resilience/fixtures';
import type { AppStackDescription } from './app-stack.ts';

export type AppStackState = EnvironmentState<AppStackDescription>;

const workspaceRoot = resolve(import.meta.dirname, '..', '..', '..');

/** dist/environments/app-stack.json in the workspace; APPSTACK_STATE_FILE overrides it (tests). */
export function appStackStateFile(): StateFile<AppStackDescription> {
  return stateFileOf<AppStackDescription>('app-stack', join(workspaceRoot, 'dist', 'environments', 'app-stack.json'), 'APPSTACK_STATE_FILE');
}
