// The environment's own host-side connection to one Redis or Sentinel process (through its
// 127.0.0.1 port), for the questions it asks while waiting: short timeouts, no queueing while
// disconnected, so a dead process is an answer ("no answer") within a second instead of a hang.
import { Redis } from 'ioredis';

const TIMEOUT_MS = 1_000;

export class AdminConnection {
  readonly #redis: Redis;

  constructor(port: number, password: string) {
    this.#redis = new Redis({
      host: '127.0.0.1',
      port,
      password,
      lazyConnect: true,
      connectTimeout: TIMEOUT_MS,
      commandTimeout: TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // The ready check stays on: without it ioredis 5 can mark a connection that failed during
      // AUTH as ready and never reconnect (seen when a container port answered before the server).
      retryStrategy: () => 250,
    });
    // Failures reach the caller through the command that failed.
    this.#redis.on('error', () => undefined);
  }

  /** Sends one command; rejects when the process does not answer within a second. */
  async call(command: string, ...args: (string | number)[]): Promise<unknown> {
    if (this.#redis.status === 'wait') await this.#redis.connect();
    return this.#redis.call(command, ...args);
  }

  close(): void {
    this.#redis.disconnect();
  }
}
