// The hardened policy's composition (deadline, retry with backoff, breaker) against fake slow and
// failing functions; and the naive policy's lack of all three.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { hardenedPolicy, naivePolicy, DependencyUnavailableError, type HardenedPolicyOptions } from '../../src/policy.ts';

function errno(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

function policy(overrides: Partial<HardenedPolicyOptions> = {}) {
  return hardenedPolicy({
    dependency: 'database',
    timeoutMs: 200,
    retries: 2,
    backoffInitialMs: 10,
    backoffMaxMs: 20,
    breakerThreshold: 3,
    halfOpenAfterMs: 150,
    isTransient: (e) => (e as { code?: string }).code === 'ECONNREFUSED',
    isFailure: (e) => (e as { code?: string }).code !== '23505',
    ...overrides,
  });
}

/** Resolves after `ms`, or rejects as soon as the signal aborts (a cooperative slow dependency). */
function slow(ms: number, signal: AbortSignal): Promise<string> {
  return sleep(ms, 'late', { signal });
}

test('a slow call is cut at the deadline: 503-worthy error at once, its signal aborted', async (t) => {
  const p = policy();
  let seen: AbortSignal | undefined;
  const started = performance.now();
  const error = await t.throwsAsync(p.execute((signal) => {
    seen = signal;
    return sleep(5_000, 'late');
  }), { instanceOf: DependencyUnavailableError });
  const elapsed = performance.now() - started;
  t.is(error.reason, 'timeout');
  t.is(error.dependency, 'database');
  t.true(seen?.aborted);
  t.true(elapsed >= 190 && elapsed < 400, `took ${elapsed} ms`);
});

test('transient errors are retried with backoff until success', async (t) => {
  const p = policy();
  const at: number[] = [];
  const value = await p.execute(async () => {
    at.push(performance.now());
    if (at.length < 3) throw errno('ECONNREFUSED');
    return 'ok';
  });
  t.is(value, 'ok');
  t.is(at.length, 3);
  t.true(at[1]! - at[0]! >= 1 && at[2]! - at[1]! >= 1, 'each retry waits a backoff delay');
});

test('retries stop at the deadline: no attempt starts after it', async (t) => {
  const p = policy({ timeoutMs: 100, backoffInitialMs: 300, backoffMaxMs: 300 });
  let calls = 0;
  const error = await t.throwsAsync(p.execute(async () => {
    calls++;
    throw errno('ECONNREFUSED');
  }), { instanceOf: DependencyUnavailableError });
  t.is(error.reason, 'timeout');
  await sleep(400);
  t.is(calls, 1);
});

test("the caller's own errors (a constraint violation) pass through unchanged, not retried", async (t) => {
  const p = policy();
  let calls = 0;
  const original = errno('23505');
  const error = await t.throwsAsync(p.execute(async () => {
    calls++;
    throw original;
  }));
  t.is(error, original);
  t.is(calls, 1);
  t.is(p.breakerState(), 'closed');
});

test('the breaker opens after consecutive failures, then fails fast without calling', async (t) => {
  const p = policy();
  for (let i = 0; i < 3; i++) {
    const e = await t.throwsAsync(p.execute(async () => {
      throw new Error('server closed the connection');
    }), { instanceOf: DependencyUnavailableError });
    t.is(e.reason, 'failed');
  }
  t.is(p.breakerState(), 'open');
  let called = false;
  const started = performance.now();
  const error = await t.throwsAsync(p.execute(async () => {
    called = true;
    return 'x';
  }), { instanceOf: DependencyUnavailableError });
  t.is(error.reason, 'circuit open');
  t.false(called);
  t.true(performance.now() - started < 20);
});

test('timeouts count toward the breaker', async (t) => {
  const p = policy({ timeoutMs: 30 });
  for (let i = 0; i < 3; i++) {
    await t.throwsAsync(p.execute((signal) => slow(1_000, signal)), { instanceOf: DependencyUnavailableError });
  }
  t.is(p.breakerState(), 'open');
});

test('after halfOpenAfter one trial call goes through; its success closes the breaker', async (t) => {
  const changes: string[] = [];
  const p = policy({ onStateChange: (s) => changes.push(s) });
  for (let i = 0; i < 3; i++) {
    await t.throwsAsync(p.execute(async () => {
      throw new Error('down');
    }));
  }
  await sleep(200);
  t.is(await p.execute(async () => 'back'), 'back');
  t.is(p.breakerState(), 'closed');
  t.deepEqual(changes, ['open', 'half-open', 'closed']);
});

test('naive: no deadline, no retry, errors as they are', async (t) => {
  const p = naivePolicy('cache');
  t.is(p.breakerState(), undefined);
  const started = performance.now();
  t.is(await p.execute(async (signal) => {
    await sleep(300);
    return signal.aborted ? 'aborted' : 'done';
  }), 'done');
  t.true(performance.now() - started >= 290);
  let calls = 0;
  const original = errno('ECONNREFUSED');
  const error = await t.throwsAsync(p.execute(async () => {
    calls++;
    throw original;
  }));
  t.is(error, original);
  t.is(calls, 1);
});
