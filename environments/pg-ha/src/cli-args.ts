// The command line of `cli.ts`: `up [options]`, `down`, `--help`. Parsing is pure, and every
// option is validated (through the same zod schema as provision) before anything starts.
import { parseArgs } from 'node:util';
import { InvalidArgumentError, numericArg } from '@resilience/fixtures';
import { DEFAULTS, TIMING_DEFAULTS, parseOptions, type PgHaOptionsInput, type PgHaSettings } from './options.ts';

export const USAGE = `Usage: scripts/node environments/pg-ha/src/cli.ts <up|down> [options]
       npx nx run pg-ha:up [-- options]   npx nx run pg-ha:down

  up     Starts PostgreSQL under Patroni (etcd as DCS) behind HAProxy, kept until 'down',
         prints how to connect, and writes dist/environments/pg-ha.json.
  down   Removes the environment named in dist/environments/pg-ha.json; without that file,
         every kept pg-ha environment of this project found by its labels.

Options for up:
  --nodes N               PostgreSQL nodes, 2 to 5 (default ${DEFAULTS.nodes})
  --etcd-nodes N          etcd members: 1, 3 or 5 (default ${DEFAULTS.etcdNodes})
  --image I               bookworm (default: PostgreSQL 15, Patroni 3.0.2) or trixie
                          (PostgreSQL 17, Patroni 4.0)
  --ttl S                 Patroni leader lock TTL in seconds (default ${TIMING_DEFAULTS.bookworm.ttl} on bookworm,
                          ${TIMING_DEFAULTS.trixie.ttl} on trixie: Patroni 4 runs with no ttl below 20)
  --loop-wait S           Patroni loop period in seconds (default ${DEFAULTS.loopWait})
  --retry-timeout S       Patroni retry timeout in seconds (default ${DEFAULTS.retryTimeout}; at least 3 on trixie);
                          loop-wait + 2 x retry-timeout must not exceed ttl
  --sync                  synchronous replication (one sync standby)
  --sync-strict           synchronous, and writes wait while no sync standby exists
  --failsafe-mode         Patroni failsafe_mode: the leader stays primary through a DCS outage while it reaches every member
  --network NAME          join an existing Docker network instead of creating one
  --name-prefix P         prefix of container names and aliases (default ${DEFAULTS.namePrefix})
  --show-secrets          print connection strings with their passwords
  --json                  print the description as JSON
  -h, --help              this text

Exit codes: 0 done, 1 failed, 2 bad input or setup (nothing was started).`;

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'up'; readonly options: PgHaOptionsInput; readonly settings: PgHaSettings; readonly showSecrets: boolean; readonly json: boolean }
  | { readonly command: 'down'; readonly json: boolean };

const FLAGS: Readonly<Record<keyof PgHaOptionsInput, string>> = {
  nodes: '--nodes',
  etcdNodes: '--etcd-nodes',
  ttl: '--ttl',
  loopWait: '--loop-wait',
  retryTimeout: '--retry-timeout',
  sync: '--sync',
  failsafeMode: '--failsafe-mode',
  network: '--network',
  namePrefix: '--name-prefix',
  image: '--image',
};

export function parseCli(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    throw new InvalidArgumentError('arguments', argv.join(' '), `the options listed by --help (${(e as Error).message})`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  const [command, ...extra] = positionals;
  if (command !== 'up' && command !== 'down') throw new InvalidArgumentError('command', command, '`up` or `down`');
  if (extra.length) throw new InvalidArgumentError('arguments', extra.join(' '), 'no further positional arguments');
  const json = values.json ?? false;
  if (command === 'down') {
    const upOnly = ['nodes', 'etcd-nodes', 'ttl', 'loop-wait', 'retry-timeout', 'sync', 'sync-strict', 'failsafe-mode', 'network', 'name-prefix', 'image', 'show-secrets'] as const;
    const given = upOnly.find((k) => values[k] !== undefined);
    if (given) throw new InvalidArgumentError(`--${given}`, values[given], 'an option of `up` only (down takes --json)');
    return { command: 'down', json };
  }
  const options: Record<string, unknown> = {};
  const set = (key: keyof PgHaOptionsInput, value: unknown) => {
    if (value !== undefined) options[key] = value;
  };
  set('nodes', numericArg(values.nodes));
  set('etcdNodes', numericArg(values['etcd-nodes']));
  set('ttl', numericArg(values.ttl));
  set('loopWait', numericArg(values['loop-wait']));
  set('retryTimeout', numericArg(values['retry-timeout']));
  set('sync', values['sync-strict'] ? 'strict' : values.sync ? true : undefined);
  set('failsafeMode', values['failsafe-mode']);
  set('network', values.network);
  set('namePrefix', values['name-prefix']);
  set('image', values.image);
  // Errors name the flag the user typed, not the option's name in code.
  const settings = parseOptions(options, (key) => FLAGS[key]);
  return { command: 'up', options: options as PgHaOptionsInput, settings, showSecrets: values['show-secrets'] ?? false, json };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      nodes: { type: 'string' },
      'etcd-nodes': { type: 'string' },
      ttl: { type: 'string' },
      'loop-wait': { type: 'string' },
      'retry-timeout': { type: 'string' },
      sync: { type: 'boolean' },
      'sync-strict': { type: 'boolean' },
      'failsafe-mode': { type: 'boolean' },
      network: { type: 'string' },
      'name-prefix': { type: 'string' },
      image: { type: 'string' },
      'show-secrets': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
