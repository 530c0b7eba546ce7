// @resilience/redis-sentinel: Redis with Sentinel (one master, replicas, Sentinels) in containers.
export * from './options.ts';
export * from './image.ts';
export * from './config.ts';
export * from './replies.ts';
export * from './redis-sentinel.ts';
export * from './provision.ts';
export { redisSentinelStateFile, type RedisSentinelState } from './state.ts';
