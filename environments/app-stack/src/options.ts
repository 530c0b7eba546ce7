// app-stack options, validated before anything starts: the pg-ha and redis-sentinel options
// pass through to those environments (which validate them), the app's own are checked here.
import { z } from 'zod';
import { InvalidArgumentError } from '@resilience/fixtures';
import type { PgHaOptionsInput } from '@resilience/pg-ha';
import type { RedisSentinelOptions } from '@resilience/redis-sentinel';

export interface AppStackOptionsInput {
  readonly pg?: PgHaOptionsInput;
  readonly redis?: Omit<RedisSentinelOptions, 'engine' | 'network'>;
  /** `hardened` (timeouts, retries, breaker, fallbacks) or `naive` (none). */
  readonly mode?: string;
  /** App instances (1 to 3). */
  readonly instances?: number;
}

export interface AppSettings {
  readonly mode: 'hardened' | 'naive';
  readonly instances: number;
}

const Schema = z.object({
  mode: z.enum(['hardened', 'naive']).default('hardened'),
  instances: z.number().int().min(1).max(3).default(1),
});

export function parseAppOptions(input: AppStackOptionsInput): AppSettings {
  const r = Schema.safeParse({ mode: input.mode, instances: input.instances });
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue?.path[0] ?? 'options');
    const expected = key === 'mode' ? '`hardened` or `naive`' : key === 'instances' ? 'a whole number from 1 to 3' : issue?.message ?? 'valid options';
    throw new InvalidArgumentError(key, (input as Record<string, unknown>)[key], expected);
  }
  return r.data;
}
