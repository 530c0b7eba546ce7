// Entry point of `npx nx run resilience:cascade`.
import { runWorkflow } from '@resilience/runner';
import { cascade } from './cascade.ts';

const result = await runWorkflow(cascade, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
