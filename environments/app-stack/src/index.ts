// @resilience/app-stack: pg-ha + redis-sentinel + the reference app on one network.
export * from './options.ts';
export * from './app.ts';
export * from './app-stack.ts';
export * from './frontend.ts';
export * from './probes.ts';
