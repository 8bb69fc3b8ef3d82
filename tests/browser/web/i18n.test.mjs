// Every string of the web admin exists in Dutch and in English: the two files have the same
// keys, no empty text, and every key the UI's code names is in them. (The browser tests also
// fail on any missing key met at run time.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ui = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web-admin/ui');
const load = (language) => JSON.parse(readFileSync(path.join(ui, 'public/i18n', `${language}.json`), 'utf8'));

function sources(directory) {
  return readdirSync(directory).flatMap((name) => {
    const full = path.join(directory, name);
    if (statSync(full).isDirectory()) return sources(full);
    return /\.(js|html)$/.test(name) ? [full] : [];
  });
}

// Keys built at run time from a value: every value the appliance can send.
const dynamic = {
  role: ['admin', 'director', 'viewer', 'privacy_officer'],
  state: ['recording', 'connecting', 'disconnected', 'error', 'stopped'],
  zone: ['schoolyard', 'entrance', 'bicycle_shed', 'parking', 'fence', 'playground', 'sports_field', 'perimeter'],
  'audit.scope_': ['all', 'system', 'own'],
  'requests.kind_': ['access', 'objection', 'erasure', 'restriction'],
  'requests.status_': ['open', 'due_soon', 'overdue', 'closed'],
  'requests.outcome_': ['granted', 'partially_granted', 'refused', 'withdrawn'],
  'requests.action_': ['erasure', 'restriction', 'restriction_lifted', 'subject_export', 'hold'],
  'breaches.answer_': ['yes', 'no', 'unknown'],
  'breaches.encryption_': ['yes', 'partly', 'no', 'not_applicable', 'unknown'],
  'breaches.decision_': ['report', 'not_report'],
};

test('Dutch and English have the same keys and no empty text', () => {
  const nl = load('nl');
  const en = load('en');
  assert.deepEqual(Object.keys(nl).sort(), Object.keys(en).sort());
  for (const [key, text] of [...Object.entries(nl), ...Object.entries(en)]) {
    assert.ok(typeof text === 'string' && text.trim().length > 0, `empty translation: ${key}`);
  }
  // Placeholders match between the languages.
  for (const key of Object.keys(nl)) {
    const names = (text) => [...text.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(names(nl[key]), names(en[key]), `placeholders differ: ${key}`);
  }
});

test('every key the UI names is translated', () => {
  const keys = new Set(Object.keys(load('nl')));
  const prefixes = new Set(Object.keys(keys.size ? load('nl') : {}).map((key) => key.split('.')[0]));
  const missing = [];
  for (const file of sources(ui)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/['"`]([a-z_]+\.[a-z_]+)['"`]/g)) {
      const key = match[1];
      if (prefixes.has(key.split('.')[0]) && !keys.has(key)) missing.push(`${path.relative(ui, file)}: ${key}`);
    }
    for (const match of text.matchAll(/data-i18n(?:-aria-label)?="([^"]+)"/g)) {
      if (!keys.has(match[1])) missing.push(`${path.relative(ui, file)}: ${match[1]}`);
    }
  }
  for (const [prefix, values] of Object.entries(dynamic)) {
    for (const value of values) {
      const key = prefix.endsWith('_') ? `${prefix}${value}` : `${prefix}.${value}`;
      if (!keys.has(key)) missing.push(`(dynamic) ${key}`);
    }
  }
  assert.deepEqual(missing, []);
});
