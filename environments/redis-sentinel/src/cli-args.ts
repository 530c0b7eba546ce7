// The command line of `redis-sentinel up|down`: flags to validated options, kept apart from the
// CLI's side effects so a bad flag is tested (and rejected) without Docker.
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseOptions, type RedisSentinelOptions, type RedisSentinelSettings } from './options.ts';

export const USAGE = `Usage: redis-sentinel <command> [options]
       scripts/node environments/redis-sentinel/src/cli.ts <up|down> [options]
       npx nx run redis-sentinel:up [-- options]   npx nx run redis-sentinel:down

Commands:
  up      Provision Redis with Sentinel and leave it running (kept: sweeps leave it), print how
          to connect, and write dist/environments/redis-sentinel.json
  down    Remove the run named in dist/environments/redis-sentinel.json; without that file,
          every kept redis-sentinel run of this project found by its labels (a run that also
          holds other containers, e.g. an app-stack, is left alone)

Options of 'up':
  --replicas N                 replicas of the master (default 2)
  --sentinels N                Sentinels (default 3)
  --quorum N                   Sentinels that must agree the master is down (default: a majority)
  --down-after-ms N            Sentinel down-after-milliseconds (default 2000)
  --failover-timeout-ms N      Sentinel failover-timeout (default 5000)
  --min-replicas-to-write N    Redis min-replicas-to-write (default 0)
  --min-replicas-max-lag S     Redis min-replicas-max-lag in seconds (default 10)
  --master-name NAME           the name the Sentinels monitor (default mymaster)
  --name-prefix PREFIX         container names and aliases PREFIX-1, PREFIX-sentinel-1 (default redis)
  --network NAME               join an existing Docker network instead of creating one
  --image I                    bookworm (default, Redis 7.0) or trixie (Redis 8.0)
  --show-secrets               print the password (it is redacted otherwise)
  --json                       print the description as JSON (up and down)
  -h, --help                   show this help

Exit codes: 0 done, 1 failed, 2 bad input or setup error (nothing is left started).`;

/** Flag name to option name, for the flags that are options of provision(). */
const FLAGS = {
  replicas: 'replicas',
  sentinels: 'sentinels',
  quorum: 'quorum',
  'down-after-ms': 'downAfterMs',
  'failover-timeout-ms': 'failoverTimeoutMs',
  'min-replicas-to-write': 'minReplicasToWrite',
  'min-replicas-max-lag': 'minReplicasMaxLagSeconds',
  'master-name': 'masterName',
  'name-prefix': 'namePrefix',
  network: 'network',
  image: 'image',
} as const;

const NUMERIC = new Set<string>(['replicas', 'sentinels', 'quorum', 'downAfterMs', 'failoverTimeoutMs', 'minReplicasToWrite', 'minReplicasMaxLagSeconds']);

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'up'; readonly settings: RedisSentinelSettings; readonly options: RedisSentinelOptions; readonly showSecrets: boolean; readonly json: boolean }
  | { readonly command: 'down'; readonly json: boolean };

/** Parses argv (without node and the script); throws InvalidArgumentError for anything it cannot accept. */
export function parseCli(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    // node:util says which argument and why (unknown option, missing value) in quotes.
    const arg = /'([^']+)'/.exec((e as Error).message)?.[1] ?? argv.join(' ');
    const missing = /argument missing/.test((e as Error).message);
    throw new InvalidArgumentError('argument', arg, missing ? 'followed by a value' : 'an option listed by --help');
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  const [command, ...rest] = positionals;
  if (rest.length > 0) throw new InvalidArgumentError('argument', rest[0], 'nothing after the command');
  const json = values.json === true;
  if (command === 'down') {
    const given = Object.keys(values).filter((k) => k !== 'help' && k !== 'json' && values[k as keyof typeof values] !== undefined);
    if (given.length > 0) throw new InvalidArgumentError(`--${given[0] ?? ''}`, values[given[0] as keyof typeof values], "not given: 'down' takes only --json");
    return { command: 'down', json };
  }
  if (command !== 'up') throw new InvalidArgumentError('command', command, '`up` or `down` (see --help)');
  const options: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(FLAGS)) {
    const v = values[flag as keyof typeof values];
    if (typeof v !== 'string') continue;
    options[option] = NUMERIC.has(option) && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  const flagOf = (option: string): string => `--${Object.entries(FLAGS).find(([, o]) => o === option)?.[0] ?? option}`;
  const { engine: _engine, ...settings } = parseOptions(options, flagOf);
  return { command: 'up', settings, options: options as RedisSentinelOptions, showSecrets: values['show-secrets'] === true, json };
}

function parseFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])) as Record<keyof typeof FLAGS, { type: 'string' }>,
      'show-secrets': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
