import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentTeam, createModel, redactSecrets, registerSecret } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { BIN } from './cli-harness.js';

// Secrets in every output, including encoded forms: a password in a base URL,
// a key URL-encoded, JSON-escaped, or base64 inside an Authorization header.

const PASSWORD = 'pr0xy-Pa55/word+9';
const KEY = 'sk-test-0123456789abcdefXYZ';

/** Every form of a secret a leak could take. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64').slice(0, 12)];
}

function allFiles(dir: string): string {
  let text = '';
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) text += `${fs.readFileSync(file, 'utf8')}\n`;
    }
  };
  walk(dir);
  return text;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('faults: secrets never reach the workspace, the log or the export', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a password in the OpenAI base URL is masked in failed records, events and the export', async () => {
    dir = tempDir('fault-secrets-');
    const ws = path.join(dir, 'ws');
    const baseURL = `http://proxyuser:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await closedPort()}/v1`;
    const team = new AgentTeam({ workspace: ws, watch: false });
    team.addAgent('w1', 'worker', createModel('openai:gpt-4.1-mini', { baseURL, apiKey: KEY, maxRetries: 0 }));
    await team.addTask('say hi', { maxAttempts: 1 });
    const summary = await team.run({ timeoutMs: 30_000 });
    await team.close();
    expect(summary.failed).toBe(1);
    const onDisk = allFiles(ws);
    expect(onDisk).toMatch(/could not reach openai/);
    const exported = spawnSync(process.execPath, [BIN, 'export', '--format', 'json', '-w', ws], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(exported.status).toBe(0);
    const shown = spawnSync(process.execPath, [BIN, 'tasks', 'list', '--json', '-w', ws], { encoding: 'utf8' });
    for (const text of [onDisk, exported.stdout, exported.stderr, shown.stdout]) {
      for (const form of [...forms(PASSWORD), ...forms(KEY)]) expect(text).not.toContain(form);
    }
  });

  it('encoded forms of a registered key and Basic/Bearer headers are masked', () => {
    registerSecret(KEY);
    const basic = Buffer.from(`proxyuser:${PASSWORD}`).toString('base64');
    const samples = [
      `url: https://api.example.com/v1?key=${encodeURIComponent(KEY)}`,
      `json: ${JSON.stringify({ note: `key "${KEY}"` })}`,
      `header blob: ${Buffer.from(`Authorization: Bearer ${KEY}`).toString('base64')}`,
      `header blob: ${Buffer.from(`x${KEY}`).toString('base64')}`,
      `header blob: ${Buffer.from(`xy${KEY}`).toString('base64')}`,
      `Authorization: Basic ${basic}`,
      `https://proxyuser:${encodeURIComponent(PASSWORD)}@proxy.example.com/`,
    ];
    for (const sample of samples) {
      const out = redactSecrets(sample);
      expect(out).toContain('[redacted]');
      expect(out).not.toContain(KEY);
      expect(out).not.toContain(encodeURIComponent(PASSWORD));
      expect(out).not.toContain(basic);
      for (const pad of ['', 'x', 'xy']) {
        const b64 = Buffer.from(`${pad}${KEY}`).toString('base64');
        expect(out).not.toContain(b64.slice(4, 24));
      }
    }
  });
});
