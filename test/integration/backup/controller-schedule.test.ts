// The backup controller with the real repository: a schedule fires under a ManualClock, the
// controller's own runner opens the repository with the identity from its secrets directory,
// backs up a directory, verifies, and records the snapshot in the journal, status and metrics.
// A pack corrupted on disk makes the next slot's verification fail: BackupVerifyFailed and a
// Slack notice naming it. No Docker: the cluster lives on the in-memory port (the parts that
// exec in tasks are tested in their own suite); no lease is taken.
import { mkdtemp, open, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWiring, repositoryRunner } from '../../../src/controller/backups.js';
import { createControllerMetrics } from '../../../src/controller/metrics.js';
import type { RolloutNotification } from '../../../src/controller/notify/slack-message.js';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';
import { directorySource, openRepository } from '../../../src/backup/index.js';
import { BackupStore } from '../../../src/store/backup-store.js';
import { ManualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/log.js';
import { memoryCluster, type MemoryCluster } from '../../support/memory-cluster.js';

const HOUR = 3_600_000;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bkc-sched-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

describe('backup controller, real repository', () => {
  it('GIVEN a daily schedule THEN the slot fires, a real snapshot is taken and verified, and a corrupted pack fails the next verification', async () => {
    const repository = join(dir, 'repo');
    const data = join(dir, 'data');
    const secrets = join(dir, 'secrets');
    await mkdir(data);
    await mkdir(secrets);
    for (let i = 0; i < 20; i++) await writeFile(join(data, `f${i}.bin`), Buffer.alloc(64 * 1024, i));
    const { identity, recipient } = generateAgeIdentity();
    const c: MemoryCluster = await memoryCluster('stacks/examples/dev.yaml');
    await writeFile(join(secrets, `${c.name}_backup_key`), `# public key: ${recipient}\n${identity}\n`);
    await c.apply((x) => {
      x.spec.secrets = { ...(x.spec.secrets ?? {}), backup_key: { external: 'bkc-backup-key' } };
      x.spec.backups = {
        repository,
        identitySecret: 'backup_key',
        schedule: '0 3 * * *',
        verify: { afterBackup: true, readDataSubset: '100%' },
        retention: { keepLast: 5 },
      };
    });
    const clock = new ManualClock(Date.parse('2026-03-28T12:00:00Z'));
    const metrics = createControllerMetrics({ defaultMetrics: false });
    const told: RolloutNotification[] = [];
    const backups = new BackupStore(c.port, c.store);
    const runner = repositoryRunner({
      port: c.port,
      store: c.store,
      secretsDir: secrets,
      clock,
      log: silentLogger(),
      parts: { sources: async () => [directorySource('files', data)], targets: () => [] },
    });
    const { reconciler } = createBackupWiring({
      port: c.port,
      store: c.store,
      backups,
      log: silentLogger(),
      secretsDir: secrets,
      clock,
      holder: 'bkc-test/1',
      metrics: metrics.backups,
      announce: (_c, n) => told.push(n),
      runner,
    });
    const pass = () => reconciler.reconcile(c.name, new AbortController().signal);

    await pass(); // armed
    clock.advance(15 * HOUR); // 03:00
    await pass();
    await reconciler.idle();
    const s = await backups.get(c.name);
    expect(s?.last.backup).toMatchObject({ ok: true, files: 20 });
    expect(s?.last.verify).toMatchObject({ ok: true });
    expect(s?.last.prune).toMatchObject({ ok: true });

    const repo = await openRepository(repository, { identities: [identity], recipients: [recipient] });
    const snaps = await repo.snapshots({ cluster: c.name });
    await repo.close();
    expect(snaps.map((x) => [x.id, x.reason])).toEqual([[s?.last.backup?.snapshot, 'schedule']]);
    expect(await metrics.registry.getSingleMetricAsString('bzzz_operator_backup_last_success_timestamp_seconds')).toContain(
      `{cluster="${c.name}",kind="backup"} ${Date.parse('2026-03-29T03:00:00Z') / 1000}`,
    );

    // One byte flipped in the largest file of the repository (a pack): the next slot's verify reads it.
    const biggest = (await Promise.all((await files(repository)).map(async (f) => ({ f, size: (await stat(f)).size })))).sort(
      (a, b) => b.size - a.size,
    )[0];
    const fh = await open(biggest.f, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, Math.floor(biggest.size / 2));
    await fh.write(Buffer.from([b[0] ^ 0xff]), 0, 1, Math.floor(biggest.size / 2));
    await fh.close();

    clock.advance(24 * HOUR);
    await pass();
    await reconciler.idle();
    const s2 = await backups.get(c.name);
    expect(s2?.last.verify?.ok).toBe(false);
    expect(s2?.last.verify?.problems?.join('\n')).toMatch(/pack|chunk/);
    await c.pass();
    const cond = (await c.store.get(c.name))?.status?.conditions.find((x) => x.type === 'BackupVerifyFailed');
    expect(cond).toMatchObject({ status: 'True', reason: 'VerifyFailed' });
    expect(told.map((n) => n.event)).toContain('verify-failed');
  });
});
