// Start-up: which page a visitor gets depends only on the server's answer about the session.
import { api, ApiError, setCsrfToken } from './api.js';
import { setLanguage } from './i18n.js';
import { showFirstRun, showSetupSteps, showSignIn } from './signin.js';

const storedLanguage = () => {
  try {
    return window.localStorage.getItem('yardwatch.language') || 'nl';
  } catch {
    return 'nl';
  }
};

export async function start() {
  let session = null;
  try {
    session = await api('GET', '/api/v1/session');
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  if (!session) {
    await setLanguage(storedLanguage());
    const setup = await api('GET', '/api/v1/setup');
    if (setup.needs_first_admin) {
      showFirstRun(start);
    } else {
      showSignIn(start);
    }
    return;
  }
  setCsrfToken(session.csrf_token);
  await setLanguage(session.account.language);
  if (session.account.must_change_password || session.account.needs_totp_enrolment) {
    showSetupSteps(session, start);
    return;
  }
  const app = await import('/ui/app/main.js');
  await app.startApp(session, start);
}

start().catch((error) => {
  console.error(error);
  const main = document.getElementById('main');
  main.textContent = String(error.message || error);
});
