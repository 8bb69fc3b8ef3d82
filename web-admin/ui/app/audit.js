// The audit journal with filters. What is shown depends on the role (the appliance decides):
// directors and privacy officers everything, admins system events, viewers their own entries.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { can } from './main.js';

export async function render(main) {
  document.title = `${t('audit.title')} – Yardwatch`;
  const since = h('input', { type: 'date' });
  const until = h('input', { type: 'date' });
  const actor = h('input', { maxlength: '64', pattern: '[A-Za-z0-9._-]*' });
  const action = h('input', { maxlength: '64', pattern: '[A-Za-z0-9._-]*' });
  const camera = h('input', { maxlength: '64', pattern: '[A-Za-z0-9._-]*' });
  const outcome = h('select', {},
    h('option', { value: '' }, t('audit.outcome_any')),
    h('option', { value: 'allowed' }, t('audit.allowed')),
    h('option', { value: 'denied' }, t('audit.denied')));
  const results = h('div', { 'aria-live': 'polite' });
  const scopeNote = h('p', { class: 'hint' });

  const search = async () => {
    const query = new URLSearchParams();
    if (since.value) query.set('since', new Date(`${since.value}T00:00:00`).toISOString());
    if (until.value) query.set('until', new Date(new Date(`${until.value}T00:00:00`).getTime() + 86400e3).toISOString());
    if (actor.value.trim()) query.set('actor', actor.value.trim());
    if (action.value.trim()) query.set('action', action.value.trim());
    if (camera.value.trim()) query.set('camera', camera.value.trim());
    if (outcome.value) query.set('outcome', outcome.value);
    query.set('limit', '200');
    try {
      const { scope, entries } = await api('GET', `/api/v1/audit?${query}`);
      scopeNote.textContent = t(`audit.scope_${scope}`);
      replace(results, h('table', { class: 'audit' },
        h('caption', {}, t('audit.caption', { count: entries.length })),
        h('thead', {}, h('tr', {}, ['audit.time', 'audit.who', 'audit.action', 'audit.object', 'audit.purpose', 'audit.outcome'].map((key) => h('th', { scope: 'col' }, t(key))))),
        h('tbody', {}, entries.slice().reverse().map((entry) =>
          h('tr', { class: entry.outcome === 'denied' ? 'denied' : '' },
            h('td', {}, formatTime(entry.time)),
            h('td', {}, `${entry.actor} (${entry.role})`, entry.client_address ? h('div', { class: 'hint' }, entry.client_address) : null),
            h('td', {}, entry.action),
            h('td', {}, [entry.object_type, entry.object_id].filter(Boolean).join(' '), entry.camera ? h('div', { class: 'hint' }, entry.camera) : null,
              entry.from ? h('div', { class: 'hint' }, `${formatTime(entry.from)} – ${formatTime(entry.to)}`) : null),
            h('td', {}, entry.purpose),
            h('td', {}, entry.outcome === 'allowed' ? t('audit.allowed') : t('audit.denied'), entry.reason ? h('div', { class: 'hint' }, entry.reason) : null))))));
    } catch (error) {
      notify(error.message, 'error');
    }
  };

  const tools = [];
  if (can('read_audit_all')) {
    tools.push(h('a', { class: 'button secondary', href: '/api/v1/audit/export', download: 'yardwatch-audit.jsonl' }, t('audit.export')));
  }
  if (can('read_audit_system')) {
    const verifyResult = h('span', { class: 'hint', 'aria-live': 'polite' });
    tools.push(' ', h('button', {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        try {
          const result = await api('GET', '/api/v1/audit/verify');
          verifyResult.textContent = result.ok ? t('audit.verify_ok', { entries: result.entries }) : t('audit.verify_broken', { problem: result.problem });
        } catch (error) {
          notify(error.message, 'error');
        }
      },
    }, t('audit.verify')), ' ', verifyResult);
  }

  replace(
    main,
    h('h1', {}, t('audit.title')),
    scopeNote,
    h('form', {
      class: 'card filters',
      onsubmit: (event) => {
        event.preventDefault();
        search();
      },
    },
    h('div', { class: 'row' },
      field(t('audit.since'), since),
      field(t('audit.until'), until),
      field(t('audit.actor'), actor),
      field(t('audit.action'), action),
      field(t('audit.camera'), camera),
      field(t('audit.outcome'), outcome)),
    h('button', { type: 'submit', class: 'primary' }, t('audit.search'))),
    h('p', {}, tools),
    results,
  );
  await search();
}
