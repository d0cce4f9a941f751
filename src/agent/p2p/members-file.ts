// Reads the member list file (`--members`, BZZZ_MEMBERS_FILE; a Docker config under the operator).
// Bounded: a file larger than the format allows is refused from its size, never read whole (a
// path like /dev/zero must not exhaust memory).
import { readUpTo } from '../../util/read-up-to.js';
import { MAX_MEMBERS_BYTES, parseMemberList, type MemberList } from '../../crypto/membership.js';
import { BzzzError } from '../../util/errors.js';

/** The member list file cannot be read, or this agent is not on it. */
export class MembershipError extends BzzzError {}

export async function loadMemberListFile(file: string): Promise<MemberList> {
  let text: string;
  try {
    const bytes = await readUpTo(file, MAX_MEMBERS_BYTES + 1);
    if (bytes.length > MAX_MEMBERS_BYTES) throw new Error(`more than ${MAX_MEMBERS_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    throw new MembershipError(
      `member list ${file} (--members, BZZZ_MEMBERS_FILE) cannot be read (${(err as Error).message}): point it at the member list the operator wrote`,
      { cause: err },
    );
  }
  return parseMemberList(text, `member list ${file}`);
}
