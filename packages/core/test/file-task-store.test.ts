import { describeTaskStoreConformance } from './conformance/task-store-suite.js';
import { fileHarness } from './helpers/file-harness.js';

describeTaskStoreConformance('file', (options) => fileHarness(options));
