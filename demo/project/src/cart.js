// A tiny shopping cart. Two of these functions have bugs the tests catch.

export function subtotal(items) {
  // Bug: ignores the quantity of each line.
  return items.reduce((sum, item) => sum + item.priceCents, 0);
}

export function applyDiscount(totalCents, percent) {
  if (percent < 0 || percent > 100) throw new RangeError('percent must be between 0 and 100');
  return Math.round(totalCents * (1 - percent / 100));
}

export function formatPrice(cents) {
  // Bug: shows cents as if they were dollars.
  return `$${cents}`;
}
