// Four-eyes (policy.four_eyes; firmware/design/privacy_desk.md): opening recorded footage and
// creating a police export need a second authorised person. When the appliance answers
// `four_eyes_required`, this dialog asks the second person for their own name, password and
// TOTP code and sends the same request again with them. Nothing of it is kept: the fields are
// emptied when the dialog closes, and the appliance signs the second person in only for that
// one request.
import { api } from '/ui/public/js/api.js';
import { field, h } from '/ui/public/js/dom.js';
import { t } from '/ui/public/js/i18n.js';
import { formDialog } from './hold_dialog.js';

function secondPersonDialog(path, body) {
  const name = h('input', { name: 'second-name', required: true, maxlength: '64', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'second-password', type: 'password', required: true, maxlength: '256', autocomplete: 'off' });
  const totp = h('input', { name: 'second-totp', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', autocomplete: 'off' });
  const result = formDialog({
    id: 'four-eyes-dialog',
    title: t('four_eyes.title'),
    intro: [h('p', {}, t('four_eyes.explain')), h('p', { class: 'hint' }, t('four_eyes.not_kept'))],
    controls: [
      field(t('four_eyes.name'), name),
      field(t('four_eyes.password'), password),
      field(t('four_eyes.totp'), totp, t('four_eyes.totp_hint')),
    ],
    submitText: t('four_eyes.approve'),
    submit: async () => {
      try {
        return await api('POST', path, {
          ...body,
          second_person: { name: name.value.trim(), password: password.value, totp: totp.value.trim() },
        });
      } catch (error) {
        // The appliance says why (wrong password, same person, not allowed for this camera).
        if (error && error.code === 'four_eyes_refused') throw new Error(`${t('four_eyes.refused')} ${error.detail}`);
        throw error;
      } finally {
        password.value = '';
        totp.value = '';
      }
    },
  });
  return result;
}

// POSTs `body` to `path`; if four-eyes is required, asks for the second person and resends.
// Resolves with the reply, or null when the second person's dialog was cancelled.
export async function postWithFourEyes(path, body) {
  try {
    return await api('POST', path, body);
  } catch (error) {
    if (!error || error.code !== 'four_eyes_required') throw error;
    return secondPersonDialog(path, body);
  }
}
