// One camera: the timeline of a day (segments, gaps, holds), playback from a chosen moment with
// seek and speed after a purpose is given, and live view.
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { formatClock, formatTime, t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';
import { can } from './main.js';
import { LivePlayer, RecordedPlayer, UnsupportedCodec } from './player.js';
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
      const viewing = await api('POST', '/api/v1/viewings', {
        camera_id: cameraId,
        kind: 'recorded',
        from: isoOf(from),
        to: isoOf(from + DAY_US),
        purpose,
      });
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

  async function loadTimeline() {
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
      timeline.holds.map((hold) => place(h('div', { class: 'timeline-hold', title: hold.reason }), hold.from_us, hold.to_us)),
      cursor,
    );
    summary.textContent = t('timeline.summary', { segments: timeline.segments.length, gaps: timeline.gaps.length });
    const latest = timeline.segments.filter((s) => !s.recording).pop();
    select(latest ? Math.max(latest.start_us, latest.end_us - 30e6) : from);
  }

  bar.addEventListener('click', (event) => {
    const rect = bar.getBoundingClientRect();
    const fraction = (event.clientX - rect.left) / rect.width;
    select(localDayStart(day) + fraction * DAY_US);
  });
  bar.addEventListener('keydown', (event) => {
    const step = event.shiftKey ? 10 * 60e6 : 60e6;
    if (event.key === 'ArrowRight' || event.key === 'ArrowUp') select(selectedUs + step);
    else if (event.key === 'ArrowLeft' || event.key === 'ArrowDown') select(selectedUs - step);
    else if (event.key === 'Home') select(localDayStart(day));
    else if (event.key === 'End') select(localDayStart(day) + DAY_US);
    else if (event.key === 'Enter') playRecorded(selectedUs);
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
