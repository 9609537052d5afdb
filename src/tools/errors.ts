/** Tool failures as text the model can act on: what went wrong and what to do next. */
import { PathRefusedError } from './paths.js';

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** `shown` is the path as the model gave it, so the message speaks its language. */
export function describeToolError(error: unknown, shown?: string): string {
  if (error instanceof PathRefusedError) return error.message;
  const where = shown ?? (error instanceof Error && 'path' in error ? String(error.path) : 'the path');
  switch (errnoCode(error)) {
    case 'ENOENT':
      return `no such file or directory: ${where}; use list_files to see what exists`;
    case 'EISDIR':
      return `${where} is a directory, not a file; use list_files to see what it holds`;
    case 'ENOTDIR':
      return `${where}: a part of this path is a file, not a directory`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${where}`;
    case 'ELOOP':
      return `${where}: too many levels of symbolic links`;
    case 'ENAMETOOLONG':
      return `${where}: the name is too long`;
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
