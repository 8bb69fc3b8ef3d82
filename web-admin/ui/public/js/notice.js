import { replace } from './dom.js';

// One polite live region for confirmations and errors (screen readers hear them).
export function notify(text, kind = 'info') {
  const region = document.getElementById('notice');
  region.className = `notice ${kind}`;
  replace(region, text);
}

export function clearNotice() {
  const region = document.getElementById('notice');
  region.className = 'notice';
  replace(region);
}
