import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TextCoalescer } from '../../src/models/text-coalescer.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TextCoalescer', () => {
  it('holds pieces until the delay has passed, then emits them as one', () => {
    const out: string[] = [];
    const c = new TextCoalescer((text) => out.push(text), { maxDelayMs: 100 });
    c.push('I ');
    c.push('will ');
    vi.advanceTimersByTime(99);
    expect(out).toEqual([]);
    c.push('read');
    vi.advanceTimersByTime(1);
    expect(out).toEqual(['I will read']);
    c.push(' it.');
    vi.advanceTimersByTime(100);
    expect(out).toEqual(['I will read', ' it.']);
  });

  it('emits at once when enough text has built up', () => {
    const out: string[] = [];
    const c = new TextCoalescer((text) => out.push(text), { maxChars: 10 });
    c.push('12345');
    c.push('67890ab');
    expect(out).toEqual(['1234567890ab']);
    c.push('c');
    expect(out).toHaveLength(1);
  });

  it('flush emits what is held and cancels the timer; an empty flush emits nothing', () => {
    const out: string[] = [];
    const c = new TextCoalescer((text) => out.push(text));
    c.flush();
    c.push('tail');
    c.flush();
    vi.advanceTimersByTime(1000);
    expect(out).toEqual(['tail']);
  });
});
