// The v1 conversation log read over SSH: SFTP, so no shell runs and no command line is built from
// the path; one connection per read, closed when the log has been read, on an error, on abort, or
// when the consumer stops early. Backpressure: the next chunk is asked for only once the consumer
// took the last one, so a slow importer never makes the operator hold the log in memory.
import type { Logger } from '../util/log.js';
import { SshConnection, checkRemotePath } from './ssh.js';
import type { V1HostTarget, V1LogReader } from './types.js';

export class SshV1LogReader implements V1LogReader {
  constructor(private readonly opts: { privateKey: string; log?: Logger; chunkBytes?: number }) {}

  async *read(host: V1HostTarget, path: string, o: { maxBytes: number; signal?: AbortSignal }): AsyncGenerator<Buffer> {
    checkRemotePath(path, 'v1 log');
    const conn = await SshConnection.connect(host, this.opts.privateKey);
    const started = Date.now();
    let bytes = 0;
    try {
      for await (const chunk of conn.readFileStream(path, {
        maxBytes: o.maxBytes,
        what: `the v1 log ${path}`,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(this.opts.chunkBytes ? { chunkBytes: this.opts.chunkBytes } : {}),
      })) {
        bytes += chunk.length;
        yield chunk;
      }
      this.opts.log?.debug({ host: host.name, path, bytes, ms: Date.now() - started }, 'v1 log read');
    } finally {
      conn.close();
    }
  }
}
