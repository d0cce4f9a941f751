// A Logger that keeps every line (fields and message, as JSON text) for tests that check what was,
// and what was never, logged.
import type { Logger } from '../../src/util/log.js';

export interface CapturedLog extends Logger {
  readonly lines: string[];
  /** Every line as one string, for `not.toContain(secret)`. */
  text(): string;
}

export function captureLog(bindings: Record<string, unknown> = {}, lines: string[] = []): CapturedLog {
  const at =
    (level: string) =>
    (fieldsOrMessage: object | string, message?: string): void => {
      const fields = typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage;
      const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : message;
      lines.push(JSON.stringify({ level, ...bindings, ...fields, msg }));
    };
  return {
    lines,
    text: () => lines.join('\n'),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) => captureLog({ ...bindings, ...more }, lines),
  };
}
