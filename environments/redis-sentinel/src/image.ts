// The two infra images redis-sentinel can run on (option `image`). Both hold Debian's own
// `redis-server` and `redis-sentinel` packages: Redis 7.0 on bookworm, Redis 8.0 on trixie
// (trixie still packages Redis, so no Valkey is needed). The same redis.conf and sentinel.conf
// work on both: every directive the environment writes exists in 7.0 and 8.0 alike.
import { Images } from '@resilience/fixtures';

export const IMAGE_NAMES = ['bookworm', 'trixie'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];
export const DEFAULT_IMAGE: ImageName = 'bookworm';

/** The tag of each infra image; built by `npx nx run docker:images` (docker/infra, docker/infra-trixie). */
export const INFRA_IMAGES: Readonly<Record<ImageName, string>> = {
  bookworm: Images.infra,
  trixie: Images.infraTrixie,
};

/** Redis major version of each image (what `redis-server --version` reports in it). */
export const REDIS_MAJOR: Readonly<Record<ImageName, number>> = { bookworm: 7, trixie: 8 };
