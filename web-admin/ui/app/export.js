// The police export wizard (R5): case and legal basis, recipient, cameras and range, a
// passphrase handed over separately, the medium; then the appliance writes the signed,
// encrypted bundle and shows the handover receipt. Directors only (the appliance checks).
import { api } from '/ui/public/js/api.js';
import { field, formatBytes, h, replace } from '/ui/public/js/dom.js';
import { t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { postWithFourEyes } from './four_eyes.js';

// datetime-local gives 2026-11-30T10:00 or, with seconds, 2026-11-30T10:00:05; the wizard's
// times are UTC (said next to the fields).
const toIso = (local) => new Date(`${local.length === 16 ? `${local}:00` : local}Z`).toISOString();

// From a camera's time line: #/export/<camera>/<from ISO>/<to ISO> fills in the range.
export async function render(main, args = []) {
  document.title = `${t('export.title')} – Yardwatch`;
  const [{ cameras }, { media }] = await Promise.all([api('GET', '/api/v1/cameras'), api('GET', '/api/v1/exports/media')]);

  const caseReference = h('input', { name: 'case', required: true, maxlength: '100' });
  const legalBasis = h('input', { name: 'legal-basis', required: true, minlength: '5', maxlength: '500' });
  const requestedBy = h('input', { name: 'requested-by', maxlength: '500' });
  const recipient = h('input', { name: 'recipient', required: true, maxlength: '500' });
  const checks = cameras.map((camera) => {
    const box = h('input', { type: 'checkbox', value: camera.name, id: `export-cam-${camera.id}`, name: 'camera' });
    return h('div', { class: 'check' }, box, h('label', { for: box.id }, camera.name));
  });
  const from = h('input', { type: 'datetime-local', name: 'from', required: true, step: '1' });
  const to = h('input', { type: 'datetime-local', name: 'to', required: true, step: '1' });
  const passphrase = h('input', { type: 'password', name: 'passphrase', required: true, minlength: '12', autocomplete: 'new-password' });
  const again = h('input', { type: 'password', name: 'passphrase-again', required: true, autocomplete: 'new-password' });
  const medium = h('select', { name: 'medium', required: true },
    media.map((m) => h('option', { value: m.id }, `${m.label} (${t('export.free', { free: formatBytes(m.free_bytes) })})`)));

  const steps = [
    h('fieldset', {}, h('legend', {}, t('export.step_case')),
      field(t('export.case'), caseReference, t('export.case_hint')),
      field(t('export.legal_basis'), legalBasis, t('export.legal_basis_hint')),
      field(t('export.requested_by'), requestedBy, t('export.requested_by_hint'))),
    h('fieldset', {}, h('legend', {}, t('export.step_recipient')),
      field(t('export.recipient'), recipient, t('export.recipient_hint'))),
    h('fieldset', {}, h('legend', {}, t('export.step_range')),
      h('fieldset', { class: 'checks' }, h('legend', {}, t('export.cameras')), checks),
      field(t('export.from'), from, t('export.utc_hint')),
      field(t('export.to'), to)),
    h('fieldset', {}, h('legend', {}, t('export.step_passphrase')),
      h('p', {}, t('export.passphrase_explain')),
      field(t('export.passphrase'), passphrase, t('export.passphrase_hint')),
      field(t('export.passphrase_again'), again)),
    h('fieldset', {}, h('legend', {}, t('export.step_target')),
      media.length ? field(t('export.medium'), medium) : h('p', { class: 'error' }, t('export.no_media'))),
  ];
  const [preCamera, preFrom, preTo] = args;
  if (preCamera && preFrom && preTo && !Number.isNaN(Date.parse(preFrom)) && !Number.isNaN(Date.parse(preTo))) {
    for (const box of checks.map((c) => c.querySelector('input'))) box.checked = box.value === preCamera;
    from.value = new Date(preFrom).toISOString().slice(0, 19);
    to.value = new Date(preTo).toISOString().slice(0, 19);
  }
  const summary = h('div', { class: 'summary' });
  let step = 0;
  const back = h('button', { type: 'button', class: 'secondary', id: 'export-back' }, t('export.back'));
  const next = h('button', { type: 'submit', class: 'primary', id: 'export-next' }, t('export.next'));
  const progress = h('p', { class: 'hint', 'aria-live': 'polite' });
  const result = h('div', { 'aria-live': 'polite' });

  const chosenCameras = () => checks.map((c) => c.querySelector('input')).filter((b) => b.checked).map((b) => b.value);
  const show = () => {
    steps.forEach((fieldset, index) => { fieldset.hidden = index !== step; });
    summary.hidden = step !== steps.length;
    back.disabled = step === 0;
    next.textContent = step === steps.length ? t('export.create') : t('export.next');
    progress.textContent = t('export.progress', { step: Math.min(step + 1, steps.length + 1), of: steps.length + 1 });
    if (step === steps.length) {
      replace(summary, h('h2', {}, t('export.step_review')), h('dl', {},
        h('dt', {}, t('export.case')), h('dd', {}, caseReference.value),
        h('dt', {}, t('export.legal_basis')), h('dd', {}, legalBasis.value),
        h('dt', {}, t('export.recipient')), h('dd', {}, recipient.value),
        h('dt', {}, t('export.cameras')), h('dd', {}, chosenCameras().join(', ')),
        h('dt', {}, t('export.range')), h('dd', {}, `${from.value} – ${to.value} UTC`),
        h('dt', {}, t('export.medium')), h('dd', {}, medium.selectedOptions[0] ? medium.selectedOptions[0].textContent : '')),
      h('p', {}, t('export.review_note')));
    }
  };

  const form = h('form', {
    class: 'card wizard',
    novalidate: true,  // each step is checked on its own; hidden steps must not block it
    onsubmit: async (event) => {
      event.preventDefault();
      if (step < steps.length) {
        const current = steps[step];
        const invalid = [...current.querySelectorAll('input, select')].find((control) => !control.checkValidity());
        if (invalid) { invalid.reportValidity(); return; }
        if (step === 2 && chosenCameras().length === 0) { notify(t('export.choose_camera'), 'error'); return; }
        if (step === 3 && passphrase.value !== again.value) { notify(t('export.passphrase_mismatch'), 'error'); again.focus(); return; }
        if (step === 4 && !media.length) return;
        step += 1;
        show();
        (step < steps.length ? steps[step].querySelector('input, select') : next).focus();
        return;
      }
      next.disabled = true;
      progress.textContent = t('export.writing');
      try {
        // With four-eyes on, a second person approves in a dialog (null: cancelled).
        const done = await postWithFourEyes('/api/v1/exports', {
          cameras: chosenCameras(),
          from: toIso(from.value),
          to: toIso(to.value),
          case_reference: caseReference.value.trim(),
          legal_basis: legalBasis.value.trim(),
          recipient: recipient.value.trim(),
          requested_by: requestedBy.value.trim(),
          passphrase: passphrase.value,
          media_id: medium.value,
        });
        if (!done) {
          next.disabled = false;
          progress.textContent = '';
          return;
        }
        passphrase.value = '';
        again.value = '';
        form.hidden = true;
        replace(result, h('section', { class: 'card', 'aria-labelledby': 'receipt-heading' },
          h('h2', { id: 'receipt-heading' }, t('export.done_title')),
          h('p', {}, t('export.done', { directory: done.directory, files: done.files })),
          h('p', {}, h('a', { class: 'button primary', href: `/api/v1/exports/${done.id}/receipt.pdf`, download: `receipt-${done.id}.pdf` }, t('export.receipt_pdf'))),
          h('pre', { class: 'receipt', 'data-testid': 'receipt', 'data-export-id': done.id, 'data-directory': done.directory }, done.receipt_text)));
        notify(t('export.done_notice'), 'ok');
      } catch (error) {
        notify(error.message, 'error');
        next.disabled = false;
        progress.textContent = '';
      }
    },
  }, steps, summary, progress, h('div', { class: 'actions' }, back, next));
  back.addEventListener('click', () => { if (step > 0) { step -= 1; show(); } });
  show();
  replace(main, h('h1', {}, t('export.title')), h('p', {}, t('export.intro')), form, result);
}
