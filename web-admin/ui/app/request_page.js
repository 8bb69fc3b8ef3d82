// One data subject's request (#/requests/<id>): what was asked, and — for an objection, erasure
// or restriction request — a director's answer to it: restrict or erase the footage the request
// concerns (pre-filled from its ranges, editable), lift a restriction, link an existing hold or
// restriction. Erasure asks once more, naming the range, and says it cannot be undone. The
// appliance checks everything again (who, which request kind, holds and restrictions) and
// records each action with the request's reference; its refusals are shown as they are.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { formDialog } from './hold_dialog.js';
import { can } from './main.js';

// The kinds of request that footage is restricted or erased for.
const answeredWithFootage = ['objection', 'erasure', 'restriction'];
// datetime-local values are UTC here (said next to the fields).
const toIso = (local) => new Date(`${local.length === 16 ? `${local}:00` : local}Z`).toISOString();
const toLocal = (iso) => (iso ? iso.slice(0, 19) : '');
const rangeText = (range) => `${range.camera}: ${formatTime(range.from)} – ${formatTime(range.to)}`;

// A camera and a range, editable; resolves with {camera, from, to} (ISO) plus the extra
// controls' values, or null when cancelled.
function rangeDialog({ id, title, explain, range, extra = [], submitText, submit }) {
  const camera = h('input', { name: `${id}-camera`, required: true, maxlength: '64', value: range.camera || '' });
  const from = h('input', { name: `${id}-from`, type: 'datetime-local', step: '1', required: true, value: toLocal(range.from) });
  const to = h('input', { name: `${id}-to`, type: 'datetime-local', step: '1', required: true, value: toLocal(range.to) });
  return formDialog({
    id,
    title,
    intro: [h('p', { class: 'hint' }, explain)],
    controls: [
      field(t('requests.camera'), camera),
      field(t('requests.from'), from, t('export.utc_hint')),
      field(t('requests.to'), to, t('export.utc_hint')),
      extra,
    ],
    submitText,
    submit: () => {
      const chosen = { camera: camera.value.trim(), from: toIso(from.value), to: toIso(to.value) };
      if (Date.parse(chosen.to) <= Date.parse(chosen.from)) throw new Error(t('requests.range_invalid'));
      return submit(chosen);
    },
  });
}

function restrictDialog(request, range) {
  const reason = h('textarea', { name: 'restrict-reason', maxlength: '500', rows: '2' });
  return rangeDialog({
    id: 'restrict-dialog',
    title: t('requests.restrict_title', { reference: request.reference }),
    explain: t('requests.restrict_explain'),
    range,
    extra: [field(t('requests.restrict_reason'), reason)],
    submitText: t('requests.restrict'),
    submit: (chosen) => api('POST', `/api/v1/requests/${request.id}/restrictions`, { ...chosen, reason: reason.value.trim() }),
  });
}

// Erasure: first the range, then a confirmation that names it and says it cannot be undone.
// The appliance's refusal (a hold or restriction covers it) stays in the confirmation dialog.
async function eraseDialogs(request, range) {
  const chosen = await rangeDialog({
    id: 'erase-dialog',
    title: t('requests.erase_title', { reference: request.reference }),
    explain: t('requests.erase_explain'),
    range,
    submitText: t('requests.erase_next'),
    submit: async (picked) => picked,
  });
  if (!chosen) return null;
  return formDialog({
    id: 'erase-confirm-dialog',
    title: t('requests.erase_confirm_title'),
    intro: [
      h('p', { class: 'warning', id: 'erase-confirm-range' }, t('requests.erase_confirm', { range: rangeText(chosen), reference: request.reference })),
      h('p', { class: 'hint' }, t('requests.erase_confirm_hint')),
    ],
    controls: [],
    submitText: t('requests.erase_now'),
    submit: () => api('POST', `/api/v1/requests/${request.id}/erasures`, chosen),
  });
}

function liftDialog(request, restriction) {
  return formDialog({
    id: 'lift-dialog',
    title: t('requests.lift_title', { id: restriction.id }),
    intro: [
      h('p', {}, rangeText(restriction)),
      h('p', { class: 'hint' }, t('requests.lift_explain', { reference: request.reference })),
    ],
    controls: [],
    submitText: t('requests.lift'),
    submit: () => api('POST', `/api/v1/requests/${request.id}/restrictions/${restriction.id}/lift`, {}),
  });
}

async function linkDialog(request) {
  const [{ holds }, { restrictions }] = await Promise.all([
    api('GET', '/api/v1/holds?state=all'),
    api('GET', '/api/v1/restrictions?state=all'),
  ]);
  const linked = new Set(request.actions.map((a) => `${a.kind}:${a.object_id}`));
  const options = [
    ...holds.map((hold) => ({
      value: `hold:${hold.id}`,
      text: t('requests.link_hold_option', { id: hold.id, case: hold.case_reference, range: `${hold.cameras.join(', ')}: ${formatTime(hold.from)} – ${formatTime(hold.to)}` }),
    })),
    ...restrictions.map((r) => ({
      value: `restriction:${r.id}`,
      text: t('requests.link_restriction_option', { id: r.id, request: r.request, range: rangeText(r) }),
    })),
  ].filter((option) => !linked.has(option.value));
  const select = h('select', { name: 'link-object', required: true },
    h('option', { value: '' }, t('requests.link_choose')),
    options.map((option) => h('option', { value: option.value }, option.text)));
  return formDialog({
    id: 'link-dialog',
    title: t('requests.link_title', { reference: request.reference }),
    intro: [h('p', { class: 'hint' }, options.length ? t('requests.link_explain') : t('requests.link_none'))],
    controls: [field(t('requests.link_object'), select)],
    submitText: t('requests.link_submit'),
    submit: () => {
      const [kind, id] = select.value.split(':');
      return api('POST', `/api/v1/requests/${request.id}/links`, { [kind]: Number(id) });
    },
  });
}

function detailList(request) {
  const rows = [
    ['requests.col_kind', t(`requests.kind_${request.kind}`)],
    ['requests.col_status', t(`requests.status_${request.status}`)],
    ['requests.col_requester', request.requester_name || t('requests.minimised')],
    ['requests.contact', request.requester_contact],
    ['requests.description', request.description],
    ['requests.col_received', formatTime(request.received)],
    ['requests.col_deadline', formatTime(request.deadline)],
  ].filter(([, value]) => value);
  return h('dl', { class: 'request-details' }, rows.map(([key, value]) => [h('dt', {}, t(key)), h('dd', {}, value)]));
}

export async function renderRequest(main, id) {
  const manages = can('manage_subject_requests');
  const body = h('div', { 'aria-live': 'polite' });

  async function act(dialog, notice) {
    try {
      const done = await dialog;
      if (!done) return;
      notify(t(notice), 'ok');
      await load();
    } catch (error) {
      notify(error.message, 'error');
    }
  }

  async function load() {
    const [request, { restrictions }] = await Promise.all([
      api('GET', `/api/v1/requests/${id}`),
      api('GET', '/api/v1/restrictions?state=all'),
    ]);
    document.title = `${request.reference} – ${t('requests.title')} – Yardwatch`;
    const acts = manages && request.open && answeredWithFootage.includes(request.kind);
    const ranges = request.footage.length ? request.footage : [{ camera: '', from: '', to: '' }];
    const footage = h('section', { 'aria-labelledby': 'request-footage-heading' },
      h('h2', { id: 'request-footage-heading' }, t('requests.footage_heading')),
      acts ? h('p', { class: 'hint' }, t('requests.footage_explain')) : null,
      h('ul', { class: 'request-footage' }, ranges.map((range, index) => h('li', { 'data-index': String(index) },
        range.camera ? rangeText(range) : t('requests.footage_none'),
        acts ? h('span', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary', 'data-action': 'restrict', onclick: () => act(restrictDialog(request, range), 'requests.restricted') }, t('requests.restrict')),
          h('button', { type: 'button', class: 'danger', 'data-action': 'erase', onclick: () => act(eraseDialogs(request, range), 'requests.erased') }, t('requests.erase')))
          : null))));

    const own = restrictions.filter((r) => r.request === request.reference || r.lift_request === request.reference);
    const restrictionRows = own.map((r) => h('tr', { 'data-restriction': String(r.id), 'data-in-force': String(r.in_force) },
      h('td', {}, String(r.id)),
      h('td', {}, rangeText(r)),
      h('td', {}, r.reason),
      h('td', {}, r.in_force ? t('requests.in_force') : t('requests.lifted_by', { name: r.lifted_by, time: formatTime(r.lifted) })),
      h('td', { class: 'actions' }, manages && r.in_force
        ? h('button', { type: 'button', class: 'secondary', 'data-action': 'lift', onclick: () => act(liftDialog(request, r), 'requests.lifted') }, t('requests.lift'))
        : null)));
    const restrictionSection = h('section', { 'aria-labelledby': 'request-restrictions-heading' },
      h('h2', { id: 'request-restrictions-heading' }, t('requests.restrictions')),
      own.length
        ? h('table', { class: 'holds-table', id: 'request-restrictions' },
          h('thead', {}, h('tr', {}, ['requests.col_id', 'requests.col_range', 'requests.col_reason', 'requests.col_status', 'requests.col_actions']
            .map((key) => h('th', { scope: 'col' }, t(key))))),
          h('tbody', {}, restrictionRows))
        : h('p', { class: 'hint' }, t('requests.restrictions_none')));

    const actions = h('section', { 'aria-labelledby': 'request-actions-heading' },
      h('h2', { id: 'request-actions-heading' }, t('requests.actions')),
      request.actions.length
        ? h('ol', { id: 'request-actions' }, request.actions.map((a) => h('li', { 'data-kind': a.kind },
          h('strong', {}, t(`requests.action_${a.kind}`)), ' — ', a.summary,
          h('span', { class: 'hint' }, ' ', t('requests.linked_by', { name: a.linked_by, time: formatTime(a.linked) })))))
        : h('p', { class: 'hint', id: 'request-actions-none' }, t('requests.actions_none')),
      manages && request.open
        ? h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary', id: 'link-action', onclick: () => act(linkDialog(request), 'requests.linked') }, t('requests.link')))
        : null);

    replace(body,
      h('h1', { id: 'request-heading', 'data-reference': request.reference }, t('requests.page_title', { reference: request.reference })),
      detailList(request),
      footage,
      restrictionSection,
      actions);
  }

  replace(main, h('p', {}, h('a', { href: '#/requests/all', id: 'back-to-register' }, t('requests.back'))), body);
  await load();
}
