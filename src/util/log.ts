// Structured logs: JSON lines with a level, on stderr (stdout is for command output).
// One logger per component (`component` field), like js-libp2p's per-component namespaces.
//
// pino writes them. It is loaded on the first real logger, not with this module: short commands
// (apply, diff, status) log nothing and should not pay pino's ~5 ms of loading at start-up.
import { createRequire } from 'node:module';
import type { Logger as PinoLogger, pino as PinoFactory } from 'pino';

/** A log method: fields first (pino's order), or a message alone. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/** What bzzz-operator logs through. A pino logger is one; so is silentLogger(). */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

let root: PinoLogger | undefined;

function rootLogger(): PinoLogger {
  if (root) return root;
  const { pino } = createRequire(import.meta.url)('pino') as { pino: typeof PinoFactory };
  root = pino(
    {
      level: process.env.BZZZ_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: even if a caller passes an object holding secret material under one of
      // these keys, it never reaches a log line.
      redact: {
        paths: [
          'secret',
          'password',
          'value',
          'data',
          'share',
          'privateKey',
          '*.secret',
          '*.password',
          '*.value',
          '*.share',
          '*.privateKey',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

const drop: LogFn = () => undefined;
const silent: Logger = { trace: drop, debug: drop, info: drop, warn: drop, error: drop, fatal: drop, child: () => silent };

/** A logger that drops everything: for tests and for library use without output. */
export function silentLogger(): Logger {
  return silent;
}
