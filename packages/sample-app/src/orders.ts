// What an order is, and the validation of a request body and of the list's `limit`: bad input is
// answered 400 with the field named and the bad value shown.
import { z } from 'zod';

export const MAX_QUANTITY = 1_000_000;
export const MAX_ITEM_LENGTH = 200;

export const orderBodySchema = z.object({
  item: z.string().trim().min(1).max(MAX_ITEM_LENGTH),
  quantity: z.int().min(1).max(MAX_QUANTITY),
});

export type OrderBody = z.infer<typeof orderBodySchema>;

/** The body of PATCH /orders/:id: the new quantity, validated as POST's. */
export const quantityBodySchema = z.object({ quantity: orderBodySchema.shape.quantity });

export type QuantityBody = z.infer<typeof quantityBodySchema>;

export interface Order {
  readonly id: string;
  readonly item: string;
  readonly quantity: number;
  readonly createdAt: string;
}

export type BodyCheck<T = OrderBody> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string; readonly message: string };

const EXPECTED: Record<string, string> = {
  item: `a non-empty string of at most ${MAX_ITEM_LENGTH} characters`,
  quantity: `a whole number from 1 to ${MAX_QUANTITY}`,
};

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return `\`${text.length > 60 ? text.slice(0, 57) + '...' : text}\``;
}

/** Parses and validates a body against `schema`; `typed` and `fields` describe it in the messages. */
function parseBody<T>(text: string, schema: z.ZodType<T>, typed: string, fields: string): BodyCheck<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, field: 'body', message: `Expected the body to be JSON \`${typed}\`, got text that is not JSON` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, field: 'body', message: `Expected the body to be a JSON object ${fields}, got ${shown(json)}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const field = String(parsed.error.issues[0]?.path[0] ?? 'body');
  const value = (json as Record<string, unknown>)[field];
  return { ok: false, field, message: `Expected \`${field}\` to be ${EXPECTED[field] ?? 'valid'}, got ${shown(value)}` };
}

/** Parses and validates a POST /orders body (JSON `{ item, quantity }`; other fields are ignored). */
export function parseOrderBody(text: string): BodyCheck {
  return parseBody(text, orderBodySchema, '{ "item": string, "quantity": number }', '{ item, quantity }');
}

/** Parses and validates a PATCH /orders/:id body (JSON `{ quantity }`; other fields are ignored). */
export function parseQuantityBody(text: string): BodyCheck<QuantityBody> {
  return parseBody(text, quantityBodySchema, '{ "quantity": number }', '{ quantity }');
}

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;

export type LimitCheck =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly field: 'limit'; readonly message: string };

/**
 * The `limit` of GET /orders from its query string values (all of them, as URLSearchParams.getAll
 * gives them): none means the default; one whole number from 1 to MAX_LIST_LIMIT, written in
 * digits only (no sign, exponent or fraction: `1e2` and `20.0` are refused, not guessed at).
 */
export function parseListLimit(values: readonly string[]): LimitCheck {
  if (values.length === 0) return { ok: true, value: DEFAULT_LIST_LIMIT };
  const expected = `Expected \`limit\` to be a whole number from 1 to ${MAX_LIST_LIMIT}`;
  // As a path's id, the value is shown as sent (cut at 60 characters), not JSON-quoted.
  const raw = (v: string): string => v === '' ? 'an empty value' : `\`${v.length > 60 ? v.slice(0, 57) + '...' : v}\``;
  if (values.length > 1) return { ok: false, field: 'limit', message: `${expected}, given once, got ${values.length} values: ${values.slice(0, 5).map(raw).join(', ')}` };
  const text = values[0]!;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIST_LIMIT)) return { ok: false, field: 'limit', message: `${expected}, got ${raw(text)}` };
  return { ok: true, value: n };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isOrderId(id: string): boolean {
  return UUID.test(id);
}

/** The Redis key an order is cached under. */
export function cacheKey(id: string): string {
  return `order:${id.toLowerCase()}`;
}
