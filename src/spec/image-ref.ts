// Docker image references, checked with the grammar of distribution/reference (what the engine
// uses), so a spec is refused at validate time rather than when the swarm cannot pull.

// [domain[:port]/]path-component(/path-component)*[:tag][@digest]
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_MAX = 255;

export interface ImageRef {
  /** Repository with its registry, e.g. "registry.example.com/bzzz". */
  name: string;
  tag?: string;
  digest?: string;
}

/** Parses an image reference; returns a reason for people when Docker would refuse it. */
export function parseImageRef(ref: string): { ok: true; image: ImageRef } | { ok: false; reason: string } {
  const m = REFERENCE.exec(ref);
  if (!m) return { ok: false, reason: explainBadRef(ref) };
  if (m[1].length > NAME_MAX) return { ok: false, reason: `the repository name is longer than ${NAME_MAX} characters` };
  const image: ImageRef = { name: m[1] };
  if (m[2] !== undefined) image.tag = m[2];
  if (m[3] !== undefined) image.digest = m[3];
  return { ok: true, image };
}

function explainBadRef(ref: string): string {
  if (ref.trim() !== ref || /\s/.test(ref)) return 'it contains white space';
  if (ref.includes('://')) return 'it contains a URL scheme; write registry/repository:tag without "https://"';
  const lastSlash = ref.lastIndexOf('/');
  const repoPart = ref.slice(lastSlash + 1).split(/[:@]/)[0];
  const path = ref.split(/[@]/)[0].replace(/:[^/]*$/, '');
  const afterDomain = path.includes('/') && /[.:]|^localhost$/.test(path.split('/')[0]) ? path.split('/').slice(1).join('/') : path;
  if (/[A-Z]/.test(afterDomain) || /[A-Z]/.test(repoPart)) return 'repository names must be lowercase';
  if (ref.endsWith(':') || ref.endsWith('@')) return 'the tag or digest after the separator is empty';
  if (ref.includes('@') && !/@[A-Za-z][A-Za-z0-9]*:[0-9a-fA-F]{32,}$/.test(ref)) return 'the digest must look like sha256:<64 hex digits>';
  if (/:[^/]*:/.test(ref.split('/').pop() ?? '')) return 'it has more than one ":tag"';
  return 'it is not of the form [registry[:port]/]repository[:tag][@digest] (lowercase letters, digits, ".", "_" and "-" in the repository)';
}

/** Adds `:v<version>` to a reference that has neither a tag nor a digest. */
export function withDefaultTag(ref: string, version: string): string {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return ref; // reported by validation; left as written
  if (parsed.image.tag !== undefined || parsed.image.digest !== undefined) return ref;
  return `${ref}:v${version}`;
}
