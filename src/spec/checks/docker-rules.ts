// Semantic checks: Docker's own rules, applied to what the operator will create — object names
// once prefixed with the cluster name (swarmkit's rules, manager/controlapi), labels that are the
// operator's, image references, volume and bind mounts.
import { parseImageRef } from '../image-ref.js';
import type { PathSegment } from '../problems.js';
import type { ProblemReporter } from '../report.js';
import { agentServiceName, companionServiceName, enabledComponents } from '../components.js';
import type { BzzzCluster } from '../types.js';

// Services and networks are DNS name components of at most 63 characters; secrets and configs
// at most 64 characters of a slightly wider set.
const DNS_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const SECRET_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const SERVICE_NAME_MAX = 63;
const SECRET_NAME_MAX = 64;
const HASH_SUFFIX = '-0123abcd'; // `-<hash8>`: only its length matters here

const RESERVED_LABEL = (key: string): boolean => key.startsWith('io.bzzz.') || key === 'io.bzzz' || key === 'com.docker.stack.namespace';

// ---- Docker names the operator will create ----

export function checkDockerNames(cluster: BzzzCluster, report: ProblemReporter): void {
  const cname = cluster.metadata.name;
  const service = (name: string, path: PathSegment[], what: string) => {
    if (name.length > SERVICE_NAME_MAX) {
      report.add(
        path,
        `service name ${name} (${name.length} characters)`,
        `at most ${SERVICE_NAME_MAX} characters`,
        `${what} becomes the Docker service \`${name}\`, ${name.length - SERVICE_NAME_MAX} characters over Docker's limit of ${SERVICE_NAME_MAX}; shorten the name (or metadata.name)`,
      );
    } else if (!DNS_NAME.test(name)) {
      report.add(
        path,
        `service name ${name}`,
        'a DNS name component (letters, digits, "-" and "_", starting and ending with a letter or digit)',
        `${what} becomes the Docker service \`${name}\`, which Docker refuses; use letters, digits and "-"`,
      );
    }
  };
  cluster.spec.agent.instances.forEach((inst, i) =>
    service(agentServiceName(cname, inst.name), ['spec', 'agent', 'instances', i, 'name'], `agent instance \`${inst.name}\``),
  );
  for (const c of enabledComponents(cluster)) {
    if (c.key !== 'agent') service(companionServiceName(cname, c.key), c.path, c.key);
  }

  for (const [name, net] of Object.entries(cluster.spec.networks ?? {})) {
    if (net.external === true) continue;
    const docker = `${cname}_${name}`;
    if (docker.length > SERVICE_NAME_MAX || !DNS_NAME.test(docker)) {
      report.add(
        ['spec', 'networks', name],
        `network name ${docker}`,
        `a DNS name component of at most ${SERVICE_NAME_MAX} characters (letters, digits, "-", "_")`,
        `network \`${name}\` is created as \`${docker}\`, which Docker refuses (swarm networks follow the service name rules); rename it without "."`,
        true,
      );
    }
  }

  for (const kind of ['secrets', 'configs'] as const) {
    for (const [name, obj] of Object.entries(cluster.spec[kind] ?? {})) {
      if (obj.external !== undefined) continue;
      const docker = `${cname}_${name}${HASH_SUFFIX}`;
      if (docker.length > SECRET_NAME_MAX || !SECRET_NAME.test(docker)) {
        const singular = kind.slice(0, -1);
        report.add(
          ['spec', kind, name],
          `${singular} name ${cname}_${name}-<hash8> (${docker.length} characters)`,
          `at most ${SECRET_NAME_MAX} characters`,
          `${singular} \`${name}\` is created as \`${cname}_${name}-<hash8>\`, ${docker.length} characters: over Docker's limit of ${SECRET_NAME_MAX}; shorten its name to at most ${SECRET_NAME_MAX - cname.length - 1 - HASH_SUFFIX.length} characters`,
          true,
        );
      }
    }
  }
}

// ---- labels ----

export function checkReservedLabels(cluster: BzzzCluster, report: ProblemReporter): void {
  const check = (labels: Record<string, string> | undefined, path: PathSegment[], owner: string) => {
    for (const key of Object.keys(labels ?? {})) {
      if (!RESERVED_LABEL(key)) continue;
      report.add(
        [...path, key],
        `the label ${key}`,
        'a label outside io.bzzz.* and com.docker.stack.namespace',
        `label \`${key}\` on ${owner} is the operator's own (it marks what the operator owns); remove it or use another prefix, e.g. example.com/${key.split('.').pop()}`,
        true,
      );
    }
  };
  check(cluster.metadata.labels, ['metadata', 'labels'], 'the cluster');
  for (const kind of ['networks', 'secrets', 'configs'] as const) {
    for (const [name, obj] of Object.entries(cluster.spec[kind] ?? {}))
      check(obj.labels, ['spec', kind, name, 'labels'], `${kind.slice(0, -1)} ${name}`);
  }
  for (const c of enabledComponents(cluster)) check(c.spec.labels, [...c.path, 'labels'], c.key);
}

// ---- images ----

export function checkImages(cluster: BzzzCluster, report: ProblemReporter): void {
  for (const c of enabledComponents(cluster)) {
    const path = [...c.path, 'image'];
    if (report.isDefault(path) || typeof c.spec.image !== 'string') continue;
    const parsed = parseImageRef(c.spec.image);
    if (!parsed.ok) {
      report.add(
        path,
        `the image ${JSON.stringify(c.spec.image)}`,
        'an image reference [registry[:port]/]repository[:tag][@digest]',
        `Docker refuses the image reference of ${c.key}: ${parsed.reason}`,
      );
    }
  }
}

// ---- mounts ----

export function checkVolumeMounts(cluster: BzzzCluster, report: ProblemReporter): void {
  for (const c of enabledComponents(cluster)) {
    (c.spec.mounts ?? []).forEach((m, i) => {
      const path = [...c.path, 'mounts', i];
      if (m.type === 'bind' && (m.source === undefined || !m.source.startsWith('/'))) {
        report.add(
          [...path, 'source'],
          m.source === undefined ? 'no source' : JSON.stringify(m.source),
          'an absolute host path',
          `a bind mount of ${c.key} needs an absolute host path as source, e.g. /rust/bzzz-v2/data`,
        );
      } else if (m.type === 'volume' && m.source !== undefined && !VOLUME_NAME.test(`${cluster.metadata.name}_${m.source}`)) {
        report.add(
          [...path, 'source'],
          JSON.stringify(m.source),
          'a volume name (letters, digits, "_", "." and "-")',
          `volume \`${m.source}\` of ${c.key} is created as ${cluster.metadata.name}_${m.source}, which Docker refuses; for a host path use type: bind`,
        );
      } else if (m.type === 'tmpfs' && m.source !== undefined) {
        report.add(
          [...path, 'source'],
          JSON.stringify(m.source),
          'no source for tmpfs',
          `a tmpfs mount of ${c.key} has no source; remove it`,
        );
      }
    });
  }
}
