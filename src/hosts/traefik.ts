// The proxy switch for Traefik's file provider (ProxySwitch): one dynamic config file holding a
// weighted service over the v1 service (its servers written here too) and the v2 service (defined
// by another provider, e.g. `bzzz-agent@swarm`), written atomically over SFTP; Traefik watches the
// file and applies it without a restart. The file belongs to the operator: it is rewritten whole.
// A switch writes weights 100 and 0; a weighing (the migration's cutover) 100 - p for v1 and p for v2.
import { parse, stringify } from 'yaml';
import { BzzzError, InvalidInputError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { checkV2Percent, roundShare, shareOf, sideOf } from './haproxy.js';
import { withSsh } from './ssh.js';
import type { ProxyServerView, ProxySwitch, ProxyView, SshTarget } from './types.js';

export const TRAEFIK_NAME = /^[A-Za-z0-9_.-]+(@[A-Za-z0-9_-]+)?$/;
const MAX_CONFIG_BYTES = 256 * 1024;
export const SERVING_WEIGHT = 100;

export class TraefikConfigError extends BzzzError {}

export interface TraefikSwitchOptions {
  target: SshTarget;
  privateKey: string;
  /** The dynamic config file Traefik's file provider watches. */
  file: string;
  /** The weighted service the router uses. */
  service: string;
  /** The v1 servers' URLs (the v1 service is defined in this file as `<service>-v1`). */
  v1Urls: readonly string[];
  /** The v2 service, as Traefik names it (e.g. `bzzz-agent@swarm`). */
  v2Service: string;
  log?: Logger;
}

type RenderOptions = Pick<TraefikSwitchOptions, 'service' | 'v1Urls' | 'v2Service'>;

export function v1ServiceName(service: string): string {
  return `${service}-v1`;
}

export function checkTraefikOptions(o: RenderOptions): void {
  if (!TRAEFIK_NAME.test(o.service) || o.service.includes('@'))
    throw new InvalidInputError(
      `the Traefik service ${JSON.stringify(o.service)} is not a name of letters, digits, _ . - (without @provider)`,
    );
  if (!TRAEFIK_NAME.test(o.v2Service))
    throw new InvalidInputError(
      `the Traefik v2 service ${JSON.stringify(o.v2Service)} is not a name of letters, digits, _ . - with an optional @provider`,
    );
  if (o.v1Urls.length === 0) throw new InvalidInputError('spec.v1.proxy.traefik.v1Urls is empty: give the v1 agents URLs');
  for (const u of o.v1Urls) {
    let url: URL | undefined;
    try {
      url = new URL(u);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || /[\s\0]/.test(u))
      throw new InvalidInputError(`the v1 URL ${JSON.stringify(u)} is not an http(s) URL without credentials`);
  }
}

/** The dynamic config that sends all traffic to `side`: weights 100 and 0. */
export function renderTraefikConfig(o: RenderOptions, side: 'v1' | 'v2'): string {
  return renderTraefikWeights(o, side === 'v2' ? SERVING_WEIGHT : 0);
}

/** The dynamic config that sends `v2Percent` % of new requests to v2: weights 100 - p (v1) and p (v2), integers. */
export function renderTraefikWeights(o: RenderOptions, v2Percent: number): string {
  checkTraefikOptions(o);
  const p = checkV2Percent(v2Percent);
  const v1 = v1ServiceName(o.service);
  const doc = {
    http: {
      services: {
        [o.service]: {
          weighted: {
            services: [
              { name: v1, weight: SERVING_WEIGHT - p },
              { name: o.v2Service, weight: p },
            ],
          },
        },
        [v1]: { loadBalancer: { servers: o.v1Urls.map((url) => ({ url })) } },
      },
    },
  };
  return `# Written by bzzz-operator (spec.v1.proxy.traefik): how ${o.service} splits traffic between v1 and v2. Rewritten on every switch.\n${stringify(doc)}`;
}

/** Reads the weights back from a dynamic config this switch wrote (or one edited by hand in the same shape). */
export function traefikView(text: string | undefined, o: RenderOptions): ProxyView {
  if (text === undefined) return { kind: 'traefik', serving: 'none', servers: [] };
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 10 });
  } catch (err) {
    throw new TraefikConfigError(`the Traefik dynamic config is not YAML: ${(err as Error).message}`);
  }
  const weighted = (doc as { http?: { services?: Record<string, { weighted?: { services?: unknown } }> } })?.http?.services?.[o.service]
    ?.weighted?.services;
  if (!Array.isArray(weighted))
    throw new TraefikConfigError(
      `the Traefik dynamic config has no weighted service ${o.service} (http.services.${o.service}.weighted.services)`,
    );
  const v1 = v1ServiceName(o.service);
  const servers: ProxyServerView[] = [];
  for (const entry of weighted as { name?: unknown; weight?: unknown }[]) {
    const name = typeof entry?.name === 'string' ? entry.name : undefined;
    const side = name === v1 ? 'v1' : name === o.v2Service ? 'v2' : undefined;
    if (!name || !side) continue;
    // Traefik's default weight is 1 when none is written.
    const weight = typeof entry.weight === 'number' ? entry.weight : entry.weight === undefined ? 1 : 0;
    servers.push({ name, side, state: weight > 0 ? 'up' : 'down', weight });
  }
  const on = (side: 'v1' | 'v2') => servers.some((s) => s.side === side && (s.weight ?? 0) > 0);
  const sum = (side: 'v1' | 'v2') => servers.filter((s) => s.side === side).reduce((a, s) => a + Math.max(0, s.weight ?? 0), 0);
  const share = shareOf(sum('v1'), sum('v2'));
  return {
    kind: 'traefik',
    serving: sideOf(on('v1'), on('v2')),
    servers,
    ...(share === undefined ? {} : { v2Percent: roundShare(share) }),
  };
}

export class TraefikSwitch implements ProxySwitch {
  private readonly log: Logger;
  constructor(private readonly opts: TraefikSwitchOptions) {
    checkTraefikOptions(opts);
    this.log = opts.log ?? silentLogger();
  }

  view(): Promise<ProxyView> {
    return withSsh(this.opts.target, this.opts.privateKey, async (conn) =>
      traefikView(await conn.readFile(this.opts.file, MAX_CONFIG_BYTES), this.opts),
    );
  }

  switchTo(side: 'v1' | 'v2'): Promise<ProxyView> {
    return this.write(renderTraefikConfig(this.opts, side), { side }, 'proxy switched');
  }

  /** One atomic write of both weights: Traefik never sees one side changed without the other. */
  async weigh(v2Percent: number): Promise<ProxyView> {
    return this.write(renderTraefikWeights(this.opts, v2Percent), { v2Percent }, 'proxy weighed');
  }

  private write(content: string, what: object, message: string): Promise<ProxyView> {
    return withSsh(this.opts.target, this.opts.privateKey, async (conn) => {
      const current = await conn.readFile(this.opts.file, MAX_CONFIG_BYTES).catch(() => undefined);
      if (current !== content) await conn.writeFile(this.opts.file, content, 0o644);
      const view = traefikView(await conn.readFile(this.opts.file, MAX_CONFIG_BYTES), this.opts);
      this.log.info({ file: this.opts.file, ...what, serving: view.serving, v2Percent: view.v2Percent }, message);
      return view;
    });
  }
}
