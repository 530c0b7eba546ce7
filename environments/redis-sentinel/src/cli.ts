// Entry point of `npx nx run redis-sentinel:up|down` (the shared environment command line of fixtures).
import { processOutput, runEnvironmentCli, type Output } from '@resilience/fixtures';
import { USAGE, parseCli } from './cli-args.ts';
import { down, up } from './commands.ts';

export async function main(argv: readonly string[], io: Output): Promise<number> {
  return runEnvironmentCli({
    environment: 'redis-sentinel',
    usage: USAGE,
    parse: parseCli,
    up: (cli, out) => up(cli.options, { showSecrets: cli.showSecrets, json: cli.json }, out),
    down,
  }, argv, io);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2), processOutput));
