// The agent's GossipSub message on its own topics: JSON `{kind, sentAt, body}`, at most
// MAX_PUBSUB_MESSAGE_BYTES. Pure decoder shared by the topic validator (which rejects anything
// else, so it is not forwarded either) and the receiver. Never throws.
export const MAX_PUBSUB_MESSAGE_BYTES = 64 * 1024;
/** A kind is a short name ("decision-published"), not content. */
export const MAX_KIND_LENGTH = 64;

export interface AgentMessagePayload {
  kind: string;
  sentAt: number;
  body: unknown;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeAgentMessage(bytes: Uint8Array): AgentMessagePayload | null {
  if (bytes.byteLength > MAX_PUBSUB_MESSAGE_BYTES) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  if (typeof o.kind !== 'string' || o.kind.length === 0 || o.kind.length > MAX_KIND_LENGTH) return null;
  if (typeof o.sentAt !== 'number' || !Number.isFinite(o.sentAt) || o.sentAt < 0) return null;
  return { kind: o.kind, sentAt: o.sentAt, body: o.body };
}
