// Grader for the tidy-comments loop: no source line may mention "Bug:".
// The demo's scripted model never gets there, so this loop shows a run ending at its budget.
import { readFileSync } from 'node:fs';

const lines = readFileSync('src/cart.js', 'utf8').split('\n');
const bad = lines.map((l, i) => [i + 1, l]).filter(([, l]) => l.includes('Bug:'));
for (const [n, l] of bad) console.error(`src/cart.js:${n}: stale bug comment: ${l.trim()}`);
process.exit(bad.length ? 1 : 0);
