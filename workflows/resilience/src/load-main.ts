// Entry point of `npx nx run resilience:load`.
import { runWorkflow } from '@resilience/runner';
import { load } from './load.ts';

const result = await runWorkflow(load, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
