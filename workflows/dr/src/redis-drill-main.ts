// Entry point of `npx nx run dr:redis-drill`.
import { runWorkflow } from '@resilience/runner';
import { redisDrill } from './redis-drill.ts';

const result = await runWorkflow(redisDrill, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
