import type { JsonSchema } from './json-schema.js';
import type { GenerateRequest, ModelMessage } from './types.js';

/** ~4 characters per token, the usual rule of thumb for English text; used where a provider reports no usage. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/** Tokens a request would cost as input, by the same estimate. */
export function estimateRequestTokens(request: GenerateRequest): number {
  let chars = request.system?.length ?? 0;
  for (const message of request.messages) {
    chars += message.content.length + 4;
    for (const call of message.toolCalls ?? []) chars += call.name.length + JSON.stringify(call.arguments).length;
  }
  for (const tool of request.tools ?? []) chars += tool.name.length + tool.description.length + JSON.stringify(tool.parameters).length;
  if (request.responseFormat?.schema) chars += JSON.stringify(request.responseFormat.schema).length;
  return Math.ceil(chars / 4);
}

/** The instruction that asks for JSON when the provider cannot enforce it. */
export function jsonInstruction(schema?: JsonSchema): string {
  const base = 'Answer with one JSON value only: no prose before or after it, no code fences.';
  return schema ? `${base} It must validate against this JSON Schema:\n${JSON.stringify(schema)}` : base;
}

export function appendToSystem(system: string | undefined, extra: string): string {
  return system ? `${system}\n\n${extra}` : extra;
}

/**
 * One prompt string from a request, for plain `(prompt) => string` functions:
 * a lone user message is passed as it is; a conversation is labelled by role.
 */
export function flattenPrompt(request: GenerateRequest): string {
  const parts: string[] = [];
  if (request.system) parts.push(request.system);
  const only = request.messages.length === 1 ? request.messages[0] : undefined;
  if (only && only.role === 'user') {
    parts.push(only.content);
  } else {
    for (const message of request.messages) parts.push(renderTurn(message));
  }
  if (request.responseFormat?.type === 'json') parts.push(jsonInstruction(request.responseFormat.schema));
  return parts.join('\n\n');
}

function renderTurn(message: ModelMessage): string {
  if (message.role === 'tool') return `Tool result (${message.toolName ?? message.toolCallId ?? 'tool'}): ${message.content}`;
  const calls = (message.toolCalls ?? []).map((call) => `\n[calls ${call.name} ${JSON.stringify(call.arguments)}]`).join('');
  return `${message.role === 'user' ? 'User' : 'Assistant'}: ${message.content}${calls}`;
}

/** The text of the last user turn: what the model is being asked now. */
export function lastUserText(messages: readonly ModelMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === 'user') return message.content;
  }
  return '';
}

/** The first words of a prompt, for messages that must say which request they mean. */
export function promptPreview(request: GenerateRequest, words = 12): string {
  const text = (lastUserText(request.messages) || request.system || '').replace(/\s+/g, ' ').trim();
  const parts = text.split(' ');
  return parts.length > words ? `${parts.slice(0, words).join(' ')}...` : text;
}
