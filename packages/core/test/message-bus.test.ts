import fs from 'node:fs';
import { ManualClock, MessageBus, type MessageBusOptions, Workspace } from '../src/index.js';
import { type BusHarness, describeMessageStoreConformance } from './conformance/message-store-suite.js';
import { fingerprint } from './helpers/file-harness.js';
import { tempDir } from './helpers/processes.js';

async function fileBusHarness(options: Partial<MessageBusOptions>): Promise<BusHarness> {
  const dir = tempDir('bus-');
  const clock = new ManualClock();
  const opened: Array<{ close(): Promise<void> }> = [];
  const openBus = () => {
    const ws = Workspace.open(dir, { clock, watch: false });
    const bus = MessageBus.open({ ...options, workspace: ws });
    opened.push(bus, ws);
    return bus;
  };
  return {
    bus: openBus(),
    clock,
    openPeer: async () => openBus(),
    snapshot: async () => fingerprint(dir),
    close: async () => {
      for (const item of opened) await item.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeMessageStoreConformance('file', fileBusHarness);
