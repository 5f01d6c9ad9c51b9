import type { CompactReport, Message } from './types.js';

/**
 * The storage seam of the message bus. {@link MessageBus} validates and stamps
 * messages; a store delivers them. Contracts: concurrent senders never lose a
 * message; each reader sees its messages in per-sender order; a message acked
 * by a reader is never delivered to that reader again; unacked messages
 * survive a crash of the reader.
 */
export interface MessageStore {
  readonly kind: string;
  /** Makes `agentId` a member: broadcasts sent from now on reach it. */
  register(agentId: string): Promise<void>;
  /** Agents that receive broadcasts. */
  members(): Promise<string[]>;
  /** Delivers to `message.to` (or every member but the sender for `'*'`). Returns the recipients. */
  send(message: Message): Promise<string[]>;
  /** Unacked messages for `agentId`, oldest first (per-sender order guaranteed). */
  receive(agentId: string, limit?: number): Promise<Message[]>;
  /** Moves messages past the reader's cursor. Returns how many were acked. */
  ack(agentId: string, messageIds: readonly string[]): Promise<number>;
  /** Acked and unacked messages for `agentId` sent after `since` (epoch ms), oldest first. */
  history(agentId: string, since: number, limit?: number): Promise<Message[]>;
  /** Packs archived messages and drops expired ones. */
  compact(agentId?: string): Promise<CompactReport>;
  /** A counter that moves when a message may have arrived. */
  changeVersion(): number;
  /** Resolves when a message may have arrived (a hint), after `timeoutMs`, or at once if `since` is stale. */
  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void>;
  close(): Promise<void>;
}
