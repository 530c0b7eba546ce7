// The state file `up` leaves for `down` (and for people): which run to remove, and how to
// connect. It holds the password, so it is written with mode 600 under the gitignored dist/.
import { join, resolve } from 'node:path';
import { stateFileOf, type EnvironmentState, type StateFile } from '@resilience/fixtures';
import type { RedisSentinelDescription } from './redis-sentinel.ts';

export type RedisSentinelState = EnvironmentState<RedisSentinelDescription>;

const workspaceRoot = resolve(import.meta.dirname, '..', '..', '..');

/** dist/environments/redis-sentinel.json in the workspace; REDIS_SENTINEL_STATE_FILE overrides it (tests). */
export function redisSentinelStateFile(): StateFile<RedisSentinelDescription> {
  return stateFileOf<RedisSentinelDescription>('redis-sentinel', join(workspaceRoot, 'dist', 'environments', 'redis-sentinel.json'), 'REDIS_SENTINEL_STATE_FILE');
}
