// The two infra images pg-ha can run on (option `image`), and what differs between them for
// PostgreSQL and Patroni. Versions are what Debian's packages hold (checked with apt and
// `--version` inside each image); the Patroni limits are Patroni's own (see below).
import { INFRA_IMAGES, type ImageName } from '@resilience/fixtures';

export { IMAGE_NAMES, DEFAULT_IMAGE, INFRA_IMAGES, type ImageName } from '@resilience/fixtures';

/** Patroni timing values: seconds. */
export interface PatroniTimings {
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
}

export interface PgImageProfile {
  readonly image: ImageName;
  readonly tag: string;
  readonly debian: string;
  /** PostgreSQL major version of the image. */
  readonly postgresMajor: number;
  /** Where its binaries live (Patroni's `postgresql.bin_dir`). */
  readonly binDir: string;
  /** Versions as the image's packages hold them (for messages and READMEs; tests read the real ones). */
  readonly versions: { readonly postgres: string; readonly patroni: string; readonly etcd: string; readonly haproxy: string };
  /**
   * The smallest values this Patroni accepts. Patroni 3.0.2 takes any value >= 1. Patroni >= 3.2
   * (`Config._validate_and_adjust_timeouts`, also in 4.0.7's patroni/config.py) raises
   * `loop_wait` < 1, `retry_timeout` < 3 and `ttl` < 20 to those values with only a warning
   * in its log, and then lowers loop_wait (or retry_timeout) until
   * `loop_wait + 2*retry_timeout <= ttl`. pg-ha refuses such values instead, so the settings
   * it reports are the ones Patroni runs with.
   */
  readonly minimums: PatroniTimings;
  /** Lab-fast defaults that are valid for this Patroni. */
  readonly defaults: PatroniTimings;
  /**
   * The `/cluster` state of a replica whose WAL receiver streams: Patroni 4 reports `streaming`
   * (from pg_stat_wal_receiver; `running` while it is not streaming yet), Patroni 3.0.2 reports
   * `running` either way. Where it can, waitHealthy waits for `streaming`.
   */
  readonly streamingState: 'streaming' | 'running';
}

export const PG_IMAGES: Readonly<Record<ImageName, PgImageProfile>> = {
  bookworm: {
    image: 'bookworm',
    tag: INFRA_IMAGES.bookworm,
    debian: 'Debian 12 (bookworm)',
    postgresMajor: 15,
    binDir: '/usr/lib/postgresql/15/bin',
    versions: { postgres: '15', patroni: '3.0.2', etcd: '3.4', haproxy: '2.6' },
    minimums: { ttl: 1, loopWait: 1, retryTimeout: 1 },
    defaults: { ttl: 10, loopWait: 2, retryTimeout: 4 },
    streamingState: 'running',
  },
  trixie: {
    image: 'trixie',
    tag: INFRA_IMAGES.trixie,
    debian: 'Debian 13 (trixie)',
    postgresMajor: 17,
    binDir: '/usr/lib/postgresql/17/bin',
    versions: { postgres: '17', patroni: '4.0.7', etcd: '3.5', haproxy: '3.0' },
    minimums: { ttl: 20, loopWait: 1, retryTimeout: 3 },
    // ttl 20 is the least Patroni 4 runs with; loop_wait and retry_timeout as on bookworm
    // (2 + 2 × 4 = 10 <= 20): a DCS blip under 4 s still does not demote the leader.
    defaults: { ttl: 20, loopWait: 2, retryTimeout: 4 },
    streamingState: 'streaming',
  },
};
