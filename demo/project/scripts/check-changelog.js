// Grader for the add-changelog loop: CHANGELOG.md must have a heading for the package's version.
import { readFileSync, existsSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
if (!existsSync('CHANGELOG.md')) {
  console.error('CHANGELOG.md does not exist yet');
  process.exit(1);
}
const text = readFileSync('CHANGELOG.md', 'utf8');
if (!text.includes(`## ${version}`)) {
  console.error(`CHANGELOG.md has no "## ${version}" heading for the current version`);
  process.exit(1);
}
console.log(`CHANGELOG.md documents ${version}`);
