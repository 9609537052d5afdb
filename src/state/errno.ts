/** The `code` of a Node system error (`ENOENT`, `EEXIST`, ...), or undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return errnoCode(error) === 'ENOENT';
}
