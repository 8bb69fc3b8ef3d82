// The signed-in application: navigation by role (as the server's permissions say) and a small
// hash router. Every page asks the API; the API checks everything again.
import { api, setCsrfToken } from '/ui/public/js/api.js';
import { h, replace } from '/ui/public/js/dom.js';
import { t } from '/ui/public/js/i18n.js';
import { clearNotice, notify } from '/ui/public/js/notice.js';

let session = null;
let restart = null;
let leaveCurrent = null;

export function currentSession() {
  return session;
}

export function can(permission) {
  return Boolean(session && session.permissions[permission]);
}

const pages = {
  dashboard: { labelKey: 'nav.dashboard', show: () => true, load: () => import('./dashboard.js') },
  camera: { show: () => false, load: () => import('./camera.js') },
  cameras: {
    labelKey: 'nav.cameras',
    show: () => can('manage_cameras'),
    load: () => import('./cameras.js'),
  },
  accounts: {
    labelKey: 'nav.accounts',
    show: () => can('manage_accounts'),
    load: () => import('./accounts.js'),
  },
  holds: {
    labelKey: 'nav.holds',
    show: () => can('place_hold') || can('request_hold') || can('read_subject_requests'),
    load: () => import('./holds.js'),
  },
  requests: {
    labelKey: 'nav.requests',
    show: () => can('read_subject_requests'),
    load: () => import('./requests.js'),
  },
  breaches: {
    labelKey: 'nav.breaches',
    show: () => can('read_breaches'),
    load: () => import('./breaches.js'),
  },
  export: {
    labelKey: 'nav.export',
    show: () => can('police_export'),
    load: () => import('./export.js'),
  },
  // #/subject-export/<request reference>: linked from the request register for access requests.
  'subject-export': {
    show: () => can('manage_subject_requests'),
    load: () => import('./subject_export.js'),
  },
  reports: {
    labelKey: 'nav.reports',
    show: () => can('read_compliance_reports'),
    load: () => import('./reports.js'),
  },
  audit: { labelKey: 'nav.audit', show: () => true, load: () => import('./audit.js') },
  settings: { labelKey: 'nav.settings', show: () => true, load: () => import('./settings.js') },
};

function parseHash() {
  const parts = (window.location.hash || '#/dashboard').replace(/^#\/?/, '').split('/');
  const name = pages[parts[0]] ? parts[0] : 'dashboard';
  return { name, args: parts.slice(1).map(decodeURIComponent) };
}

function renderNav(active) {
  const links = Object.entries(pages)
    .filter(([, page]) => page.labelKey && page.show())
    .map(([name, page]) =>
      h('li', {}, h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : null }, t(page.labelKey))),
    );
  replace(document.getElementById('nav'), h('ul', {}, links));
  replace(
    document.getElementById('who'),
    h('span', { class: 'who-name' }, `${session.account.name} · ${t(`role.${session.account.role}`)}`),
    ' ',
    h('button', { type: 'button', class: 'link', id: 'sign-out', onclick: signOut }, t('nav.sign_out')),
  );
}

async function signOut() {
  try {
    await api('DELETE', '/api/v1/session');
  } catch {
    // already signed out
  }
  setCsrfToken('');
  if (leaveCurrent) leaveCurrent();
  leaveCurrent = null;
  window.location.hash = '';
  notify(t('nav.signed_out'), 'ok');
  await restart();
}

async function route() {
  const { name, args } = parseHash();
  if (!pages[name].show() && name !== 'camera') {
    window.location.hash = '#/dashboard';
    return;
  }
  if (leaveCurrent) leaveCurrent();
  leaveCurrent = null;
  renderNav(name === 'camera' ? 'dashboard' : name);
  const main = document.getElementById('main');
  replace(main, h('p', { class: 'loading' }, t('common.loading')));
  try {
    const module = await pages[name].load();
    const result = await module.render(main, args);
    if (typeof result === 'function') leaveCurrent = result;
  } catch (error) {
    if (error && error.status === 401) {
      await restart();
      return;
    }
    console.warn(error);
    replace(main, h('p', { class: 'error' }, error && error.message ? error.message : t('common.unexpected_error')));
  }
  main.focus();
}

export async function refreshSession() {
  session = await api('GET', '/api/v1/session');
  setCsrfToken(session.csrf_token);
  return session;
}

export async function startApp(initial, onRestart) {
  session = initial;
  restart = onRestart;
  clearNotice();
  window.onhashchange = () => {
    clearNotice();
    route();
  };
  await route();
}
