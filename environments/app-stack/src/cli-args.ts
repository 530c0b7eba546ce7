// The command line of `cli.ts`: `up [options]`, `down`, `--help`. Parsing is pure, and every
// option (the pg-ha and redis-sentinel ones passed through included) is validated by the same
// parser as provision() before anything starts; errors name the flag the user typed.
import { parseArgs } from 'node:util';
import { InvalidArgumentError, numericArg } from '@resilience/fixtures';
import { APP_DEFAULTS, parseStackOptions, type AppStackOptionsInput, type StackSettings } from './options.ts';

export const USAGE = `Usage: scripts/node environments/app-stack/src/cli.ts <up|down> [options]
       npx nx run app-stack:up [-- options]   npx nx run app-stack:down

  up     Starts pg-ha (PostgreSQL, Patroni, etcd, HAProxy) and redis-sentinel in parallel on
         one network, then the reference app in front; kept until 'down'. Prints how to connect
         and writes dist/environments/app-stack.json.
  down   Removes the environment named in dist/environments/app-stack.json; without that file,
         every kept app-stack of this project found by its labels.

Options for up:
  --mode M                 the app's mode: hardened (deadlines, retries, breakers, cache
                           fallback) or naive (plain driver calls) (default ${APP_DEFAULTS.mode})
  --instances N            app instances, 1 to 3 (default ${APP_DEFAULTS.instances})
  --sync                   Patroni synchronous mode (one sync standby)
  --image I                the infra image of both parts: bookworm (default: PostgreSQL 15,
                           Patroni 3.0.2, Redis 7.0) or trixie (PostgreSQL 17, Patroni 4.0,
                           Redis 8.0)
  --pg-nodes N             PostgreSQL nodes, 2 to 5 (default 3)
  --etcd-nodes N           etcd members: 1, 3 or 5 (default 1)
  --redis-replicas N       Redis replicas of the master (default 2)
  --sentinels N            Redis Sentinels (default 3)
  --quorum N               Sentinels that must agree the master is down (default: a majority)
  --show-secrets           print connection strings and commands with their passwords
  --json                   print the description as JSON
  -h, --help               this text

Exit codes: 0 done, 1 failed, 2 bad input or setup (nothing was started).`;

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'up'; readonly options: AppStackOptionsInput; readonly settings: StackSettings; readonly showSecrets: boolean; readonly json: boolean }
  | { readonly command: 'down'; readonly json: boolean };

/** Option path (as parseStackOptions names it) to the flag that sets it. */
const FLAGS: Readonly<Record<string, string>> = {
  mode: '--mode',
  instances: '--instances',
  'pg.sync': '--sync',
  sync: '--sync',
  image: '--image',
  'pg.image': '--image',
  'redis.image': '--image',
  'pg.nodes': '--pg-nodes',
  'pg.etcdNodes': '--etcd-nodes',
  'redis.replicas': '--redis-replicas',
  'redis.sentinels': '--sentinels',
  'redis.quorum': '--quorum',
};

function defined(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

export function parseCli(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    // node:util names the offending argument in quotes.
    const arg = /'([^']+)'/.exec((e as Error).message)?.[1] ?? argv.join(' ');
    throw new InvalidArgumentError('arguments', arg, `the options listed by --help (${(e as Error).message})`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  const [command, ...extra] = positionals;
  if (command !== 'up' && command !== 'down') throw new InvalidArgumentError('command', command, '`up` or `down`');
  if (extra.length) throw new InvalidArgumentError('arguments', extra.join(' '), 'no further positional arguments');
  const json = values.json ?? false;
  if (command === 'down') {
    const given = Object.keys(values).find((k) => k !== 'json' && values[k as keyof typeof values] !== undefined);
    if (given) throw new InvalidArgumentError(`--${given}`, values[given as keyof typeof values], 'an option of `up` only (down takes --json)');
    return { command: 'down', json };
  }
  const pg = defined({ sync: values.sync ? true : undefined, nodes: numericArg(values['pg-nodes']), etcdNodes: numericArg(values['etcd-nodes']) });
  const redis = defined({ replicas: numericArg(values['redis-replicas']), sentinels: numericArg(values.sentinels), quorum: numericArg(values.quorum) });
  const options = defined({
    mode: values.mode,
    instances: numericArg(values.instances),
    image: values.image,
    ...(Object.keys(pg).length ? { pg } : {}),
    ...(Object.keys(redis).length ? { redis } : {}),
  }) as AppStackOptionsInput;
  const settings = parseStackOptions(options, (path) => FLAGS[path] ?? path);
  return { command: 'up', options, settings, showSecrets: values['show-secrets'] ?? false, json };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      mode: { type: 'string' },
      instances: { type: 'string' },
      sync: { type: 'boolean' },
      image: { type: 'string' },
      'pg-nodes': { type: 'string' },
      'etcd-nodes': { type: 'string' },
      'redis-replicas': { type: 'string' },
      sentinels: { type: 'string' },
      quorum: { type: 'string' },
      'show-secrets': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
