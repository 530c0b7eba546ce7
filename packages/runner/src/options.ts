// zod pieces for workflow options as they come from the command line: a flag that may be given
// bare or as true/false, and durations (`500ms`, `30s`, `2m`) turned into milliseconds.
import { z } from 'zod';
import { parseDuration } from './args.ts';

/** `--flag`, `--flag=true`, `--flag=false`, `--no-flag`. */
export const boolOption = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'true or false (or the flag alone: --flag, --no-flag)' });

const toMs = (flag: string) => (v: string | number, ctx: z.RefinementCtx): number => {
  try {
    return parseDuration(flag, v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'a positive duration such as 500ms, 30s or 2m' });
    return z.NEVER;
  }
};

/** A duration flag with a default, in milliseconds. */
export const durationOption = (flag: string, fallback: string) => z.union([z.string(), z.number()]).default(fallback).transform(toMs(flag));

/** A duration flag without a default: undefined when not given. */
export const optionalDurationOption = (flag: string) => z.union([z.string(), z.number()]).transform(toMs(flag)).optional();
