// Entry point of `npx nx run dr:drill`.
import { runWorkflow } from '@resilience/runner';
import { drill } from './drill.ts';

const result = await runWorkflow(drill, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
