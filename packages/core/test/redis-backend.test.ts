import { describe, it } from 'vitest';
import { describeMessageStoreConformance } from './conformance/message-store-suite.js';
import { describeTaskStoreConformance } from './conformance/task-store-suite.js';
import { redisBusHarness, redisQueueHarness } from './helpers/redis-harness.js';
import { NO_REDIS_MESSAGE, REDIS_SERVER, useRedisServer } from './helpers/redis-server.js';

if (!REDIS_SERVER) {
  describe.skip(NO_REDIS_MESSAGE, () => {
    it('needs redis-server', () => {});
  });
} else {
  const server = useRedisServer();
  describeTaskStoreConformance('redis', (options) => redisQueueHarness(server, options));
  describeMessageStoreConformance('redis', (options) => redisBusHarness(server, options));
}
