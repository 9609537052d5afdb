/**
 * `node --import ./import-log.mjs`: records every module the process resolves, one URL a line, in
 * the file named by LOOPS_IMPORT_LOG. The start-up test reads it to see what a command loaded.
 */
import { register } from 'node:module';

register(new URL('./import-log-hooks.mjs', import.meta.url), {
  data: { out: process.env.LOOPS_IMPORT_LOG },
});
