// Entry point of `npx nx run resilience:partition`.
import { runWorkflow } from '@resilience/runner';
import { partition } from './partition.ts';

const result = await runWorkflow(partition, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
