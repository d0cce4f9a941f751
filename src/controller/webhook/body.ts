// Reads a request body under a size limit and a deadline, for input nobody vouches for: a
// Content-Length over the limit is refused before a byte is read, a body that grows past it (or
// lies about its length) is cut off, and one that trickles in too slowly times out.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type BodyRead =
  | { ok: true; body: Buffer }
  | { ok: false; status: 413 | 408; reason: string }
  /** The client went away; there is nobody to answer. */
  | { ok: false; status: 0; reason: string };

export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.resolve({ ok: false, status: 413, reason: `the body is ${declared} bytes; at most ${maxBytes} are accepted` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onGone);
      if (!result.ok) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes)
        finish({ ok: false, status: 413, reason: `the body is over ${maxBytes} bytes; at most ${maxBytes} are accepted` });
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onGone = () => finish({ ok: false, status: 0, reason: 'the client closed the connection' });
    const onClose = () => {
      if (!req.complete) onGone();
    };
    const timer = setTimeout(() => finish({ ok: false, status: 408, reason: `the body did not arrive within ${timeoutMs} ms` }), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onGone);
  });
}

/**
 * Answers a request whose body was not read (whole) and closes its connection: after the answer
 * is sent the client gets a short grace to read it before the socket goes, so what it is still
 * sending is never read.
 */
export function answerAndClose(req: IncomingMessage, res: ServerResponse, send: () => void, graceMs = 1000): void {
  res.shouldKeepAlive = false;
  res.once('finish', () => {
    const socket = req.socket;
    const t = setTimeout(() => socket.destroy(), graceMs);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  });
  send();
}
