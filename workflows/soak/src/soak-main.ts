// Entry point of `npx nx run soak:run`.
import { runWorkflow } from '@resilience/runner';
import { soak } from './soak.ts';

const result = await runWorkflow(soak, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
