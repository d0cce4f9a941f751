// The v1 side of a cluster, opened with its SSH key: the controller reads the key from its
// secrets directory (the swarm mounts spec.v1.ssh.privateKeySecret as <cluster>_<name>), a
// command from --identity or the same directory. The key is read here, bounded, and handed to
// src/hosts; it is never logged or put into an error.
import { join } from 'node:path';
import type { V1Spec } from '../spec/types.js';
import { createV1Side } from '../hosts/index.js';
import type { V1SideHandle } from '../reconcilers/v1-reconciler.js';
import { InvalidInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { readKeyFile } from '../util/read-up-to.js';

const MAX_KEY_BYTES = 64 * 1024;

/** Where the swarm mounts the cluster's SSH key secret in a container that has it. */
export function mountedKeyFile(secretsDir: string, cluster: string, v1: V1Spec): string {
  return join(secretsDir, `${cluster}_${v1.ssh.privateKeySecret}`);
}

export async function readPrivateKey(file: string, where: string): Promise<string> {
  const text = await readKeyFile(file, { what: 'the SSH key', limit: MAX_KEY_BYTES, where, tooLarge: 'not a private key' });
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new InvalidInputError(`the SSH key ${file} holds no PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)`);
  }
  return text;
}

export async function openV1Side(o: { v1: V1Spec; keyFile: string; where: string; log?: Logger }): Promise<V1SideHandle> {
  const privateKey = await readPrivateKey(o.keyFile, o.where);
  return createV1Side({ v1: o.v1, privateKey, log: o.log });
}
