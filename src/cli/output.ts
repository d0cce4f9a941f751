// Printing for people and for scripts: `-o json|yaml` prints one document on stdout; text goes
// to stdout too, progress and logs to stderr.
import { stringify } from 'yaml';

export type OutputFormat = 'text' | 'json' | 'yaml';

export function printDocument(doc: unknown, format: Exclude<OutputFormat, 'text'>): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Left-aligned columns, like kubectl get. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** One progress line on stderr: rewritten in place on a terminal, printed on change otherwise. */
export function progress(): { update(text: string): void; done(): void } {
  let last = '';
  const tty = process.stderr.isTTY;
  return {
    update(text) {
      if (text === last) return;
      last = text;
      if (tty) process.stderr.write(`\r\x1b[2K${text}`);
      else process.stderr.write(`${text}\n`);
    },
    done() {
      if (tty && last) process.stderr.write('\n');
      last = '';
    },
  };
}
