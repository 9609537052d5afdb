/**
 * React's development build checks every element and fiber as it renders: in the UI benchmark it
 * cost about a sixth of the screen's CPU. React picks its build from NODE_ENV when it is first
 * loaded, so this module, imported before ink and react (start-tui.ts), asks for the production build when
 * nobody said otherwise (tests set NODE_ENV=test and keep the development one), and `restore()`,
 * called once they are loaded, puts the environment back: the agents' commands inherit it, and a
 * `NODE_ENV=production` there would make their `npm install` skip devDependencies.
 */
const before = process.env.NODE_ENV;
if (before === undefined) process.env.NODE_ENV = 'production';

export function restoreNodeEnv(): void {
  if (before === undefined) delete process.env.NODE_ENV;
}
