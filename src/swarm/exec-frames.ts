// The Docker exec stream without a TTY multiplexes stdout and stderr over one connection: each
// frame is an 8-byte header (stream type, 3 zero bytes, big-endian payload length) followed by
// the payload. A pure, incremental parser (chunks may split headers and payloads anywhere), so
// the exec adapter can apply backpressure per frame instead of docker-modem's demuxStream, which
// writes without waiting and would buffer a whole pg_dump in memory behind a slow reader.

export type FrameStream = 'stdin' | 'stdout' | 'stderr';

export interface Frame {
  stream: FrameStream;
  payload: Buffer;
}

const HEADER = 8;
const STREAMS: Record<number, FrameStream> = { 0: 'stdin', 1: 'stdout', 2: 'stderr' };

/** Splits a multiplexed exec stream into frames; feed it chunks in order. */
export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);

  /** The complete frames `chunk` finishes; a partial frame is kept for the next chunk. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER) {
      const type = this.pending[at];
      const stream = STREAMS[type];
      if (stream === undefined || this.pending[at + 1] !== 0 || this.pending[at + 2] !== 0 || this.pending[at + 3] !== 0) {
        throw new Error(
          `exec stream: frame header at byte ${at} is not a Docker stream header (type ${type}); was the exec started with a TTY?`,
        );
      }
      const size = this.pending.readUInt32BE(at + 4);
      if (this.pending.length - at - HEADER < size) break;
      frames.push({ stream, payload: this.pending.subarray(at + HEADER, at + HEADER + size) });
      at += HEADER + size;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** Bytes of an unfinished frame (non-zero at the end of the stream means it was cut). */
  get buffered(): number {
    return this.pending.length;
  }
}

/** One frame as the engine sends it (tests, and anything that fakes an exec stream). */
export function encodeFrame(stream: FrameStream, payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header[0] = stream === 'stdin' ? 0 : stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
