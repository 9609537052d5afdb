import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { failureExcerpt } from '../../src/core/verify/failure-excerpt.js';

const fixture = (name: string): Promise<string> =>
  readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

async function excerptOf(name: string): Promise<string> {
  const excerpt = failureExcerpt(await fixture(name));
  expect(excerpt).toBeDefined();
  return excerpt ?? '';
}

describe('failureExcerpt', () => {
  it('node --test (TAP): the failing tests and their messages, without passing tests, timings or deep stacks', async () => {
    const excerpt = await excerptOf('node-tap.txt');
    expect(excerpt).toContain('not ok - broken one');
    expect(excerpt).toContain('expected one to be two');
    expect(excerpt).toContain('not ok - broken two');
    expect(excerpt).toContain("error: 'kaboom at line'");
    expect(excerpt).not.toContain('ok 1 - adds');
    expect(excerpt).not.toContain('duration_ms');
    expect(excerpt).toContain('TestContext.<anonymous> (file:///tmp/vh4/m.test.mjs:4:33)');
    expect(excerpt).not.toContain('Test.processPendingSubtests');
  });

  it('node --test (spec): the "failing tests" recap with stacks cut to two frames', async () => {
    const excerpt = await excerptOf('node-spec.txt');
    expect(excerpt.startsWith('test at m.test.mjs:4:1')).toBe(true);
    expect(excerpt).toContain('AssertionError [ERR_ASSERTION]: expected one to be two');
    expect(excerpt).toContain('Error: kaboom at line');
    expect(excerpt).toMatch(/… 5 more stack lines/);
    expect(excerpt).not.toContain('✔ adds');
  });

  it('vitest: the Failed Tests section, colours stripped, up to the summary', async () => {
    const excerpt = await excerptOf('vitest.txt');
    expect(excerpt).toContain('FAIL  v.test.ts > broken one');
    expect(excerpt).toContain('AssertionError: expected 1 to be 2');
    expect(excerpt).toContain('Error: kaboom');
    expect(excerpt).not.toContain('Test Files');
    expect(excerpt).not.toContain('✓ adds');
    expect(excerpt).not.toContain('\u001b[');
  });

  it('pytest: the short summary first, then the failure details', async () => {
    const excerpt = await excerptOf('pytest.txt');
    expect(excerpt.startsWith('FAILED test_x.py::test_bad - AssertionError: x should be two')).toBe(true);
    expect(excerpt).toContain('E       assert 1 == 2');
    expect(excerpt).toContain('E       ValueError: boom');
    expect(excerpt).not.toContain('platform linux');
    expect(excerpt).not.toContain('2 failed, 1 passed');
  });

  it('cargo test: the failures section, the backtrace cut', async () => {
    const excerpt = await excerptOf('cargo.txt');
    expect(excerpt).toContain('---- tests::bad stdout ----');
    expect(excerpt).toContain('assertion `left == right` failed: two plus two');
    expect(excerpt).toMatch(/… \d+ more stack lines/);
    expect(excerpt).not.toContain('test tests::ok ... ok');
  });

  it('jest: the ● blocks, without console output', async () => {
    const excerpt = await excerptOf('jest.txt');
    expect(excerpt).toContain('● cart › formats the price');
    expect(excerpt).toContain('Expected: "$12.50"');
    expect(excerpt).not.toContain('debugging noise');
    expect(excerpt).not.toContain('Test Suites:');
    expect(excerpt).not.toContain('callAsyncCircusFn');
  });

  it('mocha: everything after "N failing"', async () => {
    const excerpt = await excerptOf('mocha.txt');
    expect(excerpt).toContain('formats the price:');
    expect(excerpt).toContain("'$1250' !== '$12.50'");
    expect(excerpt).not.toContain('adds items');
  });

  it('go test, with and without -v: the failing test with its own output', async () => {
    for (const name of ['go-verbose.txt', 'go-plain.txt']) {
      const excerpt = await excerptOf(name);
      expect(excerpt).toContain('--- FAIL: TestPrice');
      expect(excerpt).toContain('cart_test.go:14: formatPrice(1250) = "$1250", want "$12.50"');
      expect(excerpt).not.toContain('TestAdd');
    }
  });

  it('any other output: the lines that look like errors, with context', () => {
    const output = ['building', 'step 1 ok', 'src/a.ts(3,1): error TS2304: Cannot find name x', 'done'].join(
      '\n',
    );
    expect(failureExcerpt(output)).toBe('src/a.ts(3,1): error TS2304: Cannot find name x\ndone');
  });

  it('nothing when nothing looks like a failure', () => {
    expect(failureExcerpt('1\n2\n3\n')).toBeUndefined();
  });
});
