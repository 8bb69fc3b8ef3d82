// The dashboard: per camera the recording state, footage kept and retention; storage; alarms;
// overdue holds. What a director sees first: calm, with problems at the top.
import { api, fetchBytes } from '/ui/public/js/api.js';
import { formatBytes, h, replace } from '/ui/public/js/dom.js';
import { formatTime, has, t } from '/ui/public/js/i18n.js';
import { can } from './main.js';

function stillOf(camera) {
  const video = h('video', { class: 'still', muted: true, playsinline: true, preload: 'auto', 'aria-label': t('dashboard.preview_label', { name: camera.name }) });
  video.muted = true;
  const note = h('p', { class: 'hint' }, t('dashboard.preview_loading'));
  const figure = h('figure', { class: 'still-figure' }, video, h('figcaption', {}, note));
  fetchBytes(`/api/v1/cameras/${camera.id}/preview`)
    .then((response) => response.blob())
    .then((blob) => {
      video.src = URL.createObjectURL(blob);
      video.addEventListener('loadeddata', () => {
        note.textContent = t('dashboard.preview_caption');
        figure.dataset.loaded = 'true';
      }, { once: true });
    })
    .catch(() => {
      note.textContent = t('dashboard.preview_unavailable');
      figure.dataset.loaded = 'false';
    });
  return figure;
}

export async function render(main) {
  const status = await api('GET', '/api/v1/status');
  document.title = `${t('dashboard.title')} – Yardwatch`;
  const alarms = status.alarms.length
    ? h(
        'section',
        { class: 'card alarms', 'aria-labelledby': 'alarms-heading' },
        h('h2', { id: 'alarms-heading' }, t('dashboard.alarms')),
        h('ul', {}, status.alarms.map((alarm) =>
          h('li', {}, h('strong', {}, has(`alarm.${alarm.kind}`) ? t(`alarm.${alarm.kind}`) : alarm.kind), ' – ', alarm.message, ' (', formatTime(alarm.raised), ')'),
        )),
      )
    : null;
  const overdue = status.holds_overdue.length
    ? h(
        'section',
        { class: 'card alarms', 'aria-labelledby': 'overdue-heading' },
        h('h2', { id: 'overdue-heading' }, t('dashboard.holds_overdue')),
        h('ul', {}, status.holds_overdue.map((hold) => h('li', {}, hold.camera, ' – ', hold.reason))),
        h('p', {}, h('a', { href: '#/holds/overdue', id: 'overdue-holds-link' }, t('dashboard.holds_overdue_link'))),
      )
    : null;
  // Data subjects' requests due within 7 days or overdue (R7; directors and privacy officers).
  const requestsDue = (status.requests_due || []).length
    ? h(
        'section',
        { class: 'card alarms', 'aria-labelledby': 'requests-due-heading' },
        h('h2', { id: 'requests-due-heading' }, t('dashboard.requests_due')),
        h('ul', {}, status.requests_due.map((r) => h('li', {}, r.reference, ' – ', r.deadline.slice(0, 10),
          r.overdue ? ` (${t('dashboard.request_overdue')})` : ''))),
        h('p', {}, h('a', { href: '#/requests/due' }, t('dashboard.requests_link'))),
      )
    : null;
  // Breaches whose 72-hour decision is open (R8; directors and privacy officers).
  const breachesOpen = (status.breaches_open || []).length
    ? h(
        'section',
        { class: 'card alarms', 'aria-labelledby': 'breaches-open-heading', id: 'breaches-open' },
        h('h2', { id: 'breaches-open-heading' }, t('dashboard.breaches_open')),
        h('ul', {}, status.breaches_open.map((b) => h('li', { class: b.overdue ? 'overdue' : null },
          has(`alarm.${b.kind}`) ? t(`alarm.${b.kind}`) : (b.kind === 'manual' ? t('dashboard.breach_manual') : b.kind),
          ' – ', t('dashboard.breach_deadline', { time: formatTime(b.deadline) }),
          b.overdue ? ` (${t('dashboard.breach_overdue')})` : ''))),
        h('p', {}, h('a', { href: '#/breaches' }, t('dashboard.breaches_link'))),
      )
    : null;
  // The DPIA reminder (R10): from 30 days before the three-year mark, or without a date.
  const dpia = status.dpia && status.dpia.warning
    ? h(
        'section',
        { class: 'card alarms', 'aria-labelledby': 'dpia-heading', id: 'dpia-warning', 'data-state': status.dpia.state },
        h('h2', { id: 'dpia-heading' }, t('dashboard.dpia_title')),
        h('p', {}, status.dpia.state === 'unknown'
          ? t('dashboard.dpia_unknown')
          : status.dpia.state === 'overdue'
            ? t('dashboard.dpia_overdue', { date: status.dpia.date, due: status.dpia.due_date })
            : t('dashboard.dpia_due_soon', { date: status.dpia.date, due: status.dpia.due_date, days: status.dpia.days_left })),
      )
    : null;
  const cards = status.cameras.map((entry) => {
    const camera = entry.camera;
    const links = [];
    if (can('view_recorded') || can('live_view')) {
      links.push(h('a', { class: 'button', href: `#/camera/${camera.id}` }, t('dashboard.open_camera', { name: camera.name })));
    }
    // Admins see a recent picture of each camera: the setup preview of the role matrix (audited).
    const preview = can('manage_cameras') ? stillOf(camera) : null;
    return h(
      'li',
      { class: 'card camera-card' },
      h('h3', {}, camera.name),
      preview,
      h('p', { class: `state state-${entry.state}` }, t(`state.${entry.state}`)),
      entry.reason ? h('p', { class: 'hint' }, entry.reason) : null,
      h(
        'dl',
        {},
        h('dt', {}, t('dashboard.zone')),
        h('dd', {}, t(`zone.${camera.zone}`)),
        camera.location ? [h('dt', {}, t('dashboard.location')), h('dd', {}, camera.location)] : null,
        h('dt', {}, t('dashboard.retention')),
        h('dd', {}, t('dashboard.retention_value', { days: camera.retention_days, kept: entry.footage_days.toFixed(1) })),
        h('dt', {}, t('dashboard.footage')),
        h('dd', {}, entry.oldest ? `${formatTime(entry.oldest)} – ${formatTime(entry.newest)}` : t('dashboard.no_footage')),
        h('dt', {}, t('dashboard.size')),
        h('dd', {}, formatBytes(entry.bytes)),
      ),
      links,
    );
  });
  replace(
    main,
    h('h1', {}, t('dashboard.title')),
    alarms,
    overdue,
    dpia,
    breachesOpen,
    requestsDue,
    h('section', { 'aria-labelledby': 'cameras-heading' },
      h('h2', { id: 'cameras-heading' }, t('dashboard.cameras')),
      cards.length ? h('ul', { class: 'cards' }, cards) : h('p', {}, t('dashboard.no_cameras'))),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'storage-heading' },
      h('h2', { id: 'storage-heading' }, t('dashboard.storage')),
      h('p', {}, t('dashboard.storage_value', {
        free: formatBytes(status.storage.free_bytes),
        total: formatBytes(status.storage.total_bytes),
      })),
      h('p', {}, t('dashboard.recorder'), ' ', status.recorder_running ? t('dashboard.recorder_running') : t('dashboard.recorder_stopped')),
      h('p', { class: 'hint' }, t('dashboard.certificate'), ' ', h('code', { class: 'fingerprint' }, status.certificate_sha256)),
    ),
  );
}
