// Turns a driver promise that cannot be cancelled into one that rejects when a signal aborts,
// and hands back a value that arrives too late (a pooled client) so it is not leaked.

/** The error an aborted operation rejects with. */
export class OperationAbortedError extends Error {
  constructor(cause: unknown) {
    super('The operation was aborted (deadline reached)', { cause });
    this.name = 'OperationAbortedError';
  }
}

export function isAbortError(e: unknown): boolean {
  return e instanceof OperationAbortedError || (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError'));
}

/** A signal that never aborts: what the naive mode passes where the hardened one passes a deadline. */
export const neverAborted: AbortSignal = new AbortController().signal;

export function abortable<T>(promise: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T> {
  if (signal === neverAborted) return promise;
  const late = (): void => {
    promise.then((value) => onLate?.(value), () => undefined);
  };
  if (signal.aborted) {
    late();
    return Promise.reject(new OperationAbortedError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new OperationAbortedError(signal.reason));
      late();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
