// Reads an HTTP answer's body (fetch's Response) up to a size limit, checked as the bytes arrive,
// never after: a peer that declares or streams more than allowed is cut off. Used wherever the
// controller reads what agents or a Prometheus send (DESIGN.md, threat model).

/** The body as UTF-8 text; throws when it is declared or turns out larger than `maxBytes`. `what` names the source in the error. */
export async function readBodyUpTo(res: Response, maxBytes: number, what: string): Promise<string> {
  return (await readBytesUpTo(res, maxBytes, what)).toString('utf8');
}

/** The body's bytes; throws when it is declared or turns out larger than `maxBytes`. */
export async function readBytesUpTo(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new Error(`${what} answered ${declared} bytes, more than the ${maxBytes} allowed`);
  }
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`${what} answered more than the ${maxBytes} bytes allowed`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
