// The pages before the application: sign-in (with TOTP), first run (the first admin with the
// one-time setup code), and the steps a new account must take (change the temporary password,
// set up TOTP).
import { api, ApiError, setCsrfToken } from './api.js';
import { field, h, replace } from './dom.js';
import { currentLanguage, setLanguage, t } from './i18n.js';
import { clearNotice, notify } from './notice.js';

let signedIn = false;

function page(titleKey, ...content) {
  const main = document.getElementById('main');
  replace(document.getElementById('nav'));
  replace(document.getElementById('who'), languageSwitch());
  document.title = `${t(titleKey)} – Yardwatch`;
  replace(main, h('section', { class: 'card narrow' }, h('h1', {}, t(titleKey)), ...content));
  main.focus();
}

function languageSwitch() {
  const other = currentLanguage() === 'nl' ? 'en' : 'nl';
  return h(
    'button',
    {
      type: 'button',
      class: 'link',
      lang: other,
      id: 'switch-language',
      onclick: async () => {
        try {
          window.localStorage.setItem('yardwatch.language', other);
        } catch {
          // private mode: the choice lasts for this page only
        }
        // Signed in (the first steps of a new account): the choice is the account's.
        if (signedIn) await api('PUT', '/api/v1/account/language', { language: other });
        await setLanguage(other);
        const { start } = await import('./boot.js');
        await start();
      },
    },
    t(other === 'en' ? 'language.switch_to_en' : 'language.switch_to_nl'),
  );
}

function errorText(error) {
  if (error instanceof ApiError) return error.message;
  return t('common.unexpected_error');
}

function input(attributes) {
  return h('input', { required: true, ...attributes });
}

export function showSignIn(onDone) {
  signedIn = false;
  const name = input({ name: 'username', autocomplete: 'username', autocapitalize: 'none' });
  const password = input({ name: 'password', type: 'password', autocomplete: 'current-password' });
  const totp = h('input', {
    name: 'totp',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: '6',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          const session = await api('POST', '/api/v1/session', {
            name: name.value.trim(),
            password: password.value,
            totp: totp.value.trim(),
          });
          setCsrfToken(session.csrf_token);
          clearNotice();
          await onDone();
        } catch (error) {
          notify(errorText(error), 'error');
          password.value = '';
          totp.value = '';
          password.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t('signin.name'), name),
    field(t('signin.password'), password),
    field(t('signin.totp'), totp, t('signin.totp_hint')),
    submit,
  );
  page('signin.title', h('p', {}, t('signin.intro')), form);
  name.focus();
}

export function showFirstRun(onDone) {
  signedIn = false;
  const code = input({ name: 'setup-code', autocomplete: 'off', autocapitalize: 'characters' });
  const name = input({ name: 'username', autocomplete: 'username', autocapitalize: 'none' });
  const password = input({
    name: 'new-password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: '12',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('firstrun.submit'));
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          await api('POST', '/api/v1/setup/first-admin', {
            setup_code: code.value.trim(),
            name: name.value.trim(),
            password: password.value,
          });
          notify(t('firstrun.done'), 'ok');
          showSignIn(onDone);
        } catch (error) {
          notify(errorText(error), 'error');
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t('firstrun.code'), code, t('firstrun.code_hint')),
    field(t('firstrun.name'), name),
    field(t('firstrun.password'), password, t('password.rules')),
    submit,
  );
  page('firstrun.title', h('p', {}, t('firstrun.intro')), form);
  code.focus();
}

export function showSetupSteps(session, onDone) {
  signedIn = true;
  if (session.account.must_change_password) {
    showPasswordChange(session, onDone);
  } else {
    showTotpEnrolment(onDone);
  }
}

function showPasswordChange(session, onDone) {
  const old = input({ name: 'password', type: 'password', autocomplete: 'current-password' });
  const fresh = input({
    name: 'new-password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: '12',
  });
  const again = input({ name: 'new-password-again', type: 'password', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('password.submit'));
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        if (fresh.value !== again.value) {
          notify(t('password.mismatch'), 'error');
          again.focus();
          return;
        }
        submit.disabled = true;
        try {
          const next = await api('POST', '/api/v1/account/password', {
            old_password: old.value,
            new_password: fresh.value,
          });
          setCsrfToken(next.csrf_token);
          notify(t('password.changed'), 'ok');
          await onDone();
        } catch (error) {
          notify(errorText(error), 'error');
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t('password.old_temporary'), old),
    field(t('password.new'), fresh, t('password.rules')),
    field(t('password.again'), again),
    submit,
  );
  page('password.title_first', h('p', {}, t('password.intro_first', { name: session.account.name })), form);
  old.focus();
}

function showTotpEnrolment(onDone) {
  const begin = h('button', { type: 'button', class: 'primary' }, t('totp.begin'));
  const area = h('div', { class: 'totp-area' });
  begin.addEventListener('click', async () => {
    begin.disabled = true;
    try {
      const enrolment = await api('POST', '/api/v1/account/totp/begin');
      const code = h('input', {
        name: 'totp',
        inputmode: 'numeric',
        autocomplete: 'one-time-code',
        pattern: '[0-9]{6}',
        maxlength: '6',
        required: true,
      });
      const confirm = h('button', { type: 'submit', class: 'primary' }, t('totp.confirm'));
      replace(
        area,
        h('p', {}, t('totp.scan')),
        h('p', {}, t('totp.secret_label'), ' ', h('code', { class: 'secret', 'data-testid': 'totp-secret' }, enrolment.secret)),
        h('p', { class: 'hint' }, enrolment.uri),
        h(
          'form',
          {
            onsubmit: async (event) => {
              event.preventDefault();
              confirm.disabled = true;
              try {
                await api('POST', '/api/v1/account/totp/confirm', { code: code.value.trim() });
                notify(t('totp.done'), 'ok');
                await onDone();
              } catch (error) {
                notify(errorText(error), 'error');
                code.focus();
              } finally {
                confirm.disabled = false;
              }
            },
          },
          field(t('totp.code'), code),
          confirm,
        ),
      );
      code.focus();
    } catch (error) {
      notify(errorText(error), 'error');
      begin.disabled = false;
    }
  });
  page('totp.title', h('p', {}, t('totp.intro')), begin, area);
  begin.focus();
}
