// How each call to a dependency is made. Hardened: cockatiel's timeout (the whole call's
// deadline) around a retry with exponential backoff and jitter (fast transient errors only)
// around a circuit breaker; a failure comes out as DependencyUnavailableError. Naive: the call
// as it is, with no deadline and no fallback.
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, TaskCancelledError, TimeoutStrategy,
  circuitBreaker, handleWhen, isBrokenCircuitError, isTaskCancelledError, retry, timeout, wrap,
} from 'cockatiel';
import { isAbortError, neverAborted } from './abort.ts';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface DependencyPolicy {
  readonly dependency: string;
  /** Runs `fn`; hardened policies abort `signal` at the deadline and reject at once. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** The circuit breaker's state; undefined when there is none (naive). */
  breakerState(): BreakerState | undefined;
}

export type UnavailableReason = 'timeout' | 'circuit open' | 'failed';

/** The dependency could not serve the call in time: callers answer 503 or fall back. */
export class DependencyUnavailableError extends Error {
  readonly dependency: string;
  readonly reason: UnavailableReason;
  constructor(dependency: string, reason: UnavailableReason, cause: unknown) {
    const detail = reason === 'failed' && cause instanceof Error ? `: ${cause.message}` : '';
    super(`${dependency} unavailable (${reason})${detail}`, { cause });
    this.name = 'DependencyUnavailableError';
    this.dependency = dependency;
    this.reason = reason;
  }
}

export function isDependencyUnavailableError(e: unknown): e is DependencyUnavailableError {
  return e instanceof DependencyUnavailableError;
}

export interface HardenedPolicyOptions {
  readonly dependency: string;
  /** Deadline of the whole call, retries and backoff included. */
  readonly timeoutMs: number;
  /** Extra attempts after a transient error (each still inside the deadline). */
  readonly retries: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Consecutive failures that open the breaker. */
  readonly breakerThreshold: number;
  readonly halfOpenAfterMs: number;
  /** Errors worth another attempt at once (connection refused or reset, failover errors). */
  readonly isTransient: (e: Error) => boolean;
  /** Errors that say the dependency is unwell (counted by the breaker); others are the caller's. */
  readonly isFailure: (e: Error) => boolean;
  readonly onStateChange?: (state: BreakerState) => void;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

export function hardenedPolicy(options: HardenedPolicyOptions): DependencyPolicy {
  const counts = (e: Error): boolean => isAbortError(e) || isTaskCancelledError(e) || options.isFailure(e);
  const breaker = circuitBreaker(handleWhen(counts), {
    halfOpenAfter: options.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  const retrying = retry(handleWhen((e) => !isBrokenCircuitError(e) && !isAbortError(e) && options.isTransient(e)), {
    maxAttempts: options.retries,
    // Decorrelated jitter (cockatiel's default generator) so callers do not retry in step.
    backoff: new ExponentialBackoff({ initialDelay: options.backoffInitialMs, maxDelay: options.backoffMaxMs }),
  });
  const deadline = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  const policy = wrap(deadline, retrying, breaker);
  if (options.onStateChange) {
    const notify = options.onStateChange;
    breaker.onStateChange((s) => notify(STATES[s]));
  }
  return {
    dependency: options.dependency,
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
      try {
        return await policy.execute(({ signal }) => {
          // A retry can start after the deadline passed: do not call the dependency then.
          signal.throwIfAborted();
          return fn(signal);
        });
      } catch (e) {
        if (e instanceof BrokenCircuitError) throw new DependencyUnavailableError(options.dependency, 'circuit open', e);
        if (e instanceof TaskCancelledError || isAbortError(e)) throw new DependencyUnavailableError(options.dependency, 'timeout', e);
        if (e instanceof Error && options.isFailure(e)) throw new DependencyUnavailableError(options.dependency, 'failed', e);
        throw e;
      }
    },
    breakerState: () => STATES[breaker.state],
  };
}

export function naivePolicy(dependency: string): DependencyPolicy {
  return {
    dependency,
    execute: (fn) => fn(neverAborted),
    breakerState: () => undefined,
  };
}
