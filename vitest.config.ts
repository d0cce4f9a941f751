import { defineConfig } from 'vitest/config';

// Five suites: fast pure-logic unit tests, integration tests against the real Docker Engine in
// swarm mode (run one file at a time: they share one engine and its controller lease), the v1
// hosts' tests (containers with real systemd, sshd and HAProxy; no swarm state, no lease: they
// run beside the integration suite), agent tests (many agents on loopback with real libp2p), and the security
// suite (attacks replayed against real agents by a real libp2p node or HTTP client; one file at a
// time, like the agent tests).
export default defineConfig({
  test: {
    setupFiles: ['./src/util/polyfill.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          exclude: ['test/integration/hosts/**', 'test/integration/backup/**'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'hosts',
          include: ['test/integration/hosts/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Backups: the repository on disk, the real age CLI, PostgreSQL in the swarm driven by
        // `bzzzctl backup` and the backup controller wired without the swarm's lease, so it runs
        // beside the integration suite (which owns the lease).
        extends: true,
        test: {
          name: 'backup',
          include: ['test/integration/backup/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'agent',
          include: ['test/agent/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
