// GET  /api/election/status → {self, admin, term, state, …}: every agent of a healthy cluster
//      answers the same admin.
// POST /api/election/trigger → manual election (BZZZ's matrix: admin only). On the admin it steps
//      down and hands off; on an agent run with --role admin it campaigns now.
import type { Role } from '../../crypto/index.js';
import type { Election } from '../election/index.js';
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
      handler({ res }) {
        sendJson(res, 200, d.election.status());
      },
    },
    {
      method: 'POST',
      path: '/api/election/trigger',
      async handler({ res }) {
        if (d.role !== 'admin' && !d.election.isAdmin()) {
          throw new ForbiddenError(
            `role ${d.role} may not trigger elections (BZZZ access matrix: admin only): send it to the admin or an agent run with --role admin`,
          );
        }
        await d.election.triggerElection();
        sendJson(res, 202, { triggered: true, status: d.election.status() });
      },
    },
  ];
}
