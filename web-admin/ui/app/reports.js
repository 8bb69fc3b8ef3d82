// Compliance reports (R9 and the monthly access review) for directors and privacy officers:
// download links only. The server generates each report from the live configuration at every
// download and records the download in the audit journal; nothing here decides who may read it.
import { field, h, replace } from '/ui/public/js/dom.js';
import { currentLanguage, t } from '/ui/public/js/i18n.js';

// The month before the current one (UTC), as YYYY-MM: the review most often wanted.
function previousMonth() {
  const now = new Date();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return month.toISOString().slice(0, 7);
}

export async function render(main) {
  document.title = `${t('reports.title')} – Yardwatch`;
  const language = h('select', { name: 'lang', id: 'report-lang' },
    ['nl', 'en'].map((code) => h('option', { value: code, selected: code === currentLanguage() }, t(`reports.lang_${code}`))));
  const month = h('input', { type: 'month', name: 'month', id: 'review-month', value: previousMonth(), required: true });

  const cardLinks = h('p', { class: 'actions' });
  const reviewLinks = h('p', { class: 'actions' });

  function update() {
    const lang = encodeURIComponent(language.value);
    replace(cardLinks,
      h('a', { href: `/api/v1/reports/kwaliteitskaart.html?lang=${lang}`, target: '_blank', rel: 'noopener', id: 'card-html' }, t('reports.open_html')),
      ' · ',
      h('a', { href: `/api/v1/reports/kwaliteitskaart.pdf?lang=${lang}`, download: '', id: 'card-pdf' }, t('reports.download_pdf')));
    const chosen = /^\d{4}-\d{2}$/.test(month.value) ? month.value : previousMonth();
    const base = `/api/v1/reports/access-review/${chosen}`;
    replace(reviewLinks,
      h('a', { href: `${base}.html?lang=${lang}`, target: '_blank', rel: 'noopener', id: 'review-html' }, t('reports.open_html')),
      ' · ',
      h('a', { href: `${base}.pdf?lang=${lang}`, download: '', id: 'review-pdf' }, t('reports.download_pdf')),
      ' · ',
      h('a', { href: `${base}.json`, download: `toegangscontrole-${chosen}.json`, id: 'review-json' }, t('reports.download_json')));
  }
  language.addEventListener('change', update);
  month.addEventListener('input', update);
  update();

  replace(main,
    h('h1', {}, t('reports.title')),
    h('p', { class: 'hint' }, t('reports.intro')),
    field(t('reports.language'), language),
    h('section', { 'aria-labelledby': 'card-heading' },
      h('h2', { id: 'card-heading' }, t('reports.card_heading')),
      h('p', {}, t('reports.card_hint')),
      cardLinks),
    h('section', { 'aria-labelledby': 'review-heading' },
      h('h2', { id: 'review-heading' }, t('reports.review_heading')),
      h('p', {}, t('reports.review_hint')),
      field(t('reports.month'), month),
      reviewLinks));
}
