// Quoting for the few places that must hand a command line to a shell (a Dockerfile RUN, an SSH
// exec): every argument becomes one single-quoted word, so no input can add a command.
/** Quotes a string for sh (hooks are run by `sh -c`). */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
