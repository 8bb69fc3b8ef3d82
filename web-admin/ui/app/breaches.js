// The breach register (R8): every security incident with its detection time, what it touched,
// whether the data was encrypted and inaccessible, and the 72-hour deadline for reporting it to
// the Autoriteit Persoonsgegevens. Directors register incidents by hand and decide (report or
// not, with the reasoning); privacy officers read. The appliance registers its own incidents.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatTime, has, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { formDialog } from './hold_dialog.js';
import { can } from './main.js';

const personalAnswers = ['unknown', 'yes', 'no'];
const encryptionAnswers = ['unknown', 'yes', 'partly', 'no', 'not_applicable'];
const pad = (n) => String(n).padStart(2, '0');
const localNow = () => {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

function select(name, values, label, selected) {
  return h('select', { name }, values.map((v) => h('option', { value: v, selected: v === selected }, label(v))));
}

function registerDialog() {
  const detected = h('input', { name: 'breach-detected', type: 'datetime-local', required: true, value: localNow(), max: localNow() });
  const description = h('textarea', { name: 'breach-description', required: true, minlength: '10', maxlength: '2000', rows: '3' });
  const personal = select('breach-personal', personalAnswers, (v) => t(`breaches.answer_${v}`), 'unknown');
  const encrypted = select('breach-encrypted', encryptionAnswers, (v) => t(`breaches.encryption_${v}`), 'unknown');
  const assessment = h('textarea', { name: 'breach-assessment', maxlength: '2000', rows: '2' });
  return formDialog({
    id: 'breach-dialog',
    title: t('breaches.register_title'),
    intro: [h('p', { class: 'hint' }, t('breaches.register_explain'))],
    controls: [
      field(t('breaches.detected'), detected),
      field(t('breaches.description'), description, t('breaches.description_hint')),
      field(t('breaches.personal_data'), personal),
      field(t('breaches.encrypted'), encrypted),
      field(t('breaches.assessment'), assessment),
    ],
    submitText: t('breaches.register'),
    submit: () => api('POST', '/api/v1/breaches', {
      detected: new Date(detected.value).toISOString(),
      description: description.value.trim(),
      personal_data: personal.value,
      encrypted_inaccessible: encrypted.value,
      assessment: assessment.value.trim(),
    }),
  });
}

function decideDialog(breach) {
  const decision = h('select', { name: 'breach-decision' },
    ['report', 'not_report'].map((d) => h('option', { value: d, selected: d === (breach.decision || 'not_report') }, t(`breaches.decision_${d}`))));
  const reasoning = h('textarea', { name: 'breach-reasoning', required: true, minlength: '10', maxlength: '2000', rows: '4' });
  reasoning.value = breach.reasoning || '';
  const reference = h('input', { name: 'breach-report-reference', maxlength: '200', value: breach.report_reference || '' });
  return formDialog({
    id: 'decide-dialog',
    title: t('breaches.decide_title', { id: breach.id }),
    intro: [h('p', {}, breach.description), h('p', { class: 'hint' }, t('breaches.decide_explain'))],
    controls: [
      field(t('breaches.decision'), decision),
      field(t('breaches.reasoning'), reasoning, t('breaches.reasoning_hint')),
      field(t('breaches.report_reference'), reference),
    ],
    submitText: t('breaches.decide'),
    submit: () => api('POST', `/api/v1/breaches/${breach.id}/decision`, {
      decision: decision.value,
      reasoning: reasoning.value.trim(),
      report_reference: reference.value.trim(),
    }),
  });
}

function deadlineCell(b) {
  if (b.decision) return h('td', {}, formatTime(b.deadline));
  const hours = Math.floor(Math.abs(b.remaining_seconds) / 3600);
  return h('td', { class: 'breach-deadline' }, formatTime(b.deadline), h('br'),
    h('span', { class: `badge badge-${b.overdue ? 'overdue' : 'pending'}` },
      b.overdue ? t('breaches.overdue', { hours }) : t('breaches.hours_left', { hours })));
}

export async function render(main) {
  document.title = `${t('breaches.title')} – Yardwatch`;
  const decides = can('manage_breaches');
  const body = h('div', { 'aria-live': 'polite' });

  async function act(dialog, notice) {
    const changed = await dialog;
    if (!changed) return;
    notify(t(notice, { id: changed.id }), 'ok');
    await load();
  }

  async function load() {
    const { breaches } = await api('GET', '/api/v1/breaches');
    if (!breaches.length) {
      replace(body, h('p', { class: 'hint', id: 'breaches-empty' }, t('breaches.none')));
      return;
    }
    const rows = breaches.map((b) => h('tr', { 'data-breach-id': String(b.id), class: b.overdue ? 'overdue' : null },
      h('td', {}, formatTime(b.detected), h('span', { class: 'hint' }, h('br'),
        b.source === 'manual' ? t('breaches.by_hand', { name: b.registered_by }) : (has(`alarm.${b.kind}`) ? t(`alarm.${b.kind}`) : b.kind))),
      h('td', {}, b.description, b.assessment ? h('span', { class: 'hint' }, h('br'), b.assessment) : null),
      h('td', {}, t(`breaches.answer_${b.personal_data}`)),
      h('td', {}, t(`breaches.encryption_${b.encrypted_inaccessible}`)),
      deadlineCell(b),
      h('td', { class: 'breach-decision' }, b.decision ? t(`breaches.decision_${b.decision}`) : h('span', { class: 'badge badge-pending' }, t('breaches.undecided')),
        b.report_reference ? h('span', { class: 'hint' }, h('br'), b.report_reference) : null),
      h('td', {}, b.reasoning),
      h('td', {}, b.decided_by ? [b.decided_by, h('span', { class: 'hint' }, h('br'), formatTime(b.decided))] : ''),
      decides ? h('td', { class: 'actions' }, h('button', {
        type: 'button',
        class: b.decision ? 'secondary' : 'primary',
        'data-action': 'decide',
        // The accessible name starts with the visible text (WCAG 2.5.3).
        'aria-label': `${b.decision ? t('breaches.revise') : t('breaches.decide')} – ${t('breaches.number', { id: b.id })}`,
        onclick: () => act(decideDialog(b), 'breaches.decided'),
      }, b.decision ? t('breaches.revise') : t('breaches.decide'))) : null));
    replace(body, h('table', { class: 'holds-table breaches-table' },
      h('caption', {}, t('breaches.caption', { count: breaches.length })),
      h('thead', {}, h('tr', {},
        ['breaches.col_detected', 'breaches.col_description', 'breaches.col_personal', 'breaches.col_encrypted',
          'breaches.col_deadline', 'breaches.col_decision', 'breaches.col_reasoning', 'breaches.col_decided_by']
          .map((key) => h('th', { scope: 'col' }, t(key))),
        decides ? h('th', { scope: 'col' }, t('breaches.col_actions')) : null)),
      h('tbody', {}, rows)));
  }

  const add = decides
    ? h('button', { type: 'button', class: 'primary', id: 'register-breach', onclick: () => act(registerDialog(), 'breaches.registered') }, t('breaches.register'))
    : null;
  replace(main,
    h('h1', {}, t('breaches.title')),
    h('p', {}, decides ? t('breaches.intro_director') : t('breaches.intro_reader')),
    add ? h('div', { class: 'row' }, add) : null,
    body);
  await load();
}
