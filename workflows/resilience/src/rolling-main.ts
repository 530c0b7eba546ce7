// Entry point of `npx nx run resilience:rolling`.
import { runWorkflow } from '@resilience/runner';
import { rolling } from './rolling.ts';

const result = await runWorkflow(rolling, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
