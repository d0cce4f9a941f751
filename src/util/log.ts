// Structured logs: JSON lines with a level, on stderr (stdout is for command output).
// One logger per component (`component` field), like js-libp2p's per-component namespaces.
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

function rootLogger(): Logger {
  root ??= pino(
    {
      level: process.env.BZZZ_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: even if a caller passes an object holding secret material under one of
      // these keys, it never reaches a log line.
      redact: { paths: ['secret', 'password', 'value', 'data', 'share', 'privateKey', '*.secret', '*.password', '*.value', '*.share', '*.privateKey'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

/** A logger that drops everything: for tests and for library use without output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
