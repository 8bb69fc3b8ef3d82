// The register of data subjects' requests (R7): what was asked (access, objection, erasure,
// restriction), by when it must be answered (4 weeks, once extendable to at most 12 weeks with
// a reason) and what was done. Directors register, extend and close; privacy officers read.
// Each request's own page (request_page.js) is where a director restricts or erases footage.
// The appliance checks every rule again.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { formDialog } from './hold_dialog.js';
import { can } from './main.js';
import { renderRequest } from './request_page.js';

const filters = {
  open: 'requests.filter_open',
  due: 'requests.filter_due',
  closed: 'requests.filter_closed',
  all: 'requests.filter_all',
};
const kinds = ['access', 'objection', 'erasure', 'restriction'];
const outcomes = ['granted', 'partially_granted', 'refused', 'withdrawn'];
const pad = (n) => String(n).padStart(2, '0');
const today = () => {
  const d = new Date();
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};
const day = (iso) => (iso ? iso.slice(0, 10) : '');

function addDialog() {
  const reference = h('input', { name: 'request-reference', required: true, maxlength: '100' });
  const kind = h('select', { name: 'request-kind' }, kinds.map((k) => h('option', { value: k }, t(`requests.kind_${k}`))));
  const requester = h('input', { name: 'request-requester', required: true, maxlength: '200', autocomplete: 'off' });
  const contact = h('input', { name: 'request-contact', maxlength: '200', autocomplete: 'off' });
  const description = h('textarea', { name: 'request-description', maxlength: '500', rows: '2' });
  const received = h('input', { name: 'request-received', type: 'date', required: true, value: today(), max: today() });
  const camera = h('input', { name: 'request-camera', maxlength: '64' });
  const from = h('input', { name: 'request-from', type: 'datetime-local' });
  const to = h('input', { name: 'request-to', type: 'datetime-local' });
  return formDialog({
    id: 'request-dialog',
    title: t('requests.add_title'),
    intro: [h('p', { class: 'hint' }, t('requests.add_explain'))],
    controls: [
      field(t('requests.reference'), reference, t('requests.reference_hint')),
      field(t('requests.kind'), kind),
      field(t('requests.requester'), requester, t('requests.requester_hint')),
      field(t('requests.contact'), contact),
      field(t('requests.description'), description),
      field(t('requests.received'), received),
      h('fieldset', {}, h('legend', {}, t('requests.footage')),
        field(t('requests.camera'), camera),
        field(t('requests.from'), from),
        field(t('requests.to'), to)),
    ],
    submitText: t('requests.add'),
    submit: () => {
      const footage = camera.value.trim() && from.value && to.value
        ? [{ camera: camera.value.trim(), from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString() }]
        : [];
      // The received day at noon UTC: today's date is never "in the future" for the appliance.
      const receivedIso = received.value === today() ? new Date().toISOString() : `${received.value}T12:00:00Z`;
      return api('POST', '/api/v1/requests', {
        reference: reference.value.trim(),
        kind: kind.value,
        requester_name: requester.value.trim(),
        requester_contact: contact.value.trim(),
        description: description.value.trim(),
        received: receivedIso,
        footage,
      });
    },
  });
}

function extendDialog(request) {
  const weeks = h('select', { name: 'extend-weeks' },
    [5, 6, 7, 8, 9, 10, 11, 12].map((w) => h('option', { value: String(w), selected: w === 12 }, t('requests.weeks', { weeks: w }))));
  const reason = h('textarea', { name: 'extend-reason', required: true, minlength: '5', maxlength: '500', rows: '3' });
  return formDialog({
    id: 'extend-request-dialog',
    title: t('requests.extend_title', { reference: request.reference }),
    intro: [h('p', { class: 'hint' }, t('requests.extend_explain', { latest: day(request.latest_deadline) }))],
    controls: [field(t('requests.extend_to'), weeks), field(t('requests.extend_reason'), reason)],
    submitText: t('requests.extend'),
    submit: () => api('POST', `/api/v1/requests/${request.id}/extend`, { weeks: Number(weeks.value), reason: reason.value.trim() }),
  });
}

function closeDialog(request) {
  const outcome = h('select', { name: 'close-outcome' }, outcomes.map((o) => h('option', { value: o }, t(`requests.outcome_${o}`))));
  const note = h('textarea', { name: 'close-note', maxlength: '500', rows: '2' });
  return formDialog({
    id: 'close-request-dialog',
    title: t('requests.close_title', { reference: request.reference }),
    intro: [h('p', { class: 'hint' }, t('requests.close_explain'))],
    controls: [field(t('requests.outcome'), outcome), field(t('requests.note'), note)],
    submitText: t('requests.close'),
    submit: () => api('POST', `/api/v1/requests/${request.id}/close`, { outcome: outcome.value, note: note.value.trim() }),
  });
}

function statusText(request) {
  const parts = [t(`requests.status_${request.status}`)];
  if (request.extended) parts.push(t('requests.extended_note'));
  return parts.join(' · ');
}

export async function render(main, args) {
  // #/requests/<id>: one request, with what a director does to answer it.
  if (/^\d{1,18}$/.test(args[0] || '')) return renderRequest(main, args[0]);
  document.title = `${t('requests.title')} – Yardwatch`;
  let state = filters[args[0]] ? args[0] : 'open';
  const manages = can('manage_subject_requests');
  const filter = h('select', { name: 'state' },
    Object.entries(filters).map(([value, key]) => h('option', { value, selected: value === state }, t(key))));
  const body = h('div', { 'aria-live': 'polite' });

  async function act(dialog, notice) {
    const changed = await dialog;
    if (!changed) return;
    notify(t(notice, { reference: changed.reference }), 'ok');
    await load();
  }

  async function load() {
    const { requests } = await api('GET', `/api/v1/requests?state=${encodeURIComponent(state)}`);
    if (!requests.length) {
      replace(body, h('p', { class: 'hint', id: 'requests-empty' }, t('requests.none')));
      return;
    }
    const rows = requests.map((r) => {
      const actions = [];
      if (manages && r.open && !r.extended && !r.overdue) {
        actions.push(h('button', { type: 'button', class: 'secondary', 'data-action': 'extend', 'aria-label': `${t('requests.extend')} – ${r.reference}`, onclick: () => act(extendDialog(r), 'requests.extended') }, t('requests.extend')));
      }
      if (manages && r.open) {
        actions.push(h('button', { type: 'button', class: 'secondary', 'data-action': 'close', 'aria-label': `${t('requests.close')} – ${r.reference}`, onclick: () => act(closeDialog(r), 'requests.closed') }, t('requests.close')));
      }
      if (r.kind === 'access' && r.open) {
        actions.push(h('a', { href: `#/subject-export/${encodeURIComponent(r.reference)}`, class: 'button', 'data-action': 'subject-export' }, t('requests.subject_export')));
      }
      const flagged = r.overdue || r.due_soon;
      return h('tr', { 'data-reference': r.reference, 'data-status': r.status, class: r.overdue ? 'overdue' : null },
        h('td', {}, h('a', { href: `#/requests/${r.id}`, 'data-action': 'open' }, r.reference)),
        h('td', {}, t(`requests.kind_${r.kind}`)),
        h('td', {}, r.requester_name || h('span', { class: 'hint' }, t('requests.minimised')),
          r.requester_contact ? h('span', { class: 'hint' }, h('br'), r.requester_contact) : null),
        h('td', {}, day(r.received)),
        h('td', { class: 'request-deadline' }, day(r.deadline),
          r.extended ? h('span', { class: 'hint' }, h('br'), t('requests.extension_by', { name: r.extended_by, reason: r.extension_reason })) : null),
        h('td', {}, h('span', { class: `badge badge-${flagged ? 'overdue' : r.open ? 'active' : 'released'}` }, statusText(r)),
          r.outcome ? h('span', { class: 'hint' }, h('br'), t(`requests.outcome_${r.outcome}`)) : null,
          r.actions.length
            ? h('span', { class: 'hint request-linked', 'data-kinds': r.actions.map((a) => a.kind).join(' ') }, h('br'),
              t('requests.actions_summary', { list: r.actions.map((a) => t(`requests.action_${a.kind}`)).join(', ') }))
            : null),
        h('td', {}, r.footage.map((f) => h('span', {}, `${f.camera}: ${formatTime(f.from)} – ${formatTime(f.to)}`, h('br')))),
        h('td', { class: 'actions' }, actions));
    });
    replace(body, h('table', { class: 'holds-table requests-table' },
      h('caption', {}, t('requests.caption', { count: requests.length })),
      h('thead', {}, h('tr', {},
        ['requests.col_reference', 'requests.col_kind', 'requests.col_requester', 'requests.col_received',
          'requests.col_deadline', 'requests.col_status', 'requests.col_footage', 'requests.col_actions']
          .map((key) => h('th', { scope: 'col' }, t(key))))),
      h('tbody', {}, rows)));
  }

  filter.addEventListener('change', async () => {
    state = filter.value;
    window.history.replaceState(null, '', `#/requests/${state}`);
    try {
      await load();
    } catch (error) {
      notify(error.message, 'error');
    }
  });

  const add = manages
    ? h('button', { type: 'button', class: 'primary', id: 'add-request', onclick: () => act(addDialog(), 'requests.added') }, t('requests.add'))
    : null;
  replace(main,
    h('h1', {}, t('requests.title')),
    h('p', {}, manages ? t('requests.intro_director') : t('requests.intro_reader')),
    h('div', { class: 'row' }, field(t('requests.filter'), filter), add),
    body);
  await load();
}
