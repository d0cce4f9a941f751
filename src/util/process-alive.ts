// Whether a process of this host still runs: how a lock or journal entry left by a SIGKILLed
// process on the same host is known dead at once, instead of after its lease expires.
import { hostname } from 'node:os';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder written as `[who@]host/pid` whose host is this one and whose process is gone. */
export function holderGoneHere(holder: string, thisHost = hostname(), alive: (pid: number) => boolean = processAlive): boolean {
  const m = /^(?:[^@]*@)?([^@/]+)\/(\d+)$/.exec(holder);
  return m !== null && m[1] === thisHost && !alive(Number(m[2]));
}
