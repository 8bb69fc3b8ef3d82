// The JSON API under /api/v1/. State changes carry the session's CSRF token; the session
// cookie itself is HttpOnly and never seen by this code.

let csrfToken = '';

export function setCsrfToken(token) {
  csrfToken = token || '';
}

import { has, t } from './i18n.js';

// The appliance's messages are in English; the common ones are shown in the page's language.
function translated(code, message) {
  const wait = /try again in (\d+) s/.exec(message || '');
  if (code === 'sign_in_failed' && wait) return t('error.throttled', { seconds: wait[1] });
  // A refusal with a reason of its own (rule R1 for a camera zone, say) keeps that reason.
  if (code === 'forbidden' && !/^permission denied/.test(message || '')) return message;
  return has(`error.${code}`) ? t(`error.${code}`) : message;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(translated(code, message));
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const options = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : { code: 'http', message: response.statusText };
    throw new ApiError(response.status, error.code, error.message);
  }
  return data;
}

// Bytes (footage): same rules, no JSON.
export async function fetchBytes(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).error.message;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, 'http', message);
  }
  return response;
}
