// The two infra images redis-sentinel can run on (option `image`). Both hold Debian's own
// `redis-server` and `redis-sentinel` packages: Redis 7.0 on bookworm, Redis 8.0 on trixie
// (trixie still packages Redis, so no Valkey is needed). The same redis.conf and sentinel.conf
// work on both: every directive the environment writes exists in 7.0 and 8.0 alike.
import type { ImageName } from '@resilience/fixtures';

export { IMAGE_NAMES, DEFAULT_IMAGE, INFRA_IMAGES, type ImageName } from '@resilience/fixtures';

/** Redis major version of each image (what `redis-server --version` reports in it). */
export const REDIS_MAJOR: Readonly<Record<ImageName, number>> = { bookworm: 7, trixie: 8 };
