// POST /api/decisions/{type} (JSON object) → 201 {address, type, role}: signed by this agent,
//      encrypted for the CALLER's role, stored, announced on the DHT and on bzzz/coordination/v1.
// GET  /api/decisions/content/{address} → 200 the decision decrypted and verified; 403 if the
//      caller's role may not read it (or this agent holds no key that reads it for the caller),
//      422 if it is not a decision signed by a member allowed to publish it, 404 if no reachable
//      agent holds it. Authorisation rules: decisions.ts.
import { parseAddress } from '../cas/index.js';
import type { DecisionService } from '../decisions.js';
import { callerOf } from './auth.js';
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
      async handler({ res, params, signal, ...ctx }) {
        const caller = callerOf(ctx);
        const decision = await d.decisions.read(parseAddress(params.address), caller, signal);
        sendJson(res, 200, decision);
      },
    },
    {
      method: 'POST',
      path: '/api/decisions/:type',
      async handler({ req, res, params, ...ctx }) {
        const caller = callerOf(ctx);
        const body = await readJsonBody(req, d.maxDecisionBytes, 'decision body');
        sendJson(res, 201, await d.decisions.publish(params.type, body, caller));
      },
    },
  ];
}
