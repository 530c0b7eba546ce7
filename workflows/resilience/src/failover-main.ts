// Entry point of `npx nx run resilience:failover`.
import { runWorkflow } from '@resilience/runner';
import { failover } from './failover.ts';

const argv = process.argv.slice(2);
const result = await runWorkflow(failover, { argv, png: !argv.includes('--no-png') && !argv.includes('--png=false') });
process.exit(result.exitCode);
