// Alertmanager's webhook payload, version 4 (notify/webhook's Message: template.Data plus version,
// groupKey and truncatedAlerts), checked against schemas/alertmanager-webhook-v4.schema.json.
// The schema is compiled once, on first use (a few milliseconds in a long-running controller):
// the one way this payload is validated. Nothing in a payload is trusted beyond its shape.
import { Ajv, type ErrorObject } from 'ajv';
import schema from '../../../schemas/alertmanager-webhook-v4.schema.json' with { type: 'json' };

export type AlertStatus = 'firing' | 'resolved';

export interface Alert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts?: number;
  status: AlertStatus;
  receiver: string;
  groupLabels?: Record<string, string>;
  commonLabels?: Record<string, string>;
  commonAnnotations?: Record<string, string>;
  externalURL?: string;
  alerts: Alert[];
}

export type PayloadCheck = { ok: true; payload: AlertmanagerPayload } | { ok: false; path: string; reason: string };

let compiled: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * Checks a parsed JSON body. The first problem only (ajv's allErrors costs time on hostile
 * input), with its JSON path: `/alerts/3/status: must be one of firing, resolved`.
 */
export function checkPayload(body: unknown): PayloadCheck {
  compiled ??= new Ajv({ allErrors: false, strict: true }).compile(schema);
  if (compiled(body)) return { ok: true, payload: body as AlertmanagerPayload };
  const error = compiled.errors?.[0];
  const path = error === undefined ? '' : errorPath(error);
  const version = (body as { version?: unknown } | null)?.version;
  if (path === '/version') {
    return {
      ok: false,
      path,
      reason: `/version: ${JSON.stringify(version)} is not "4"; only Alertmanager's webhook payload version 4 is understood`,
    };
  }
  return { ok: false, path, reason: `${path || '/'}: ${describe(error)}` };
}

function errorPath(error: ErrorObject): string {
  const missing = error.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined;
  const name = error.keyword === 'propertyNames' ? (error.params as { propertyName?: string }).propertyName : undefined;
  const extra = missing ?? name;
  return extra === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(extra)}`;
}

function escapePointer(key: string): string {
  // A key from the payload: keep the reason short and printable.
  const printable = key.replace(/[^\x20-\x7e]/g, '?');
  return (printable.length > 64 ? `${printable.slice(0, 64)}…` : printable).replace(/~/g, '~0').replace(/\//g, '~1');
}

function describe(error: ErrorObject | undefined): string {
  if (error === undefined) return 'does not match the Alertmanager webhook v4 schema';
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'maxItems':
    case 'maxProperties':
    case 'maxLength':
      return `${error.message ?? 'is too large'} (the controller's limit)`;
    default:
      return error.message ?? `fails ${error.keyword}`;
  }
}
