/**
 * A refusal decided at the edge (401, 403, 404 that hides existence, 409 of a running job, 429,
 * 503), with any extension members its problem document carries (e.g. `runningId`).
 */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}
