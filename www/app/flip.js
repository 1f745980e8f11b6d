// FLIP: measure the cards (First), change the DOM (Last), Invert each moved card with a
// transform and Play it back to nothing, so a re-ranked feed visibly slides into its new order.

const reduced = () => matchMedia('(prefers-reduced-motion: reduce)').matches;

/** Runs `mutate()` on `list` (children keyed by data-id) and animates what moved. */
export function flip(list, mutate, { duration = 420 } = {}) {
  const first = new Map();
  for (const el of list.children) first.set(el.dataset.id, el.getBoundingClientRect());
  // Moving a focused node blurs it; keyboard users keep their place.
  const active = document.activeElement;
  mutate();
  if (active && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
  if (reduced()) return;
  for (const el of list.children) {
    const was = first.get(el.dataset.id);
    const now = el.getBoundingClientRect();
    if (!was) {
      el.animate([{ opacity: 0, transform: 'scale(0.96)' }, { opacity: 1, transform: 'none' }], { duration, easing: 'ease-out' });
      continue;
    }
    const dx = was.left - now.left;
    const dy = was.top - now.top;
    if (Math.abs(dx) < 1 && Math.abs(dy) < 1) continue;
    el.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: 'none' }],
      { duration, easing: 'cubic-bezier(.2,.7,.2,1)' });
  }
}
