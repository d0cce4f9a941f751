// An in-process SSH server (ssh2's own Server) standing in for a v1 host in unit tests: it checks
// the client's public key and answers each exec from a handler, recording the command lines it
// received exactly as they arrived. Real sshd + systemd hosts are in test/integration/hosts.
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { ServerChannel } from 'ssh2';
import { sshFingerprint } from '../../../src/hosts/ssh.js';

const { Server, utils } = ssh2;

export interface ExecAnswer {
  stdout?: string | Buffer;
  stderr?: string;
  code?: number;
  /** Never answers (a hung command). */
  hang?: boolean;
}

/** Files served over SFTP (read only): OPEN, FSTAT, READ, CLOSE. */
export interface FakeFiles {
  files: Map<string, Buffer>;
  /** Each READ waits this long first (a slow host). */
  readDelayMs?: number;
  /** READ requests answered so far, and handles still open. */
  reads: number;
  openHandles: number;
}

export interface FakeSshServer {
  port: number;
  fingerprint: string;
  commands: string[];
  /** SSH connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export function keyPair(): { private: string; public: string } {
  return utils.generateKeyPairSync('ed25519');
}

export async function startFakeSsh(opts: {
  clientPublicKey: string;
  onExec: (command: string) => ExecAnswer | Promise<ExecAnswer>;
  sftp?: FakeFiles;
}): Promise<FakeSshServer> {
  const host = keyPair();
  const hostParsed = utils.parseKey(host.private);
  if (hostParsed instanceof Error) throw hostParsed;
  const hostKey = Array.isArray(hostParsed) ? hostParsed[0] : hostParsed;
  const allowed = utils.parseKey(opts.clientPublicKey);
  if (allowed instanceof Error) throw allowed;
  const allowedKey = Array.isArray(allowed) ? allowed[0] : allowed;
  const commands: string[] = [];
  const open = new Set<ServerChannel>();
  let connections = 0;
  const server = new Server({ hostKeys: [host.private] }, (client) => {
    connections++;
    // Without it each SFTP request/answer waits on Nagle's algorithm (~40 ms).
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.data.equals(allowedKey.getPublicSSH())) {
        if (!ctx.signature || allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.accept();
      }
      ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        const files = opts.sftp;
        if (files) session.on('sftp', (acceptSftp) => serveFiles(acceptSftp(), files));
        session.on('exec', async (acceptExec, _reject, info) => {
          commands.push(info.command);
          const stream = acceptExec();
          open.add(stream);
          const answer = await opts.onExec(info.command);
          if (answer.hang) return;
          if (answer.stdout) stream.write(answer.stdout);
          if (answer.stderr) stream.stderr.write(answer.stderr);
          stream.exit(answer.code ?? 0);
          stream.end();
          open.delete(stream);
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    fingerprint: sshFingerprint(hostKey.getPublicSSH()),
    commands,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
        // Connections still open (hung commands) are cut.
        (server as unknown as { _srv?: { closeAllConnections?: () => void } })._srv?.closeAllConnections?.();
        setTimeout(resolve, 200).unref();
      }),
  };
}

function serveFiles(sftp: ssh2.SFTPWrapper, f: FakeFiles): void {
  const { STATUS_CODE } = utils.sftp;
  const handles = new Map<string, Buffer>();
  let next = 0;
  sftp.on('OPEN', (reqid, filename) => {
    const data = f.files.get(filename);
    if (!data) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    const h = Buffer.from(String(next++));
    handles.set(h.toString(), data);
    f.openHandles++;
    sftp.handle(reqid, h);
  });
  sftp.on('FSTAT', (reqid, handle) => {
    const data = handles.get(handle.toString());
    if (!data) return sftp.status(reqid, STATUS_CODE.FAILURE);
    sftp.attrs(reqid, { mode: 0o100644, uid: 0, gid: 0, size: data.length, atime: 0, mtime: 0 });
  });
  sftp.on('READ', (reqid, handle, offset, length) => {
    const answer = () => {
      f.reads++;
      const data = handles.get(handle.toString());
      if (!data) return sftp.status(reqid, STATUS_CODE.FAILURE);
      if (offset >= data.length) return sftp.status(reqid, STATUS_CODE.EOF);
      sftp.data(reqid, data.subarray(offset, Math.min(data.length, offset + length)));
    };
    if (f.readDelayMs) setTimeout(answer, f.readDelayMs);
    else answer();
  });
  // sshd closes what a session left open when it ends.
  sftp.on('close', () => {
    f.openHandles -= handles.size;
    handles.clear();
  });
  sftp.on('CLOSE', (reqid, handle) => {
    if (handles.delete(handle.toString())) f.openHandles--;
    sftp.status(reqid, STATUS_CODE.OK);
  });
}
