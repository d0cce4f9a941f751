// POST /api/decisions/{type} (JSON object) → 201 {address, type, role}: encrypted for this
//      agent's role, stored, announced on the DHT and on bzzz/coordination/v1.
// GET  /api/decisions/content/{address} → 200 the decision decrypted, 403 if this agent's role may
//      not read it, 404 if no reachable agent holds it.
import { parseAddress } from '../cas/index.js';
import type { DecisionService } from '../decisions.js';
import { readJsonBody } from './body.js';
import { sendJson, type Route } from './server.js';

export interface DecisionRoutesDeps {
  decisions: DecisionService;
  maxDecisionBytes: number;
}

export function decisionRoutes(d: DecisionRoutesDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/decisions/content/:address',
      async handler({ res, params, signal }) {
        const decision = await d.decisions.read(parseAddress(params.address), signal);
        sendJson(res, 200, decision);
      },
    },
    {
      method: 'POST',
      path: '/api/decisions/:type',
      async handler({ req, res, params }) {
        const body = await readJsonBody(req, d.maxDecisionBytes, 'decision body');
        sendJson(res, 201, await d.decisions.publish(params.type, body));
      },
    },
  ];
}
