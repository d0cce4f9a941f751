// The error a promise rejects with, for tests that assert on what a refusal says.

/** The error `p` rejects with; fails the test (with `expected`) when it resolves instead. */
export async function rejectionOf(p: Promise<unknown>, expected = 'expected the call to fail, but it succeeded'): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error(expected);
}
