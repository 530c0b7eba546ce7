// The failover workflow's options, validated before anything starts (exit 2 on bad input).
import { z } from 'zod';
import { boolOption, durationOption, optionalDurationOption } from '@resilience/runner';
import { INFRA_IMAGES } from '@resilience/fixtures';

export const bool = boolOption;
export const duration = durationOption;
/** A duration flag without a default: undefined when not given. */
export const optionalDuration = optionalDurationOption;

export const FailoverOptions = z.object({
  system: z.enum(['postgres', 'redis', 'both']).default('both'),
  fault: z.enum(['kill', 'stop', 'pause', 'disconnect']).default('kill'),
  iterations: z.coerce.number().int().min(1).max(50).default(1),
  sync: bool.default(false),
  appMode: z.enum(['hardened', 'naive', 'both']).default('hardened'),
  image: z.enum(['bookworm', 'trixie', 'both']).default('bookworm'),
  steady: duration('--steady', '10s'),
  after: duration('--after', '5s'),
  timeout: duration('--timeout', '60s'),
  interval: duration('--interval', '10ms'),
}).strict();

export type FailoverOptionsT = z.infer<typeof FailoverOptions>;

export const USAGE = `Usage: npx nx run resilience:failover [--system postgres|redis|both] [--fault kill|stop|pause|disconnect]
                                     [--iterations N] [--sync] [--app-mode hardened|naive|both]
                                     [--image bookworm|trixie|both]
                                     [--steady 10s] [--after 5s] [--timeout 60s] [--interval 10ms]

  --system      what fails: the Patroni primary, the Redis primary, or both in turn (default both)
  --fault       how it fails (default kill): kill = SIGKILL, stop = graceful stop,
                pause = frozen, disconnect = cut off the network; healed after the failover
  --iterations  repeat the failover N times and report the RTO distribution (default 1)
  --sync        Patroni synchronous mode
  --app-mode    the reference app's mode (default hardened); both = two variants side by side
  --image       the systems under test (default bookworm): bookworm = PostgreSQL 15, Patroni 3.0.2,
                Redis 7; trixie = PostgreSQL 17, Patroni 4.0, Redis 8; both = side by side
  --steady      steady state before each failover (default 10s)
  --after       observation after each recovery (default 5s)
  --timeout     longest wait for a failover or a recovery (default 60s)
  --interval    probe interval (default 10ms)`;

export type AppMode = 'hardened' | 'naive';
export type Image = 'bookworm' | 'trixie';

/** What the runner checks before it starts: each image the variants run on, by `--image` value. */
export function imagesNeeded(images: readonly Image[]): { flag: string; value: string; tag: string }[] {
  return [...new Set(images)].map((image) => ({ flag: '--image', value: image, tag: INFRA_IMAGES[image] }));
}

/** The images `--image` asks for. */
export function imageList(image: Image | 'both'): Image[] {
  return image === 'both' ? ['bookworm', 'trixie'] : [image];
}

/** One setup of the matrix: the variant's name and what it runs. */
export interface Setup {
  readonly name: string;
  readonly mode: AppMode;
  readonly image: Image;
}

/**
 * The variants `--app-mode` and `--image` ask for: one per combination when either is `both`,
 * named by what varies (`naive`, `trixie`, `trixie-naive`); none (one unnamed run) otherwise.
 */
export function setups(o: Pick<FailoverOptionsT, 'appMode' | 'image'>): Setup[] {
  const modes: AppMode[] = o.appMode === 'both' ? ['hardened', 'naive'] : [o.appMode];
  const images = imageList(o.image);
  const out: Setup[] = [];
  for (const image of images) {
    for (const mode of modes) {
      const parts = [...(images.length > 1 ? [image] : []), ...(modes.length > 1 ? [mode] : [])];
      out.push({ name: parts.join('-'), mode, image });
    }
  }
  return out;
}
