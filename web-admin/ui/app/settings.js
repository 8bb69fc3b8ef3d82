// The signed-in person's own settings: language and password.
import { api, setCsrfToken } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { currentLanguage, setLanguage, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { refreshSession } from './main.js';

export async function render(main) {
  document.title = `${t('settings.title')} – Yardwatch`;
  const language = h('select', { id: 'language' },
    h('option', { value: 'nl', lang: 'nl', selected: currentLanguage() === 'nl' }, 'Nederlands'),
    h('option', { value: 'en', lang: 'en', selected: currentLanguage() === 'en' }, 'English'));
  const old = h('input', { type: 'password', required: true, autocomplete: 'current-password' });
  const fresh = h('input', { type: 'password', required: true, minlength: '12', autocomplete: 'new-password' });
  const totp = h('input', { inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', autocomplete: 'one-time-code' });
  replace(
    main,
    h('h1', {}, t('settings.title')),
    h('form', {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await api('PUT', '/api/v1/account/language', { language: language.value });
          await refreshSession();
          await setLanguage(language.value);
          notify(t('settings.language_saved'), 'ok');
          window.dispatchEvent(new HashChangeEvent('hashchange'));
        } catch (error) {
          notify(error.message, 'error');
        }
      },
    },
    h('h2', {}, t('settings.language_title')),
    field(t('settings.language'), language),
    h('button', { type: 'submit', class: 'primary' }, t('settings.save_language'))),
    h('form', {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const next = await api('POST', '/api/v1/account/password', { old_password: old.value, new_password: fresh.value, totp: totp.value.trim() });
          setCsrfToken(next.csrf_token);
          old.value = '';
          fresh.value = '';
          totp.value = '';
          notify(t('password.changed'), 'ok');
        } catch (error) {
          notify(error.message, 'error');
        }
      },
    },
    h('h2', {}, t('password.title')),
    field(t('password.old'), old),
    field(t('password.new'), fresh, t('password.rules')),
    field(t('signin.totp'), totp, t('signin.totp_hint')),
    h('button', { type: 'submit', class: 'primary' }, t('password.submit'))),
  );
}
