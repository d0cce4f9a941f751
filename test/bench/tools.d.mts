/** Makes sure each command is there, installing the benchmark tools with scripts/install-tools.sh --bench when one is not; exits 2 otherwise. */
export function ensureTools(commands: string[]): void;
