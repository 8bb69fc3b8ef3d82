// The dialogs of holds: placing or requesting one for a range of a camera, and a director's
// decisions (confirm, reject, extend, release). Each asks only what the API needs; the
// appliance checks everything again (who, which camera, review-by at most six months ahead).
import { api } from '/ui/public/js/api.js';
import { field, h } from '/ui/public/js/dom.js';
import { formatTime, t } from '/ui/public/js/i18n.js';

const DAY_MS = 86400e3;
const pad = (n) => String(n).padStart(2, '0');
// The review-by date is a UTC day (the appliance keeps the hold until the end of that day).
const utcDate = (ms) => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};

export function reviewByInput(initialDays = 30) {
  return h('input', {
    type: 'date',
    name: 'review-by',
    required: true,
    value: utcDate(Date.now() + initialDays * DAY_MS),
    min: utcDate(Date.now() + DAY_MS),
    max: utcDate(Date.now() + 182 * DAY_MS),
  });
}

// A modal form: resolves with the result of `submit` (which may throw: its message is shown and
// the dialog stays open), or null when cancelled.
export function formDialog({ id, title, intro = [], controls, submitText, submit }) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const cancel = h('button', { type: 'button', class: 'secondary' }, t('common.cancel'));
    const ok = h('button', { type: 'submit', class: 'primary', id: `${id}-ok` }, submitText);
    const form = h('form', { novalidate: true },
      h('h2', { id: `${id}-title` }, title),
      intro,
      controls,
      error,
      h('div', { class: 'actions' }, cancel, ok));
    const dialog = h('dialog', { class: 'hold-dialog', id, 'aria-labelledby': `${id}-title` }, form);
    let result = null;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const invalid = [...form.querySelectorAll('input, textarea, select')].find((c) => !c.checkValidity());
      if (invalid) {
        invalid.reportValidity();
        invalid.focus();
        return;
      }
      ok.disabled = true;
      try {
        result = await submit();
        dialog.close();
      } catch (problem) {
        error.textContent = problem && problem.message ? problem.message : t('common.unexpected_error');
        error.hidden = false;
      } finally {
        ok.disabled = false;
      }
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    const first = form.querySelector('input, textarea');
    (first || ok).focus();
  });
}

// Place (directors) or request (viewers) a hold of `camera` over [fromUs, toUs).
export function holdRangeDialog({ camera, fromUs, toUs, place }) {
  const reason = h('textarea', { name: 'hold-reason', required: true, minlength: '5', maxlength: '500', rows: '3' });
  const caseReference = h('input', { name: 'hold-case', required: true, maxlength: '500' });
  const reviewBy = reviewByInput(30);
  const range = `${formatTime(new Date(fromUs / 1000).toISOString())} – ${formatTime(new Date(toUs / 1000).toISOString())}`;
  return formDialog({
    id: 'hold-dialog',
    title: place ? t('holds.place_title', { name: camera.name }) : t('holds.request_title', { name: camera.name }),
    intro: [
      h('p', { 'data-testid': 'hold-range' }, t('holds.range_is', { range })),
      h('p', { class: 'hint' }, place ? t('holds.place_explain') : t('holds.request_explain')),
    ],
    controls: [
      field(t('holds.reason'), reason, t('holds.reason_hint')),
      field(t('holds.case'), caseReference, t('holds.case_hint')),
      field(t('holds.review_by'), reviewBy, t('holds.review_by_hint')),
    ],
    submitText: place ? t('holds.place') : t('holds.request'),
    submit: () => api('POST', place ? '/api/v1/holds' : '/api/v1/holds/requests', {
      cameras: [camera.name],
      from: new Date(fromUs / 1000).toISOString(),
      to: new Date(toUs / 1000).toISOString(),
      reason: reason.value.trim(),
      case_reference: caseReference.value.trim(),
      review_by: reviewBy.value,
    }),
  });
}

// A director's decision on one hold: 'confirm', 'reject', 'extend' or 'release'.
const decisions = {
  confirm: { title: 'holds.confirm_title', explain: 'holds.confirm_explain', button: 'holds.confirm' },
  reject: { title: 'holds.reject_title', explain: 'holds.reject_explain', button: 'holds.reject', label: 'holds.reject_reason' },
  extend: { title: 'holds.extend_title', explain: 'holds.extend_explain', button: 'holds.extend' },
  release: { title: 'holds.release_title', explain: 'holds.release_explain', button: 'holds.release', label: 'holds.release_note' },
};

export function decisionDialog(hold, action) {
  const texts = decisions[action];
  const summary = h('p', {}, t('holds.decision_about', { id: hold.id, cameras: hold.cameras.join(', '), case: hold.case_reference }));
  const path = `/api/v1/holds/${hold.id}/${action}`;
  const common = {
    id: `${action}-dialog`,
    title: t(texts.title),
    intro: [summary, h('p', { class: 'hint' }, t(texts.explain))],
    submitText: t(texts.button),
  };
  if (action === 'confirm' || action === 'extend') {
    const reviewBy = reviewByInput(action === 'extend' ? 90 : 30);
    return formDialog({
      ...common,
      controls: [field(t('holds.review_by'), reviewBy, t('holds.review_by_hint'))],
      submit: () => api('POST', path, { review_by: reviewBy.value }),
    });
  }
  const text = h('textarea', { name: `${action}-text`, rows: '3', maxlength: '500', required: action === 'reject' });
  return formDialog({
    ...common,
    controls: [field(t(texts.label), text)],
    submit: () => api('POST', path, action === 'reject' ? { reason: text.value.trim() } : { note: text.value.trim() }),
  });
}
