import { MessageBus } from '@agent-team/core';
import { colors } from '../../team/summary.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { clipLine, printJson } from '../format.js';
import { useColor } from '../progress.js';

async function withBus<T>(opts: GlobalOptions, fn: (bus: MessageBus) => Promise<T>): Promise<T> {
  const backend = await openFromOptions(opts, { watch: false });
  const bus = MessageBus.open({ backend });
  try {
    return await fn(bus);
  } finally {
    await bus.close();
    await backend.close();
  }
}

/** `send --to AGENT|'*' TEXT`: the body is the text, or parsed JSON with --json-body. */
export async function sendCommand(text: string, opts: GlobalOptions & { to: string; from: string; kind: string; jsonBody?: boolean; task?: string }): Promise<void> {
  let body: unknown = text;
  if (opts.jsonBody) {
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new CliError(`--json-body: the message is not valid JSON (${(err as Error).message})`);
    }
  }
  const message = await withBus(opts, (bus) =>
    bus.send({ from: opts.from, to: opts.to, kind: opts.kind, body, ...(opts.task ? { taskId: opts.task } : {}) }),
  );
  if (opts.json) printJson(message);
  else console.log(message.id);
}

/** `inbox AGENT`: unread messages (kept unread unless --ack); --all shows acked ones too. */
export async function inboxCommand(agent: string, opts: GlobalOptions & { all?: boolean; ack?: boolean; limit?: number }): Promise<void> {
  const messages = await withBus(opts, async (bus) => {
    const list = opts.all ? await bus.history(agent, 0, opts.limit) : await bus.receive(agent, opts.limit ? { limit: opts.limit } : undefined);
    if (opts.ack && !opts.all && list.length > 0) await bus.ack(agent, list);
    return list;
  });
  if (opts.json) {
    printJson(messages);
    return;
  }
  if (messages.length === 0) {
    console.log(opts.all ? `No messages for ${agent}.` : `No unread messages for ${agent}.`);
    return;
  }
  const c = colors(opts.color !== false && useColor(process.stdout));
  for (const m of messages) {
    const body = typeof m.body === 'string' ? m.body : JSON.stringify(m.body);
    console.log(`${c.dim(new Date(m.ts).toISOString())}  ${c.cyan(m.kind.padEnd(16))} ${m.from} → ${m.to}${m.taskId ? c.dim(` [${m.taskId}]`) : ''}\n    ${clipLine(body, 200)}`);
  }
}
