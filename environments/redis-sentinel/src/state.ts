// The record `up` leaves in dist/environments/redis-sentinel.json so `down` removes exactly that
// environment, and a person can see what runs where. It never holds the password.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RedisSentinel } from './redis-sentinel.ts';

export const STATE_FILE = resolve(import.meta.dirname, '../../../dist/environments/redis-sentinel.json');

export interface StateMember {
  readonly name: string;
  readonly container: string;
  /** In-network `host:port`. */
  readonly address: string;
  readonly hostPort: number;
}

export interface UpState {
  readonly environment: 'redis-sentinel';
  readonly runId: string;
  readonly createdAt: string;
  readonly network: string;
  readonly masterName: string;
  readonly settings: Record<string, unknown>;
  readonly nodes: readonly StateMember[];
  readonly sentinels: readonly StateMember[];
  readonly timings: Record<string, number>;
}

export function stateOf(env: RedisSentinel): UpState {
  const m = (x: RedisSentinel['nodes'][number]): StateMember => ({ name: x.name, container: x.container.name, address: x.address, hostPort: x.hostPort });
  const { labels: _labels, ...settings } = env.settings;
  return {
    environment: 'redis-sentinel',
    runId: env.engine.run.runId,
    createdAt: new Date().toISOString(),
    network: env.network,
    masterName: env.masterName,
    settings,
    nodes: env.nodes.map(m),
    sentinels: env.sentinels.map(m),
    timings: { ...env.timings },
  };
}

export function writeState(state: UpState, file: string = STATE_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n');
}

/** The recorded state, or undefined when there is none (or it is not ours to read). */
export function readState(file: string = STATE_FILE): UpState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as Partial<UpState>;
    return s.environment === 'redis-sentinel' && typeof s.runId === 'string' ? (s as UpState) : undefined;
  } catch {
    return undefined;
  }
}

export function removeState(file: string = STATE_FILE): void {
  rmSync(file, { force: true });
}
