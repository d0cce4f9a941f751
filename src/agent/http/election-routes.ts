// GET  /api/election/status → {self, admin, term, state, …}: every agent of a healthy cluster
//      answers the same admin. Any authenticated caller.
// POST /api/election/trigger → manual election. BZZZ's matrix: admin only — the CALLER must be an
//      admin caller (whatever the agent's role), and the agent must be the admin (it steps down and
//      hands off) or run with --role admin (it campaigns now). A body is not needed, but the
//      request must be sent as application/json like every POST (no cross-site form can).
import type { Role } from '../../crypto/index.js';
import type { Election } from '../election/index.js';
import { callerOf } from './auth.js';
import { ForbiddenError } from './errors.js';
import { sendJson, type Route } from './server.js';

export interface ElectionRoutesDeps {
  election: Pick<Election, 'status' | 'triggerElection' | 'isAdmin'>;
  role: Role;
}

export function electionRoutes(d: ElectionRoutesDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/election/status',
      handler({ res, ...ctx }) {
        callerOf(ctx);
        sendJson(res, 200, d.election.status());
      },
    },
    {
      method: 'POST',
      path: '/api/election/trigger',
      async handler({ res, ...ctx }) {
        const caller = callerOf(ctx);
        if (caller.role !== 'admin') {
          throw new ForbiddenError(
            `caller ${caller.name} (role ${caller.role}) may not trigger elections (BZZZ access matrix: admin only)`,
          );
        }
        if (d.role !== 'admin' && !d.election.isAdmin()) {
          throw new ForbiddenError(
            `this agent (role ${d.role}) is not the admin: send the trigger to the elected admin or an agent run with --role admin`,
          );
        }
        await d.election.triggerElection();
        sendJson(res, 202, { triggered: true, status: d.election.status() });
      },
    },
  ];
}
