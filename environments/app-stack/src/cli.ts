// Entry point of `npx nx run app-stack:up|down`: parses, runs the command, maps errors to exit
// codes (2 for bad input or setup, with nothing started; 1 for anything else).
import { isResilienceError } from '@resilience/fixtures';
import { USAGE, parseCli } from './cli-args.ts';
import { down, up, type Output } from './commands.ts';

export async function main(argv: readonly string[], io: Output): Promise<number> {
  try {
    const cli = parseCli(argv);
    if (cli.command === 'help') {
      io.out(USAGE);
      return 0;
    }
    if (cli.command === 'up') return await up(cli.options, { showSecrets: cli.showSecrets, json: cli.json }, io);
    return await down({ json: cli.json }, io);
  } catch (e) {
    if (isResilienceError(e)) {
      io.err(`app-stack: ${e.message}`);
      if (e.exitCode === 2 && e.name === 'InvalidArgumentError') io.err('Run with --help for the options.');
      return e.exitCode;
    }
    io.err(`app-stack: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
  });
  process.exit(code);
}
