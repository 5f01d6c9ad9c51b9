/**
 * The Redis backend of agent-team. Importing this module (or opening a
 * `redis://` URL with `openBackend`, which imports it) registers it; it needs
 * the optional peer dependency `ioredis`.
 */
import { registerRedisBackend } from '../backend.js';
import { openRedisBackend } from './redis-backend.js';

registerRedisBackend(openRedisBackend);

export { RedisBackend, openRedisBackend, type RedisBackendOptions } from './redis-backend.js';
export { RedisConnection, redactUrl, type RedisConnectionOptions } from './redis-connection.js';
export { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
export { RedisMessageStore, type RedisMessageStoreOptions } from './redis-message-store.js';
export { RedisEventStream } from './redis-event-stream.js';
