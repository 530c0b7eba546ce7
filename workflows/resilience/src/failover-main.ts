// Entry point of `npx nx run resilience:failover`.
import { runWorkflow } from '@resilience/runner';
import { failover } from './failover.ts';

const result = await runWorkflow(failover, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
