// @resilience/runner: the experiment runner every workflow uses.
export * from './args.ts';
export * from './console.ts';
export * from './evidence.ts';
export * from './exit-codes.ts';
export * from './hypotheses.ts';
export * from './metrics.ts';
export * from './workflow.ts';
export * from './schedule.ts';
export * from './writes.ts';
export * from './roles.ts';
export * from './options.ts';
export * from './resources.ts';
export * from './prometheus.ts';
export * from './safeguard.ts';
