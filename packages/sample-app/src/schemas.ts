// The app's HTTP contract: a zod schema for every response body it sends (success and error,
// cached and uncached reads, degraded answers), which dependencies each route needs, and the
// JSON Schema document generated from them that GET /schema serves. The app does not validate
// its own answers at run time (that would cost every request); it types them against these
// schemas at compile time, and clients (the contract probe in @resilience/fixtures) check them.
import { z } from 'zod';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './orders.ts';

/** A dependency as the runner's scopes name it: PostgreSQL (the app's `database`), Redis (its `cache`). */
export type Scope = 'postgres' | 'redis';

const dependencyState = z.enum(['up', 'down', 'not configured']);
const breakerState = z.enum(['closed', 'open', 'half-open', 'isolated']);
const faultStats = z.strictObject({ calls: z.int().min(0), exception: z.int().min(0), delay: z.int().min(0), corrupt: z.int().min(0) });

export const healthSchema = z.strictObject({
  status: z.enum(['ok', 'degraded', 'down', 'stopping']),
  mode: z.enum(['hardened', 'naive']),
  dependencies: z.strictObject({ database: dependencyState, cache: dependencyState }),
  breakers: z.strictObject({ database: breakerState.optional(), cache: breakerState.optional() }).optional(),
  uptimeSeconds: z.int().min(0),
  faults: z.record(z.string(), faultStats).optional(),
});

const orderFields = {
  id: z.uuid(),
  item: z.string().min(1),
  quantity: z.int().min(1),
  createdAt: z.iso.datetime(),
};

export const createdOrderSchema = z.strictObject({
  ...orderFields,
  /** The PostgreSQL server that committed the order; null over a Unix socket. */
  server: z.string().nullable(),
});

/** An order after PATCH /orders/:id: as committed in PostgreSQL. */
export const updatedOrderSchema = z.strictObject(orderFields);

/** A read answered from Redis (`x-cache: hit`). */
export const cachedOrderSchema = z.strictObject({ ...orderFields, source: z.literal('cache') });
/** A read answered from PostgreSQL (`x-cache: miss`, or `none` without a cache). */
export const databaseOrderSchema = z.strictObject({ ...orderFields, source: z.literal('database') });

/** The newest orders, newest first, straight from PostgreSQL (the list is never cached). */
export const orderListSchema = z.strictObject({ orders: z.array(z.strictObject(orderFields)).max(MAX_LIST_LIMIT) });

export const infoSchema = z.strictObject({
  app: z.literal('sample-app'),
  mode: z.enum(['hardened', 'naive']),
  /** The host name: which instance answered, behind a load balancer. */
  instance: z.string(),
  uptimeSeconds: z.int().min(0),
  /** Requests per second and burst of the token bucket; null when rate limiting is off. */
  rateLimit: z.strictObject({ perSecond: z.int().min(1), burst: z.int().min(1) }).nullable(),
});

export const invalidInputSchema = z.strictObject({
  error: z.enum(['invalid body', 'invalid id', 'invalid query']),
  field: z.string(),
  message: z.string(),
});
export const tooLargeSchema = z.strictObject({ error: z.literal('body too large'), field: z.literal('body'), message: z.string() });
export const orderNotFoundSchema = z.strictObject({ error: z.literal('order not found'), id: z.string() });
export const notFoundSchema = z.strictObject({ error: z.literal('not found'), path: z.string() });
export const methodNotAllowedSchema = z.strictObject({ error: z.literal('method not allowed'), allow: z.string() });
export const rateLimitedSchema = z.strictObject({
  error: z.literal('rate limited'),
  /** The same wait as the Retry-After header, in milliseconds (the header has whole seconds). */
  retryAfterMs: z.int().min(1),
});
export const internalErrorSchema = z.strictObject({ error: z.literal('internal error') });
/** A dependency the route needs is not configured, or could not serve the call in time. */
export const unavailableSchema = z.union([
  z.strictObject({ error: z.literal('database not configured') }),
  z.strictObject({
    error: z.enum(['database unavailable', 'cache unavailable']),
    reason: z.enum(['timeout', 'circuit open', 'failed']),
  }),
]);

export type HealthBody = z.infer<typeof healthSchema>;
export type CreatedOrderBody = z.infer<typeof createdOrderSchema>;
export type UpdatedOrderBody = z.infer<typeof updatedOrderSchema>;
export type OrderListBody = z.infer<typeof orderListSchema>;
export type InfoBody = z.infer<typeof infoSchema>;
export type InvalidInputBody = z.infer<typeof invalidInputSchema>;
export type TooLargeBody = z.infer<typeof tooLargeSchema>;
export type OrderNotFoundBody = z.infer<typeof orderNotFoundSchema>;
export type NotFoundBody = z.infer<typeof notFoundSchema>;
export type MethodNotAllowedBody = z.infer<typeof methodNotAllowedSchema>;
export type RateLimitedBody = z.infer<typeof rateLimitedSchema>;
export type InternalErrorBody = z.infer<typeof internalErrorSchema>;
export type UnavailableBody = z.infer<typeof unavailableSchema>;

/** One answer of a route: a JSON body with its schema, or text of a content type. */
type ResponseContract =
  | { readonly description: string; readonly schema: z.ZodType }
  | { readonly description: string; readonly contentType: 'text/html' | 'text/plain' };

interface RouteContract {
  readonly method: 'GET' | 'POST' | 'PATCH';
  /** `:name` stands for one path segment. */
  readonly path: string;
  readonly description: string;
  /** What the route calls; [] for routes that answer without any dependency. */
  readonly dependencies: readonly Scope[];
  /** Whether the route is one users call (the others are for operators and monitoring). */
  readonly user: boolean;
  /** Whether the route is subject to APP_RATE_LIMIT (/health, /metrics and /schema are not). */
  readonly rateLimited: boolean;
  readonly responses: Readonly<Record<number, ResponseContract>>;
}

const rateLimited: ResponseContract = { description: 'over APP_RATE_LIMIT; a Retry-After header says when to retry', schema: rateLimitedSchema };
const internal: ResponseContract = { description: 'a bug (or, in naive mode, a dependency error passed through)', schema: internalErrorSchema };
const unavailable: ResponseContract = { description: 'a dependency the route needs is not configured, timed out, failed, or its breaker is open', schema: unavailableSchema };
const invalidId: ResponseContract = { description: 'the id is not a UUID', schema: invalidInputSchema };

/** The routes in the order the app matches them. HEAD is answered wherever GET is. */
export const ROUTES: readonly RouteContract[] = [
  {
    method: 'GET', path: '/', description: 'the page with the place and look-up forms and the list of the newest orders', dependencies: [], user: true, rateLimited: true,
    responses: { 200: { description: 'the page', contentType: 'text/html' }, 429: rateLimited, 500: internal },
  },
  {
    method: 'GET', path: '/api/info', description: 'which app instance this is, with no dependency asked: the control for blast-radius measurements', dependencies: [], user: true, rateLimited: true,
    responses: { 200: { description: 'the instance', schema: infoSchema }, 429: rateLimited, 500: internal },
  },
  {
    method: 'POST', path: '/orders', description: 'place an order (PostgreSQL)', dependencies: ['postgres'], user: true, rateLimited: true,
    responses: {
      201: { description: 'committed; Location names the order', schema: createdOrderSchema },
      400: { description: 'the body is not `{ item, quantity }`', schema: invalidInputSchema },
      413: { description: 'the body is over 16 KiB', schema: tooLargeSchema },
      429: rateLimited, 500: internal, 503: unavailable,
    },
  },
  {
    method: 'GET', path: '/orders', description: `the newest orders, newest first (PostgreSQL); \`?limit=\` 1 to ${MAX_LIST_LIMIT}, default ${DEFAULT_LIST_LIMIT}`, dependencies: ['postgres'], user: true, rateLimited: true,
    responses: {
      200: { description: '`{ orders }`, at most `limit` of them', schema: orderListSchema },
      400: { description: `\`limit\` is not a whole number from 1 to ${MAX_LIST_LIMIT} (given once)`, schema: invalidInputSchema },
      429: rateLimited, 500: internal, 503: unavailable,
    },
  },
  {
    method: 'GET', path: '/orders/:id', description: 'read an order: Redis first (cache-aside), PostgreSQL on a miss', dependencies: ['redis', 'postgres'], user: true, rateLimited: true,
    responses: {
      200: { description: 'the order, from the cache or the database (`source` says which)', schema: z.union([cachedOrderSchema, databaseOrderSchema]) },
      400: invalidId,
      404: { description: 'no such order', schema: orderNotFoundSchema },
      429: rateLimited, 500: internal, 503: unavailable,
    },
  },
  {
    method: 'PATCH', path: '/orders/:id', description: 'set an order\'s quantity (PostgreSQL), then delete its cache entry (hardened) or overwrite it (naive, write-through)', dependencies: ['postgres', 'redis'], user: true, rateLimited: true,
    responses: {
      200: { description: 'committed: the order with its new quantity (hardened: also when its cache entry could not be deleted)', schema: updatedOrderSchema },
      400: { description: 'the id is not a UUID, or the body is not `{ quantity }`', schema: invalidInputSchema },
      404: { description: 'no such order', schema: orderNotFoundSchema },
      413: { description: 'the body is over 16 KiB', schema: tooLargeSchema },
      429: rateLimited, 500: internal, 503: unavailable,
    },
  },
  {
    method: 'GET', path: '/health', description: 'dependency and breaker state; 503 when the app cannot serve', dependencies: ['postgres', 'redis'], user: false, rateLimited: false,
    responses: { 200: { description: 'ok or degraded', schema: healthSchema }, 503: { description: 'down or stopping', schema: healthSchema }, 500: internal },
  },
  {
    method: 'GET', path: '/metrics', description: 'Prometheus text', dependencies: ['postgres', 'redis'], user: false, rateLimited: false,
    responses: { 200: { description: 'the metrics', contentType: 'text/plain' }, 500: internal },
  },
  {
    method: 'GET', path: '/schema', description: 'this document', dependencies: [], user: false, rateLimited: false,
    responses: { 200: { description: 'the contract', schema: z.record(z.string(), z.unknown()) }, 500: internal },
  },
];

/** What any other method or path is answered with. */
const FALLBACK: Readonly<Record<number, ResponseContract>> = {
  404: { description: 'no route has this path', schema: notFoundSchema },
  405: { description: 'the path exists with another method (the Allow header names it)', schema: methodNotAllowedSchema },
  429: rateLimited,
  500: internal,
};

/** One answer in the JSON document: a JSON Schema for a JSON body, or the content type of a text one. */
export type ResponseDocument =
  | { readonly description: string; readonly contentType: 'application/json'; readonly schema: Record<string, unknown> }
  | { readonly description: string; readonly contentType: 'text/html' | 'text/plain' };

/** A route as GET /schema serves it: its contract, each response's schema as JSON Schema. */
export interface RouteDocument extends Omit<RouteContract, 'responses'> {
  readonly responses: Readonly<Record<string, ResponseDocument>>;
}

/** What GET /schema answers: the contract as data, for clients in any language. */
export interface ContractDocument {
  readonly title: string;
  readonly version: 1;
  readonly routes: readonly RouteDocument[];
  /** Answers to a method or path no route has. */
  readonly fallback: { readonly responses: Readonly<Record<string, ResponseDocument>> };
}

function responsesDocument(responses: Readonly<Record<number, ResponseContract>>): Record<string, ResponseDocument> {
  return Object.fromEntries(Object.entries(responses).map(([status, r]) => [status, 'schema' in r
    ? { description: r.description, contentType: 'application/json' as const, schema: z.toJSONSchema(r.schema, { target: 'draft-2020-12' }) as Record<string, unknown> }
    : { description: r.description, contentType: r.contentType }]));
}

let document: ContractDocument | undefined;

/** The app's contract with a JSON Schema (draft 2020-12) per JSON answer; built once. */
export function contractDocument(): ContractDocument {
  document ??= {
    title: 'sample-app HTTP contract',
    version: 1,
    routes: ROUTES.map((r) => ({
      method: r.method, path: r.path, description: r.description, dependencies: r.dependencies, user: r.user, rateLimited: r.rateLimited,
      responses: responsesDocument(r.responses),
    })),
    fallback: { responses: responsesDocument(FALLBACK) },
  };
  return document;
}
