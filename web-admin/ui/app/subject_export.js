// The subject access export (R7, R11): #/subject-export/<request reference>. A director answers
// an access request ('inzage'): picks a camera and a range (at most 15 minutes), looks at a
// frame and draws the requester's box on it (with the mouse, or by typing the box in percent),
// lets the appliance blur everybody else, steps through the result frame by frame, confirms the
// review (the appliance refuses it unless every frame was shown), and releases the encrypted,
// signed bundle to a medium. Every rule is checked again by the appliance.
import { api, fetchBytes } from '/ui/public/js/api.js';
import { field, formatBytes, h, replace } from '/ui/public/js/dom.js';
import { t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { postWithFourEyes } from './four_eyes.js';

const MAX_RANGE_MS = 15 * 60 * 1000;
// datetime-local values are UTC here (said next to the fields).
const toIso = (local) => new Date(`${local.length === 16 ? `${local}:00` : local}Z`).toISOString();
const clamp = (value) => Math.min(1, Math.max(0, value));

// Frames shown → [[first, last], …] for the review report.
function ranges(shown) {
  const sorted = [...shown].sort((a, b) => a - b);
  const out = [];
  for (const frame of sorted) {
    const last = out[out.length - 1];
    if (last && frame === last[1] + 1) last[1] = frame;
    else out.push([frame, frame]);
  }
  return out;
}

export async function render(main, args = []) {
  const reference = args[0] || '';
  document.title = `${t('subject_export.title')} – Yardwatch`;
  if (!reference) {
    replace(main, h('h1', {}, t('subject_export.title')), h('p', { class: 'error' }, t('subject_export.no_request')));
    return undefined;
  }
  const [{ cameras }, { media }] = await Promise.all([api('GET', '/api/v1/cameras'), api('GET', '/api/v1/exports/media')]);
  const urls = [];
  const objectUrl = (blob) => {
    const url = URL.createObjectURL(blob);
    urls.push(url);
    return url;
  };

  // --- 1. Camera, range and the requester's box ---
  const camera = h('select', { name: 'camera', required: true }, cameras.map((c) => h('option', { value: c.name }, c.name)));
  const from = h('input', { type: 'datetime-local', name: 'from', required: true, step: '1' });
  const to = h('input', { type: 'datetime-local', name: 'to', required: true, step: '1' });
  const blurOutside = h('input', { type: 'checkbox', name: 'blur-outside', id: 'subject-blur-outside' });
  const still = h('img', { alt: t('subject_export.frame_alt'), id: 'subject-still', draggable: 'false' });
  const overlay = h('div', { class: 'subject-box', id: 'subject-box', hidden: true });
  const stage = h('div', { class: 'subject-stage', id: 'subject-stage', hidden: true }, still, overlay);
  const boxInputs = ['x', 'y', 'width', 'height'].map((name) =>
    h('input', { type: 'number', min: '0', max: '100', step: '0.1', name: `box-${name}`, id: `subject-box-${name}` }));
  let box = null;      // fractions of the picture
  let stillTime = '';  // ISO time of the frame shown

  const showBox = () => {
    overlay.hidden = !box;
    if (!box) return;
    Object.assign(overlay.style, {
      left: `${box.x * 100}%`, top: `${box.y * 100}%`, width: `${box.width * 100}%`, height: `${box.height * 100}%`,
    });
    boxInputs[0].value = (box.x * 100).toFixed(1);
    boxInputs[1].value = (box.y * 100).toFixed(1);
    boxInputs[2].value = (box.width * 100).toFixed(1);
    boxInputs[3].value = (box.height * 100).toFixed(1);
  };
  // Typed box (the keyboard alternative to drawing).
  for (const input of boxInputs) {
    input.addEventListener('change', () => {
      const [x, y, width, height] = boxInputs.map((i) => clamp(Number(i.value) / 100));
      if (width > 0 && height > 0) {
        box = { x, y, width: Math.min(width, 1 - x), height: Math.min(height, 1 - y) };
        showBox();
      }
    });
  }
  // Drawn box: press, drag, release on the frame.
  let anchor = null;
  const point = (event) => {
    const rect = still.getBoundingClientRect();
    return { x: clamp((event.clientX - rect.left) / rect.width), y: clamp((event.clientY - rect.top) / rect.height) };
  };
  stage.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    anchor = point(event);
    stage.setPointerCapture(event.pointerId);
  });
  stage.addEventListener('pointermove', (event) => {
    if (!anchor) return;
    const p = point(event);
    box = { x: Math.min(anchor.x, p.x), y: Math.min(anchor.y, p.y), width: Math.abs(p.x - anchor.x), height: Math.abs(p.y - anchor.y) };
    showBox();
  });
  stage.addEventListener('pointerup', () => {
    anchor = null;
    if (box && (box.width < 0.01 || box.height < 0.01)) box = null;
    showBox();
  });

  const checkRange = () => {
    for (const control of [from, to]) {
      if (!control.checkValidity()) { control.reportValidity(); return false; }
    }
    const span = Date.parse(toIso(to.value)) - Date.parse(toIso(from.value));
    if (!(span > 0) || span > MAX_RANGE_MS) { notify(t('subject_export.range_invalid'), 'error'); return false; }
    return true;
  };
  const showFrame = h('button', { type: 'button', class: 'secondary', id: 'subject-show-frame' }, t('subject_export.show_frame'));
  showFrame.addEventListener('click', async () => {
    if (!checkRange()) return;
    try {
      const at = toIso(from.value);
      const query = new URLSearchParams({ request: reference, camera: camera.value, at });
      const response = await fetchBytes(`/api/v1/subject-exports/frame?${query}`);
      stillTime = response.headers.get('X-Frame-Time') || at;
      still.src = objectUrl(await response.blob());
      stage.hidden = false;
      box = null;
      showBox();
    } catch (error) {
      notify(error.message, 'error');
    }
  });
  const redactButton = h('button', { type: 'submit', class: 'primary', id: 'subject-redact' }, t('subject_export.redact'));
  const preparing = h('p', { class: 'hint', 'aria-live': 'polite' });

  // --- 2. Review, frame by frame ---
  const video = h('video', { id: 'subject-video', muted: true, playsinline: true, preload: 'auto' });
  const counter = h('p', { id: 'subject-frame-counter', 'aria-live': 'polite' });
  const seenText = h('p', { id: 'subject-seen', class: 'hint' });
  const previous = h('button', { type: 'button', class: 'secondary', id: 'subject-previous' }, t('subject_export.previous'));
  const next = h('button', { type: 'button', class: 'secondary', id: 'subject-next' }, t('subject_export.next'));
  const confirm = h('button', { type: 'button', class: 'primary', id: 'subject-confirm', disabled: true }, t('subject_export.confirm'));
  const review = h('section', { class: 'card', id: 'subject-review', hidden: true, 'aria-labelledby': 'subject-review-heading' },
    h('h2', { id: 'subject-review-heading' }, t('subject_export.step_review')),
    h('p', {}, t('subject_export.review_intro')),
    video, counter, seenText,
    h('div', { class: 'actions' }, previous, next, confirm));
  let draft = null;
  let frame = 0;
  const shown = new Set();
  const updateReview = () => {
    counter.textContent = t('subject_export.frame_counter', { frame: frame + 1, frames: draft.frames });
    seenText.textContent = t('subject_export.seen', { seen: shown.size, frames: draft.frames });
    previous.disabled = frame === 0;
    next.disabled = frame >= draft.frames - 1;
    confirm.disabled = shown.size !== draft.frames || Boolean(draft.reviewed);
  };
  // Shows frame i: seeks into the middle of its display interval and counts it once painted.
  const seek = (i) => new Promise((resolve) => {
    frame = Math.max(0, Math.min(draft.frames - 1, i));
    const target = ((frame + 0.5) * draft.duration_us) / draft.frames / 1e6;
    const done = () => {
      shown.add(frame);
      updateReview();
      resolve();
    };
    if (Math.abs(video.currentTime - target) < 1e-6 && video.readyState >= 2) { done(); return; }
    video.addEventListener('seeked', done, { once: true });
    video.currentTime = target;
  });
  previous.addEventListener('click', () => seek(frame - 1));
  next.addEventListener('click', () => seek(frame + 1));
  video.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight') seek(frame + 1);
    if (event.key === 'ArrowLeft') seek(frame - 1);
  });
  confirm.addEventListener('click', async () => {
    try {
      draft = await api('POST', `/api/v1/subject-exports/drafts/${draft.id}/review`, { frames_shown: ranges(shown) });
      release.hidden = false;
      updateReview();
      notify(t('subject_export.reviewed'), 'ok');
      passphrase.focus();
    } catch (error) {
      notify(error.message, 'error');
    }
  });

  // --- 3. Release ---
  const passphrase = h('input', { type: 'password', name: 'passphrase', required: true, minlength: '12', autocomplete: 'new-password' });
  const again = h('input', { type: 'password', name: 'passphrase-again', required: true, autocomplete: 'new-password' });
  const medium = h('select', { name: 'medium', required: true },
    media.map((m) => h('option', { value: m.id }, `${m.label} (${t('export.free', { free: formatBytes(m.free_bytes) })})`)));
  const result = h('div', { 'aria-live': 'polite', id: 'subject-result' });
  const releaseButton = h('button', { type: 'submit', class: 'primary', id: 'subject-release' }, t('subject_export.release'));
  const release = h('form', {
    class: 'card', id: 'subject-release-form', hidden: true,
    onsubmit: async (event) => {
      event.preventDefault();
      for (const control of [passphrase, again, medium]) {
        if (!control.checkValidity()) { control.reportValidity(); return; }
      }
      if (passphrase.value !== again.value) { notify(t('export.passphrase_mismatch'), 'error'); again.focus(); return; }
      releaseButton.disabled = true;
      try {
        const done = await postWithFourEyes(`/api/v1/subject-exports/drafts/${draft.id}/release`,
          { passphrase: passphrase.value, media_id: medium.value });
        if (!done) { releaseButton.disabled = false; return; }  // second person's dialog cancelled
        passphrase.value = '';
        again.value = '';
        release.hidden = true;
        replace(result, h('section', { class: 'card' },
          h('h2', {}, t('subject_export.done_title')),
          h('p', { 'data-testid': 'subject-done', 'data-directory': done.directory, 'data-export-id': done.id },
            t('subject_export.done', { directory: done.directory, reference }))));
        notify(t('subject_export.done_notice'), 'ok');
      } catch (error) {
        notify(error.message, 'error');
        releaseButton.disabled = false;
      }
    },
  }, h('h2', {}, t('subject_export.step_release')),
  h('p', {}, t('export.passphrase_explain')),
  field(t('export.passphrase'), passphrase, t('export.passphrase_hint')),
  field(t('export.passphrase_again'), again),
  media.length ? field(t('export.medium'), medium) : h('p', { class: 'error' }, t('export.no_media')),
  h('div', { class: 'actions' }, releaseButton));

  const prepare = h('form', {
    class: 'card', id: 'subject-prepare', novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      if (!checkRange()) return;
      if (!box || !stillTime) { notify(t('subject_export.draw_first'), 'error'); return; }
      redactButton.disabled = true;
      preparing.textContent = t('subject_export.redacting');
      try {
        draft = await api('POST', '/api/v1/subject-exports/drafts', {
          request_reference: reference,
          camera: camera.value,
          from: toIso(from.value),
          to: toIso(to.value),
          selection: { at: stillTime, ...box },
          blur_outside_selection: blurOutside.checked,
        });
        preparing.textContent = t('subject_export.prepared', { frames: draft.frames });
        const response = await fetchBytes(`/api/v1/subject-exports/drafts/${draft.id}/video`);
        video.src = objectUrl(await response.blob());
        await new Promise((resolve, reject) => {
          video.addEventListener('loadeddata', resolve, { once: true });
          video.addEventListener('error', () => reject(new Error(t('subject_export.video_error'))), { once: true });
        });
        shown.clear();
        review.hidden = false;
        await seek(0);
        next.focus();
      } catch (error) {
        notify(error.message, 'error');
        preparing.textContent = '';
      } finally {
        redactButton.disabled = false;
      }
    },
  }, h('h2', {}, t('subject_export.step_select')),
  field(t('subject_export.camera'), camera),
  field(t('export.from'), from, t('export.utc_hint')),
  field(t('export.to'), to, t('subject_export.range_hint')),
  h('div', { class: 'check' }, blurOutside, h('label', { for: blurOutside.id }, t('subject_export.blur_outside'))),
  h('div', { class: 'actions' }, showFrame),
  stage,
  h('p', { class: 'hint' }, t('subject_export.draw_hint')),
  h('fieldset', { class: 'subject-box-typed' }, h('legend', {}, t('subject_export.box_typed')),
    field(t('subject_export.box_x'), boxInputs[0]), field(t('subject_export.box_y'), boxInputs[1]),
    field(t('subject_export.box_width'), boxInputs[2]), field(t('subject_export.box_height'), boxInputs[3])),
  h('div', { class: 'actions' }, redactButton), preparing);

  replace(main, h('h1', {}, t('subject_export.title')),
    h('p', { id: 'subject-request' }, t('subject_export.intro', { reference })),
    prepare, review, release, result);
  return () => { for (const url of urls) URL.revokeObjectURL(url); };
}
