// Incident holds (R2): what is kept past the four weeks, why, until when it is looked at again,
// and the requests waiting for a director. Directors confirm, reject, extend and release;
// viewers see the holds of their cameras and their requests; privacy officers read all.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { decisionDialog } from './hold_dialog.js';
import { can } from './main.js';

const filters = {
  open: 'holds.filter_open',
  pending: 'holds.filter_pending',
  active: 'holds.filter_active',
  overdue: 'holds.filter_overdue',
  released: 'holds.filter_released',
  all: 'holds.filter_all',
};

const stateNames = {
  pending: 'holds.state_pending',
  active: 'holds.state_active',
  released: 'holds.state_released',
  rejected: 'holds.state_rejected',
  expired: 'holds.state_expired',
};

const actionNames = {
  confirm: 'holds.confirm',
  reject: 'holds.reject',
  extend: 'holds.extend',
  release: 'holds.release',
};

const doneNotices = {
  confirm: 'holds.confirmed',
  reject: 'holds.rejected',
  extend: 'holds.extended',
  release: 'holds.released',
};

function actionsFor(hold) {
  const actions = [];
  if (hold.state === 'pending' && can('place_hold')) actions.push('confirm', 'reject');
  if (hold.state === 'active' && can('place_hold')) actions.push('extend');
  if (hold.state === 'active' && can('release_hold')) actions.push('release');
  return actions;
}

export async function render(main, args) {
  document.title = `${t('holds.title')} – Yardwatch`;
  let state = filters[args[0]] ? args[0] : 'open';
  const filter = h('select', { name: 'state' },
    Object.entries(filters).map(([value, key]) => h('option', { value, selected: value === state }, t(key))));
  const body = h('div', { 'aria-live': 'polite' });
  // Readers (viewers, privacy officers) get no actions column.
  const decides = can('place_hold') || can('release_hold');

  async function load() {
    const { holds } = await api('GET', `/api/v1/holds?state=${encodeURIComponent(state)}`);
    if (!holds.length) {
      replace(body, h('p', { class: 'hint', id: 'holds-empty' }, t('holds.none')));
      return;
    }
    const rows = holds.map((hold) => {
      const stateText = hold.overdue ? `${t(stateNames[hold.state])} · ${t('holds.overdue')}` : t(stateNames[hold.state]);
      const buttons = actionsFor(hold).map((action) => h('button', {
        type: 'button',
        class: action === 'release' || action === 'reject' ? 'secondary' : 'primary',
        'data-action': action,
        'aria-label': `${t(actionNames[action])} – ${t('holds.hold_number', { id: hold.id })}`,
        onclick: async () => {
          const changed = await decisionDialog(hold, action);
          if (!changed) return;
          notify(t(doneNotices[action], { id: hold.id }), 'ok');
          await load();
        },
      }, t(actionNames[action])));
      return h('tr', { 'data-hold-id': String(hold.id), 'data-state': hold.state, class: hold.overdue ? 'overdue' : null },
        h('td', {}, String(hold.id)),
        h('td', { class: 'hold-state' }, h('span', { class: `badge badge-${hold.overdue ? 'overdue' : hold.state}` }, stateText)),
        h('td', {}, hold.cameras.join(', ')),
        h('td', {}, formatTime(hold.from), h('br'), formatTime(hold.to)),
        h('td', {}, hold.case_reference),
        h('td', {}, hold.reason),
        h('td', {}, formatTime(hold.review_by),
          hold.pending_until ? h('span', { class: 'hint' }, h('br'), t('holds.pending_until', { time: formatTime(hold.pending_until) })) : null),
        h('td', {}, hold.created_by, hold.decided_by ? h('span', { class: 'hint' }, h('br'), t('holds.decided_by', { name: hold.decided_by })) : null,
          hold.released_by ? h('span', { class: 'hint' }, h('br'), t('holds.released_by', { name: hold.released_by })) : null),
        decides ? h('td', { class: 'actions' }, buttons) : null);
    });
    replace(body, h('table', { class: 'holds-table' },
      h('caption', {}, t('holds.caption', { count: holds.length })),
      h('thead', {}, h('tr', {},
        ['holds.col_id', 'holds.col_state', 'holds.col_cameras', 'holds.col_range', 'holds.col_case',
          'holds.col_reason', 'holds.col_review_by', 'holds.col_by'].map((key) => h('th', { scope: 'col' }, t(key))),
        decides ? h('th', { scope: 'col' }, t('holds.col_actions')) : null)),
      h('tbody', {}, rows)));
  }

  filter.addEventListener('change', async () => {
    state = filter.value;
    window.history.replaceState(null, '', `#/holds/${state}`);
    try {
      await load();
    } catch (error) {
      notify(error.message, 'error');
    }
  });

  replace(main,
    h('h1', {}, t('holds.title')),
    h('p', {}, can('place_hold') ? t('holds.intro_director') : can('request_hold') ? t('holds.intro_viewer') : t('holds.intro_reader')),
    h('div', { class: 'row' }, field(t('holds.filter'), filter)),
    body);
  await load();
}
