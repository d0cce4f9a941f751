// Image references and which of them this project knows how to build.

export interface ImageRef {
  /** Repository without registry prefix for Docker Hub names: `bzzz/postgres`. */
  repo: string;
  tag: string;
}

/** `bzzz/postgres:15` → { repo, tag }; no tag means `latest`; `docker.io/` is dropped. Digests are not parsed (undefined). */
export function parseRef(ref: string): ImageRef | undefined {
  if (ref.includes('@')) return undefined;
  const name = ref.replace(/^(docker\.io|index\.docker\.io)\//, '');
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

export function formatRef(r: ImageRef): string {
  return `${r.repo}:${r.tag}`;
}

export type Buildable =
  | { kind: 'bzzzctl'; ref: string; tag: string }
  | { kind: 'debian'; ref: string; name: 'node-base' | 'postgres' | 'redis' }
  | { kind: 'other'; ref: string };

/**
 * What `ref` is: the project's image (any tag), one of the Debian-built images (exact tags:
 * node-base only for the major version of the Node.js binary at hand), or something else,
 * which the user has to pull or build.
 */
export function classify(ref: string, nodeBaseRef: string): Buildable {
  const r = parseRef(ref);
  if (!r) return { kind: 'other', ref };
  const norm = formatRef(r);
  if (r.repo === 'bzzz/bzzzctl') return { kind: 'bzzzctl', ref: norm, tag: r.tag };
  if (norm === nodeBaseRef) return { kind: 'debian', ref: norm, name: 'node-base' };
  if (norm === 'bzzz/postgres:15') return { kind: 'debian', ref: norm, name: 'postgres' };
  if (norm === 'bzzz/redis:7') return { kind: 'debian', ref: norm, name: 'redis' };
  return { kind: 'other', ref };
}
