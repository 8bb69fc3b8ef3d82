// One camera: the timeline of a day (segments, gaps, holds), playback from a chosen moment with
// seek and speed after a purpose is given, live view, and a range of the day selected (drag,
// Shift+click, the keys [ and ], or typed times) to place or request a hold or to export.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatClock, formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { holdRangeDialog } from './hold_dialog.js';
import { can } from './main.js';
import { LivePlayer, RecordedPlayer, UnsupportedCodec } from './player.js';
import { postWithFourEyes } from './four_eyes.js';
import { askPurpose } from './purpose.js';

const DAY_US = 86400e6;
const pad = (n) => String(n).padStart(2, '0');

function localDayStart(dateText) {
  const [year, month, day] = dateText.split('-').map(Number);
  return new Date(year, month - 1, day).getTime() * 1000;
}

function dateInputValue(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function isoOf(us) {
  return new Date(us / 1000).toISOString();
}

export async function render(main, args) {
  const cameraId = Number(args[0]);
  if (!Number.isInteger(cameraId) || cameraId <= 0) throw new Error(t('camera.unknown'));
  const camera = await api('GET', `/api/v1/cameras/${cameraId}`);
  document.title = `${camera.name} – Yardwatch`;

  let player = null;
  let day = dateInputValue(new Date());
  let selectedUs = null;
  let timeline = null;
  const stopPlayer = () => {
    if (player) player.close();
    player = null;
  };

  const video = h('video', { class: 'video', muted: true, playsinline: true, 'aria-label': t('player.video_label', { name: camera.name }) });
  video.muted = true;
  const clock = h('output', { class: 'clock', 'aria-live': 'off' }, '–');
  const playPause = h('button', { type: 'button', disabled: true }, t('player.pause'));
  const speed = h('select', { disabled: true },
    ['0.5', '1', '2', '4', '8'].map((value) => h('option', { value, selected: value === '1' }, `${value}×`)));
  const seek = h('input', { type: 'range', min: '0', max: '0', step: '1', disabled: true });
  const closeButton = h('button', { type: 'button', class: 'secondary', disabled: true }, t('player.close'));
  const playerState = h('p', { class: 'hint', id: 'player-state' }, t('player.idle'));
  const playerSection = h(
    'section',
    { class: 'card player', 'aria-labelledby': 'player-heading' },
    h('h2', { id: 'player-heading' }, t('player.title')),
    video,
    h('div', { class: 'controls' },
      playPause,
      field(t('player.speed'), speed),
      field(t('player.position'), seek),
      clock,
      closeButton),
    playerState,
  );

  const setControls = (enabled, live = false) => {
    playPause.disabled = !enabled;
    speed.disabled = !enabled || live;
    seek.disabled = !enabled || live;
    closeButton.disabled = !enabled;
  };

  video.addEventListener('timeupdate', () => {
    if (player instanceof RecordedPlayer) {
      const utc = player.toUtc(video.currentTime);
      clock.value = formatClock(new Date(utc / 1000));
      if (document.activeElement !== seek) seek.value = String(Math.round(video.currentTime));
    } else if (player instanceof LivePlayer) {
      clock.value = t('player.live');
    }
  });
  playPause.addEventListener('click', () => {
    if (video.paused) {
      video.play().catch(() => {});
    } else {
      video.pause();
    }
  });
  video.addEventListener('play', () => { playPause.textContent = t('player.pause'); });
  video.addEventListener('pause', () => { playPause.textContent = t('player.play'); });
  speed.addEventListener('change', () => { video.playbackRate = Number(speed.value); });
  seek.addEventListener('change', async () => {
    if (!(player instanceof RecordedPlayer)) return;
    const ok = await player.seek(player.toUtc(Number(seek.value)));
    if (!ok) notify(t('player.no_footage_there'), 'error');
  });
  closeButton.addEventListener('click', async () => {
    const viewing = player && player.viewing;
    stopPlayer();
    setControls(false);
    playerState.textContent = t('player.idle');
    if (viewing) await api('DELETE', `/api/v1/viewings/${viewing.id}`).catch(() => {});
  });

  // Marks the moment playback was asked for and when the first frame showed (the benchmark).
  const measureFirstFrame = (requestedAt) => {
    video.dataset.firstFrameMs = '';
    const done = () => {
      video.dataset.firstFrameMs = String(Math.round(performance.now() - requestedAt));
    };
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback(done);
    } else {
      video.addEventListener('timeupdate', done, { once: true });
    }
  };

  async function playRecorded(atUs) {
    const purpose = await askPurpose(t('purpose.title_recorded', { name: camera.name }));
    if (!purpose) return;
    const requestedAt = performance.now();
    stopPlayer();
    try {
      const from = localDayStart(day);
      // With four-eyes on, a second person approves in a dialog (null: cancelled).
      const viewing = await postWithFourEyes('/api/v1/viewings', {
        camera_id: cameraId,
        kind: 'recorded',
        from: isoOf(from),
        to: isoOf(from + DAY_US),
        purpose,
      });
      if (!viewing) return;
      if (!viewing.segments.length) {
        notify(t('player.no_footage_day'), 'error');
        return;
      }
      player = new RecordedPlayer(video, viewing);
      video.playbackRate = Number(speed.value);
      measureFirstFrame(requestedAt);
      seek.max = String(Math.round(DAY_US / 1e6));
      await player.start(atUs);
      setControls(true);
      playerState.textContent = t('player.playing_recorded', { purpose });
    } catch (error) {
      stopPlayer();
      notify(error instanceof UnsupportedCodec ? t('player.unsupported', { codec: error.message }) : error.message, 'error');
    }
  }

  async function playLive() {
    const purpose = await askPurpose(t('purpose.title_live', { name: camera.name }),
      can('view_recorded') ? '' : t('purpose.setup_preview'));
    if (!purpose) return;
    const requestedAt = performance.now();
    stopPlayer();
    try {
      const viewing = await api('POST', '/api/v1/viewings', { camera_id: cameraId, kind: 'live', purpose });
      player = new LivePlayer(video, viewing);
      player.onerror = (error) => notify(error.message, 'error');
      measureFirstFrame(requestedAt);
      await player.start();
      setControls(true, true);
      playerState.textContent = t('player.playing_live', { purpose });
    } catch (error) {
      stopPlayer();
      notify(error instanceof UnsupportedCodec ? t('player.unsupported', { codec: error.message }) : error.message, 'error');
    }
  }

  // --- timeline ---
  const dayInput = h('input', { type: 'date', value: day, max: dateInputValue(new Date()) });
  const bar = h('div', {
    class: 'timeline-bar',
    role: 'slider',
    tabindex: '0',
    'aria-valuemin': '0',
    'aria-valuemax': '1439',
    'aria-valuenow': '0',
    'aria-label': t('timeline.bar_label'),
  });
  const cursor = h('div', { class: 'timeline-cursor', 'aria-hidden': 'true' });
  const timeInput = h('input', { type: 'time', step: '1', value: '00:00:00' });
  const playButton = h('button', { type: 'button', class: 'primary', id: 'play-recorded' }, t('timeline.play'));
  const summary = h('p', { class: 'hint', id: 'timeline-summary' });
  const holdArea = h('div', { class: 'holds' });

  // --- the selected range (for a hold or an export) ---
  let range = { from: null, to: null };
  const selectionBox = h('div', { class: 'timeline-selection', 'aria-hidden': 'true', hidden: true });
  const rangeFrom = h('input', { type: 'time', step: '1', name: 'selection-from' });
  const rangeTo = h('input', { type: 'time', step: '1', name: 'selection-to' });
  const rangeText = h('p', { class: 'hint', id: 'selection-summary', 'aria-live': 'polite' }, t('selection.none'));
  const startHere = h('button', { type: 'button', class: 'secondary', id: 'selection-start-here' }, t('selection.start_here'));
  const endHere = h('button', { type: 'button', class: 'secondary', id: 'selection-end-here' }, t('selection.end_here'));
  const clearRange = h('button', { type: 'button', class: 'secondary', id: 'selection-clear' }, t('selection.clear'));
  const timeOfDay = (us) => {
    const when = new Date(us / 1000);
    return `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
  };
  const fromTimeInput = (value) => {
    if (!value) return null;
    const [hours, minutes, seconds] = value.split(':').map(Number);
    const moment = new Date(localDayStart(day) / 1000);
    moment.setHours(hours || 0, minutes || 0, seconds || 0, 0);
    return moment.getTime() * 1000;
  };
  const showRange = () => {
    const dayStart = localDayStart(day);
    const valid = range.from !== null && range.to !== null && range.to > range.from;
    selectionBox.hidden = !valid;
    if (valid) {
      selectionBox.style.left = `${((range.from - dayStart) / DAY_US) * 100}%`;
      selectionBox.style.width = `${Math.max(((range.to - range.from) / DAY_US) * 100, 0.15)}%`;
      rangeText.textContent = t('selection.summary', { from: formatClock(new Date(range.from / 1000)), to: formatClock(new Date(range.to / 1000)) });
    } else {
      rangeText.textContent = range.from === null && range.to === null ? t('selection.none') : t('selection.incomplete');
    }
    rangeFrom.value = range.from === null ? '' : timeOfDay(range.from);
    rangeTo.value = range.to === null ? '' : timeOfDay(range.to);
  };
  const setRange = (fromUs, toUs) => {
    const dayStart = localDayStart(day);
    const clamp = (us) => (us === null ? null : Math.round(Math.min(Math.max(us, dayStart), dayStart + DAY_US - 1e6) / 1e6) * 1e6);
    range = { from: clamp(fromUs), to: clamp(toUs) };
    if (range.from !== null && range.to !== null && range.to < range.from) range = { from: range.to, to: range.from };
    showRange();
  };
  const rangeReady = () => {
    if (range.from === null || range.to === null || range.to <= range.from) {
      notify(t('selection.invalid'), 'error');
      return false;
    }
    return true;
  };
  startHere.addEventListener('click', () => setRange(selectedUs, range.to));
  endHere.addEventListener('click', () => setRange(range.from, selectedUs));
  clearRange.addEventListener('click', () => setRange(null, null));
  rangeFrom.addEventListener('change', () => setRange(fromTimeInput(rangeFrom.value), range.to));
  rangeTo.addEventListener('change', () => setRange(range.from, fromTimeInput(rangeTo.value)));

  const rangeActions = [];
  if (can('place_hold') || can('request_hold')) {
    const place = can('place_hold');
    rangeActions.push(h('button', {
      type: 'button',
      class: 'primary',
      id: place ? 'place-hold' : 'request-hold',
      onclick: async () => {
        if (!rangeReady()) return;
        const hold = await holdRangeDialog({ camera, fromUs: range.from, toUs: range.to, place });
        if (!hold) return;
        notify(place ? t('holds.placed', { id: hold.id }) : t('holds.requested', { id: hold.id }), 'ok');
        await loadTimeline(selectedUs);
      },
    }, place ? t('holds.place_button') : t('holds.request_button')));
  }
  if (can('police_export')) {
    rangeActions.push(h('button', {
      type: 'button',
      class: 'secondary',
      id: 'export-range',
      onclick: () => {
        if (!rangeReady()) return;
        const part = (us) => encodeURIComponent(new Date(us / 1000).toISOString());
        window.location.hash = `#/export/${encodeURIComponent(camera.name)}/${part(range.from)}/${part(range.to)}`;
      },
    }, t('selection.export')));
  }
  const selectionSection = h('fieldset', { class: 'selection' },
    h('legend', {}, t('selection.title')),
    h('p', { class: 'hint' }, t('selection.explain')),
    h('div', { class: 'row' },
      field(t('selection.from'), rangeFrom), field(t('selection.to'), rangeTo),
      startHere, endHere, clearRange),
    rangeText,
    rangeActions.length ? h('div', { class: 'actions' }, rangeActions) : null);

  const select = (us) => {
    const dayStart = localDayStart(day);
    selectedUs = Math.min(Math.max(us, dayStart), dayStart + DAY_US - 1e6);
    const minutes = Math.floor((selectedUs - dayStart) / 60e6);
    bar.setAttribute('aria-valuenow', String(minutes));
    const when = new Date(selectedUs / 1000);
    bar.setAttribute('aria-valuetext', formatClock(when));
    timeInput.value = `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
    cursor.style.left = `${((selectedUs - dayStart) / DAY_US) * 100}%`;
  };

  async function loadTimeline(keepUs = null) {
    const from = localDayStart(day);
    timeline = await api('GET', `/api/v1/cameras/${cameraId}/timeline?from=${encodeURIComponent(isoOf(from))}&to=${encodeURIComponent(isoOf(from + DAY_US))}`);
    const place = (element, startUs, endUs) => {
      element.style.left = `${((startUs - from) / DAY_US) * 100}%`;
      element.style.width = `${Math.max(((endUs - startUs) / DAY_US) * 100, 0.15)}%`;
      return element;
    };
    replace(
      bar,
      timeline.gaps.map((gap) => place(h('div', { class: 'timeline-gap', title: `${t('timeline.gap')} ${formatTime(gap.from)} – ${formatTime(gap.to)}` }), gap.from_us, gap.to_us)),
      timeline.segments.map((segment) => place(h('div', { class: 'timeline-segment', 'data-segment': segment.id }), segment.start_us, segment.end_us)),
      timeline.holds.map((hold) => place(h('div', { class: `timeline-hold timeline-${hold.kind.replace('_', '-')}`, title: `${hold.reference}: ${hold.reason}`, 'data-kind': hold.kind, 'data-hold-id': String(hold.id) }), hold.from_us, hold.to_us)),
      selectionBox,
      cursor,
    );
    showRange();
    summary.textContent = t('timeline.summary', { segments: timeline.segments.length, gaps: timeline.gaps.length });
    const latest = timeline.segments.filter((s) => !s.recording).pop();
    if (keepUs !== null) select(keepUs);
    else select(latest ? Math.max(latest.start_us, latest.end_us - 30e6) : from);
  }

  const atPointer = (event) => {
    const rect = bar.getBoundingClientRect();
    return localDayStart(day) + ((event.clientX - rect.left) / rect.width) * DAY_US;
  };
  // Dragging across the bar selects a range; a click moves the cursor; Shift+click selects from
  // the cursor to the click.
  let drag = null;
  bar.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    delete bar.dataset.dragged;
    drag = { x: event.clientX, startUs: atPointer(event), moved: false };
  });
  bar.addEventListener('pointermove', (event) => {
    if (!drag || (event.buttons & 1) === 0) return;
    if (Math.abs(event.clientX - drag.x) < 4 && !drag.moved) return;
    if (!drag.moved) bar.setPointerCapture(event.pointerId);
    drag.moved = true;
    setRange(drag.startUs, atPointer(event));
  });
  bar.addEventListener('pointerup', () => {
    if (drag && drag.moved) bar.dataset.dragged = 'true';
    drag = null;
  });
  bar.addEventListener('click', (event) => {
    if (bar.dataset.dragged) {
      delete bar.dataset.dragged;
      return;
    }
    if (event.shiftKey && selectedUs !== null) {
      setRange(selectedUs, atPointer(event));
      return;
    }
    select(atPointer(event));
  });
  bar.addEventListener('keydown', (event) => {
    const step = event.shiftKey ? 10 * 60e6 : 60e6;
    if (event.key === 'ArrowRight' || event.key === 'ArrowUp') select(selectedUs + step);
    else if (event.key === 'ArrowLeft' || event.key === 'ArrowDown') select(selectedUs - step);
    else if (event.key === 'Home') select(localDayStart(day));
    else if (event.key === 'End') select(localDayStart(day) + DAY_US);
    else if (event.key === 'Enter') playRecorded(selectedUs);
    else if (event.key === '[') setRange(selectedUs, range.to);
    else if (event.key === ']') setRange(range.from, selectedUs);
    else return;
    event.preventDefault();
  });
  timeInput.addEventListener('change', () => {
    const [hours, minutes, seconds] = timeInput.value.split(':').map(Number);
    const dayStart = new Date(localDayStart(day) / 1000);
    dayStart.setHours(hours || 0, minutes || 0, seconds || 0, 0);
    select(dayStart.getTime() * 1000);
  });
  dayInput.addEventListener('change', async () => {
    if (!dayInput.value) return;
    day = dayInput.value;
    range = { from: null, to: null };
    await loadTimeline();
  });
  playButton.addEventListener('click', () => playRecorded(selectedUs));

  const sections = [h('h1', {}, camera.name), h('p', { class: 'hint' }, t(`zone.${camera.zone}`), camera.location ? ` · ${camera.location}` : '')];
  if (can('view_recorded')) {
    sections.push(
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'timeline-heading' },
        h('h2', { id: 'timeline-heading' }, t('timeline.title')),
        h('div', { class: 'row' }, field(t('timeline.day'), dayInput), field(t('timeline.time'), timeInput), playButton),
        bar,
        h('div', { class: 'timeline-scale', 'aria-hidden': 'true' }, ['00:00', '06:00', '12:00', '18:00', '24:00'].map((label) => h('span', {}, label))),
        h('ul', { class: 'legend' },
          h('li', {}, h('span', { class: 'swatch swatch-segment', 'aria-hidden': 'true' }), t('timeline.legend_footage')),
          h('li', {}, h('span', { class: 'swatch swatch-gap', 'aria-hidden': 'true' }), t('timeline.legend_gap')),
          h('li', {}, h('span', { class: 'swatch swatch-hold', 'aria-hidden': 'true' }), t('timeline.legend_hold'))),
        summary,
        holdArea,
        selectionSection,
      ),
    );
  }
  if (can('live_view')) {
    sections.push(h('p', {}, h('button', { type: 'button', class: 'secondary', id: 'play-live', onclick: playLive }, t('player.live_button'))));
  }
  sections.push(playerSection);
  replace(main, ...sections);
  if (can('view_recorded')) await loadTimeline();
  return () => stopPlayer();
}
