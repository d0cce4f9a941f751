// Alertmanager webhook payloads for the webhook's unit and security tests.

export interface PayloadOptions {
  groupKey?: string;
  status?: 'firing' | 'resolved';
  alertname?: string;
  fingerprint?: string;
  startsAt?: string;
}

/** As Alertmanager 0.2x's webhook notifier sends it (notify/webhook Message): one alert. */
export const alertmanagerPayload = (over: PayloadOptions = {}) => {
  const status = over.status ?? 'firing';
  const alertname = over.alertname ?? 'BzzzErrorRate';
  const labels = { alertname, severity: 'critical', job: 'bzzz' };
  return {
    receiver: 'bzzz-operator',
    status,
    alerts: [
      {
        status,
        labels,
        annotations: { summary: 'error rate above 5 %' },
        startsAt: over.startsAt ?? '2026-11-30T10:00:00.123456789Z',
        endsAt: status === 'resolved' ? '2026-11-30T10:05:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph?g0.expr=...',
        fingerprint: over.fingerprint ?? '1a2b3c4d5e6f7a8b',
      },
    ],
    groupLabels: { alertname },
    commonLabels: { ...labels },
    commonAnnotations: { summary: 'error rate above 5 %' },
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: over.groupKey ?? `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
  };
};
