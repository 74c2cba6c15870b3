/**
 * `thrown` as an Error; anything else is wrapped with itself as the `cause`, so that whatever
 * classifies failures (by `code`: ECONNRESET, SQLITE_FULL) still finds it. An error made in
 * another realm, as Node's own socket and file errors are inside a test sandbox, is not
 * `instanceof Error` here.
 */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}
