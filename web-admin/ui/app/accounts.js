// Accounts (admins): personal accounts only, a temporary password the owner must change,
// viewers limited to assigned cameras.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';

const roles = ['admin', 'director', 'viewer', 'privacy_officer'];

function cameraChecks(cameras, chosen) {
  return h('fieldset', { class: 'checks' },
    h('legend', {}, t('accounts.cameras')),
    cameras.map((camera) => {
      const box = h('input', { type: 'checkbox', value: camera.name, checked: chosen.includes(camera.name), id: `cam-${camera.id}-${Math.random().toString(36).slice(2, 8)}` });
      return h('div', { class: 'check' }, box, h('label', { for: box.id }, camera.name));
    }));
}

const checked = (fieldset) => [...fieldset.querySelectorAll('input:checked')].map((box) => box.value);

export async function render(main) {
  document.title = `${t('accounts.title')} – Yardwatch`;
  const draw = async () => {
    const [{ accounts }, { cameras }] = await Promise.all([api('GET', '/api/v1/accounts'), api('GET', '/api/v1/cameras')]);
    const rows = accounts.map((account) => {
      const role = h('select', { 'aria-label': t('accounts.role_of', { name: account.name }) },
        roles.map((r) => h('option', { value: r, selected: r === account.role }, t(`role.${r}`))));
      const checks = cameraChecks(cameras, account.cameras);
      return h('tr', {},
        h('th', { scope: 'row' }, account.name),
        h('td', {}, role),
        h('td', {}, checks),
        h('td', {}, account.disabled ? t('accounts.disabled') : t('accounts.active'), account.has_totp ? ` · ${t('accounts.totp_on')}` : ''),
        h('td', {}, formatTime(account.last_login)),
        h('td', {},
          h('button', {
            type: 'button',
            class: 'link',
            onclick: async () => {
              try {
                await api('PUT', `/api/v1/accounts/${encodeURIComponent(account.name)}`, { role: role.value, cameras: checked(checks) });
                notify(t('accounts.saved'), 'ok');
                await draw();
              } catch (error) {
                notify(error.message, 'error');
              }
            },
          }, t('accounts.save', { name: account.name })),
          ' ',
          h('button', {
            type: 'button',
            class: 'link',
            onclick: async () => {
              try {
                await api('PUT', `/api/v1/accounts/${encodeURIComponent(account.name)}`, { disabled: !account.disabled });
                notify(t('accounts.saved'), 'ok');
                await draw();
              } catch (error) {
                notify(error.message, 'error');
              }
            },
          }, account.disabled ? t('accounts.enable', { name: account.name }) : t('accounts.disable', { name: account.name }))));
    });
    const name = h('input', { required: true, maxlength: '64', pattern: '[A-Za-z0-9._-]+', autocomplete: 'off' });
    const role = h('select', {}, roles.map((r) => h('option', { value: r, selected: r === 'viewer' }, t(`role.${r}`))));
    const password = h('input', { required: true, type: 'password', minlength: '12', autocomplete: 'new-password' });
    const checks = cameraChecks(cameras, []);
    replace(
      main,
      h('h1', {}, t('accounts.title')),
      h('table', {},
        h('caption', {}, t('accounts.caption')),
        h('thead', {}, h('tr', {}, ['accounts.name', 'accounts.role', 'accounts.cameras', 'accounts.state', 'accounts.last_login', 'accounts.actions'].map((key) => h('th', { scope: 'col' }, t(key))))),
        h('tbody', {}, rows)),
      h('form', {
        class: 'card',
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            await api('POST', '/api/v1/accounts', { name: name.value.trim(), role: role.value, cameras: checked(checks), temporary_password: password.value });
            notify(t('accounts.created', { name: name.value.trim() }), 'ok');
            await draw();
          } catch (error) {
            notify(error.message, 'error');
          }
        },
      },
      h('h2', {}, t('accounts.add_title')),
      field(t('accounts.name'), name),
      field(t('accounts.role'), role),
      checks,
      field(t('accounts.temporary_password'), password, t('accounts.temporary_hint')),
      h('button', { type: 'submit', class: 'primary' }, t('accounts.add'))),
    );
  };
  await draw();
}
