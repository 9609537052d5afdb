import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subtotal, applyDiscount, formatPrice } from '../src/cart.js';

test('subtotal multiplies each price by its quantity', () => {
  assert.equal(subtotal([{ priceCents: 250, quantity: 2 }, { priceCents: 100, quantity: 1 }]), 600);
});

test('applyDiscount takes a percentage off', () => {
  assert.equal(applyDiscount(1000, 15), 850);
});

test('formatPrice shows dollars with two decimals', () => {
  assert.equal(formatPrice(1999), '$19.99');
  assert.equal(formatPrice(5), '$0.05');
});
