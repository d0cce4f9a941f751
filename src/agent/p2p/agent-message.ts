// The agent's GossipSub message on its own topics: JSON `{kind, sentAt, body}`, at most
// MAX_PUBSUB_MESSAGE_BYTES. Pure decoder shared by the topic validator (which rejects anything
// else, so it is not forwarded either) and the receiver. Never throws.
export const MAX_PUBSUB_MESSAGE_BYTES = 64 * 1024;
/** A kind is a short name ("decision-published"), not content. */
export const MAX_KIND_LENGTH = 64;
/** Nesting of the body: handlers (and anything that stringifies it) recurse, a peer must not pick the depth. */
export const MAX_BODY_DEPTH = 32;

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
    const text = decoder.decode(bytes);
    if (nesting(text) > MAX_BODY_DEPTH + 1) return null;
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  if (typeof o.kind !== 'string' || o.kind.length === 0 || o.kind.length > MAX_KIND_LENGTH) return null;
  if (typeof o.sentAt !== 'number' || !Number.isFinite(o.sentAt) || o.sentAt < 0) return null;
  return { kind: o.kind, sentAt: o.sentAt, body: o.body };
}

/** Deepest bracket nesting of a JSON text, outside strings (one pass, no recursion). */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) max = Math.max(max, ++depth);
    else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return max;
}
