// Every string the UI shows comes from i18n/<language>.json. A missing key is a bug: it is
// shown as ⟦key⟧ and reported on the console (the browser tests fail on it).

const supported = ['nl', 'en'];
let language = 'nl';
let strings = {};

export function currentLanguage() {
  return language;
}

export async function setLanguage(wanted) {
  const next = supported.includes(wanted) ? wanted : 'nl';
  const response = await fetch(`/ui/public/i18n/${next}.json`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`translations for ${next} could not be loaded`);
  strings = await response.json();
  language = next;
  document.documentElement.lang = next;
  translateDocument(document);
}

export function t(key, values = {}) {
  let text = strings[key];
  if (typeof text !== 'string') {
    console.error(`missing translation: ${key} (${language})`);
    return `⟦${key}⟧`;
  }
  for (const [name, value] of Object.entries(values)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

export function has(key) {
  return typeof strings[key] === 'string';
}

// Static markup: data-i18n for text, data-i18n-aria-label for aria-label.
export function translateDocument(root) {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll('[data-i18n-aria-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nAriaLabel));
  }
}

export function formatTime(iso) {
  if (!iso) return '–';
  const locale = language === 'nl' ? 'nl-NL' : 'en-GB';
  return new Date(iso).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatClock(date) {
  const locale = language === 'nl' ? 'nl-NL' : 'en-GB';
  return date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
