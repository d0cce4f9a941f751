// A backup run in its own process, for the crash tests: backs up a directory and prints
// `read N` after every MiB it reads, so the test can SIGKILL it at a chosen point.
// argv: repo dir, source dir, key file (JSON {identity, recipient}).
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { directorySource, openRepository } from '../../../src/backup/index.js';
import type { BackupSource, SourceEntry } from '../../../src/backup/types.js';

const [repoDir, srcDir, keyFile] = process.argv.slice(2) as [string, string, string];
const { identity, recipient } = JSON.parse(await readFile(keyFile, 'utf8')) as { identity: string; recipient: string };
const repo = await openRepository(repoDir, { identities: [identity], recipients: [recipient] });
let read = 0;
let reported = 0;
const inner = directorySource('files', srcDir);
const counting: BackupSource = {
  part: inner.part,
  async *entries(signal) {
    for await (const e of inner.entries(signal)) {
      const open = e.open;
      const entry: SourceEntry = open
        ? {
            ...e,
            open: async () => {
              const s = await open();
              return Readable.from(
                (async function* () {
                  for await (const b of s as AsyncIterable<Buffer>) {
                    read += b.length;
                    if (read - reported >= 1024 * 1024) {
                      reported = read;
                      process.stdout.write(`read ${read}\n`);
                    }
                    yield b;
                  }
                })(),
              );
            },
          }
        : e;
      yield entry;
    }
  },
};
process.stdout.write('started\n');
await repo.backup([counting], { cluster: 'crash', reason: 'test' });
process.stdout.write('done\n');
