// Validation of what callers pass to buildReport / writeReport: zod schemas, and one place
// that turns the first zod issue into an InvalidArgumentError naming the bad value.
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import { z } from 'zod';

export interface HypothesisInput {
  readonly name: string;
  /** What is claimed, e.g. "clients recover within 30 s". */
  readonly description?: string;
  readonly ok: boolean;
  /** A JSON scalar; anything else is stored as its JSON text. */
  readonly observed: unknown;
  readonly threshold: unknown;
  /** ms, s, count, bytes or ratio (a fraction, shown as %); any other text is shown after the number. */
  readonly unit?: string | null;
  /** The variant it was checked on, when the run has several. */
  readonly variant?: string | null;
}

export interface MeasurementInput {
  readonly name: string;
  /** A JSON scalar; anything else is stored as its JSON text. */
  readonly value: unknown;
  readonly unit?: string | null;
  /** How it was measured: from which event to which, which query. */
  readonly description: string;
  /** Probe or system it belongs to. */
  readonly scope?: string | null;
  readonly iteration?: number | null;
  readonly variant?: string | null;
}

export interface BuildReportOptions {
  /** The run's journal.ndjson. */
  readonly journalPath: string;
  /** Checked hypotheses; default: those of the journal's last `verdict` event. */
  readonly hypotheses?: readonly HypothesisInput[];
  /**
   * Extra measured values. The journal's `measurement` events (and, from older writers, `note`
   * events with message `measurement` and the measurement as `data`) are read anyway; one
   * passed here replaces a journal one of the same name, scope, iteration and variant.
   */
  readonly measurements?: readonly MeasurementInput[];
  /** Workflow settings (redacted). Default: run-start meta.settings, else meta without `environment`. */
  readonly settings?: Record<string, unknown>;
  /** Environment versions (redacted). Default: run-start meta.environment. */
  readonly environment?: Record<string, unknown>;
  /** The workflow's exit code, when known. */
  readonly exitCode?: number | null;
  /** Sustained success that counts as recovered, for RTO (ms). Default 1000. */
  readonly sustainMs?: number;
  /** Successful operations slower than this count as failed (ms). Default: unset. */
  readonly latencyBudgetMs?: number;
  /** Failing intervals listed per probe. Default 100. */
  readonly maxIntervals?: number;
  /** Chart bucket width (ms). Default 250 (widened for long runs). */
  readonly bucketMs?: number;
  /** Most chart buckets. Default 2000. */
  readonly maxBuckets?: number;
}

export interface WriteReportOptions {
  /** Also render report.png with Chromium. Default true. */
  readonly png?: boolean;
  /** File to append summary.md to. Default: $GITHUB_STEP_SUMMARY when set; false to skip. */
  readonly stepSummary?: string | false;
  /**
   * The run's report folder, where the screenshots the journal names are (report.html inlines
   * them). Default `outDir`; pass the run's folder when writing the report somewhere else.
   */
  readonly attachmentsDir?: string;
}

const duration = z.number().finite().nonnegative();
const freeForm = z.record(z.string(), z.unknown());

export const hypothesisInputSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  ok: z.boolean(),
  observed: z.unknown(),
  threshold: z.unknown(),
  unit: z.string().nullable().optional(),
  variant: z.string().nullable().optional(),
});

export const measurementInputSchema = z.object({
  name: z.string().min(1),
  value: z.unknown(),
  unit: z.string().nullable().optional(),
  description: z.string(),
  scope: z.string().nullable().optional(),
  iteration: z.number().int().nullable().optional(),
  variant: z.string().nullable().optional(),
});

const EXPECTED: Record<string, string> = {
  journalPath: 'the path of a journal.ndjson file',
  hypotheses: 'an array of { name, description?, ok, observed, threshold, unit?, variant? }',
  measurements: 'an array of { name, value, unit?, description, scope?, iteration?, variant? }',
  settings: 'an object',
  environment: 'an object',
  exitCode: 'an integer or null',
  sustainMs: 'a duration >= 0 ms',
  latencyBudgetMs: 'a duration >= 0 ms',
  maxIntervals: 'an integer >= 0',
  bucketMs: 'a duration > 0 ms',
  maxBuckets: 'an integer >= 1',
  png: 'a boolean',
  stepSummary: 'a file path or false',
};

export const buildOptionsSchema = z.strictObject({
  journalPath: z.string().min(1),
  hypotheses: z.array(hypothesisInputSchema).optional(),
  measurements: z.array(measurementInputSchema).optional(),
  settings: freeForm.optional(),
  environment: freeForm.optional(),
  exitCode: z.number().int().nullable().optional(),
  sustainMs: duration.optional(),
  latencyBudgetMs: duration.optional(),
  maxIntervals: z.number().int().nonnegative().optional(),
  bucketMs: z.number().finite().positive().optional(),
  maxBuckets: z.number().int().min(1).optional(),
});

export const writeOptionsSchema = z.strictObject({
  png: z.boolean().optional(),
  attachmentsDir: z.string().min(1).optional(),
  stepSummary: z.union([z.string().min(1), z.literal(false)]).optional(),
});

/** Parsed options, or an InvalidArgumentError for the first bad value (its path, value and what is accepted). */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue || (issue.path.length === 0 && issue.code !== 'unrecognized_keys')) {
    throw new InvalidArgumentError(what, input, 'an options object');
  }
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    const known = Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape ?? {});
    throw new InvalidArgumentError(key, (input as Record<string, unknown>)[key], `one of the ${what} (${known.join(', ')})`);
  }
  let value: unknown = input;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  const argument = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  const top = String(issue.path[0]);
  const detail = issue.code === 'invalid_type' ? `of type ${issue.expected}` : issue.message;
  const expected = issue.path.length === 1 ? EXPECTED[top] ?? detail : `${detail} (${top}: ${EXPECTED[top] ?? 'see the docs'})`;
  throw new InvalidArgumentError(argument, value, expected);
}
