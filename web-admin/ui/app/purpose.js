// Looking at footage needs a purpose (R4, R6): asked before the first frame, in a dialog.
import { field, h } from '/ui/public/js/dom.js';
import { t } from '/ui/public/js/i18n.js';

export function askPurpose(titleText, suggestion = '') {
  return new Promise((resolve) => {
    const text = h('textarea', { name: 'purpose', required: true, minlength: '5', maxlength: '500', rows: '3' });
    text.value = suggestion;
    const cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, t('common.cancel'));
    const ok = h('button', { type: 'submit', class: 'primary', id: 'purpose-ok' }, t('purpose.start'));
    const dialog = h(
      'dialog',
      { class: 'purpose-dialog', 'aria-labelledby': 'purpose-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'purpose-title' }, titleText),
        h('p', {}, t('purpose.explain')),
        field(t('purpose.label'), text, t('purpose.hint')),
        h('div', { class: 'actions' }, cancel, ok),
      ),
    );
    let result = null;
    dialog.querySelector('form').addEventListener('submit', (event) => {
      if (text.value.trim().length < 5) {
        event.preventDefault();
        text.focus();
        return;
      }
      result = text.value.trim();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    text.focus();
  });
}
