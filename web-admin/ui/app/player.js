// Playback through Media Source Extensions. Recorded: the viewing's segments are fetched one at
// a time (decrypted on the appliance, in memory only) and placed on a time line that starts at
// the viewing's start; the next segment is fetched before the current one runs out. Live:
// the init section, then each new fragment as the recorder produces it.
import { fetchBytes } from '/ui/public/js/api.js';
import { describeInit, firstDecodeTime } from './mp4.js';

function waitForEvent(target, name) {
  return new Promise((resolve) => target.addEventListener(name, resolve, { once: true }));
}

async function openSource(video) {
  const source = new MediaSource();
  video.src = URL.createObjectURL(source);
  await waitForEvent(source, 'sourceopen');
  return source;
}

async function append(buffer, bytes) {
  if (buffer.updating) await waitForEvent(buffer, 'updateend');
  buffer.appendBuffer(bytes);
  await waitForEvent(buffer, 'updateend');
}

export class UnsupportedCodec extends Error {}

export class RecordedPlayer {
  constructor(video, viewing) {
    this.video = video;
    this.viewing = viewing;
    this.base = viewing.from_us;
    this.loaded = new Set();
    this.loading = null;
    this.appending = Promise.resolve();
    this.closed = false;
    this.onTimeUpdate = () => this.prefetch();
    // A gap in the footage (the camera was off) or the seam between two segments: jump to the
    // next footage that is already buffered rather than stall.
    this.onWaiting = () => {
      // Footage exists here but is not buffered yet: fetch it rather than skip it.
      const utc = this.toUtc(this.video.currentTime);
      const here = this.viewing.segments.find((s) => s.start_us <= utc + 100e3 && utc < s.end_us - 100e3);
      if (here) {
        this.load(here).catch((error) => console.warn('segment', here.id, error));
        return;
      }
      const ranges = this.video.buffered;
      for (let i = 0; i < ranges.length; i += 1) {
        if (ranges.start(i) > this.video.currentTime) {
          this.video.currentTime = ranges.start(i);
          return;
        }
      }
      this.prefetch(true);
    };
  }

  // Media time (seconds) of a wall-clock time (UTC µs) and back.
  toMedia(utcUs) {
    return (utcUs - this.base) / 1e6;
  }

  toUtc(seconds) {
    return this.base + Math.round(seconds * 1e6);
  }

  segmentAt(utcUs) {
    const segments = this.viewing.segments;
    return segments.find((s) => s.end_us > utcUs) || null;
  }

  async start(atUtcUs) {
    const first = this.segmentAt(atUtcUs);
    if (!first) throw new Error('no footage');
    this.source = await openSource(this.video);
    await this.load(first);
    const start = Math.max(this.toMedia(Math.max(atUtcUs, first.start_us)), this.bufferedStart());
    this.video.currentTime = start;
    this.video.addEventListener('timeupdate', this.onTimeUpdate);
    this.video.addEventListener('waiting', this.onWaiting);
    await this.video.play();
  }

  bufferedStart() {
    const ranges = this.video.buffered;
    return ranges.length ? ranges.start(0) : 0;
  }

  async load(segment) {
    if (this.loaded.has(segment.id)) return;
    this.loaded.add(segment.id);
    try {
      const response = await fetchBytes(segment.url);
      const bytes = await response.arrayBuffer();
      // One append at a time: timestampOffset and appendBuffer of two segments (a seek while
      // the next one is being fetched) must not interleave.
      const appended = this.appending.then(() => this.appendSegment(segment, bytes));
      this.appending = appended.catch(() => {});
      await appended;
    } catch (error) {
      this.loaded.delete(segment.id);  // may be tried again
      throw error;
    }
  }

  async appendSegment(segment, bytes) {
    if (this.closed) return;
    const init = describeInit(bytes);
    if (!this.buffer) {
      const type = `video/mp4; codecs="${init.codec}"`;
      if (!window.MediaSource.isTypeSupported(type)) throw new UnsupportedCodec(init.codec);
      this.buffer = this.source.addSourceBuffer(type);
      this.buffer.mode = 'segments';
    }
    if (this.buffer.updating) await waitForEvent(this.buffer, 'updateend');
    const decodeTime = firstDecodeTime(bytes, init.initEnd) / init.timescale;
    this.buffer.timestampOffset = this.toMedia(segment.start_us) - decodeTime;
    await append(this.buffer, bytes);
  }

  async prefetch(stalled = false) {
    if (this.closed || this.loading || !this.buffer) return;
    const now = this.toUtc(this.video.currentTime);
    const next = this.viewing.segments.find((s) => s.start_us >= now - 1e6 && !this.loaded.has(s.id));
    if (!next || (!stalled && this.toMedia(next.start_us) - this.video.currentTime > 8)) return;
    this.loading = this.load(next)
      .catch((error) => console.warn('segment', next.id, error))
      .finally(() => {
        this.loading = null;
      });
  }

  async seek(utcUs) {
    const segment = this.segmentAt(utcUs);
    if (!segment) return false;
    await this.load(segment);
    this.video.currentTime = this.toMedia(Math.max(utcUs, segment.start_us));
    return true;
  }

  close() {
    this.closed = true;
    this.video.removeEventListener('timeupdate', this.onTimeUpdate);
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.load();
  }
}

export class LivePlayer {
  constructor(video, viewing) {
    this.video = video;
    this.viewing = viewing;
    this.closed = false;
    this.after = 0;
  }

  async start() {
    const initResponse = await fetchBytes(this.viewing.stream.init);
    const initBytes = await initResponse.arrayBuffer();
    const init = describeInit(initBytes);
    const type = `video/mp4; codecs="${init.codec}"`;
    if (!window.MediaSource.isTypeSupported(type)) throw new UnsupportedCodec(init.codec);
    this.source = await openSource(this.video);
    this.buffer = this.source.addSourceBuffer(type);
    // 'sequence': each fragment plays after the one before, whatever its decode time. The
    // recorder's fragments count their decode time from the start of their segment, so in
    // 'segments' mode every new segment would overwrite the first seconds of the buffer and the
    // picture would freeze at the first segment boundary.
    this.buffer.mode = 'sequence';
    await append(this.buffer, initBytes);
    this.track = initResponse.headers.get('X-Yardwatch-Track');
    this.loop();
  }

  async loop() {
    let first = true;
    while (!this.closed) {
      let response;
      try {
        response = await fetchBytes(`${this.viewing.stream.next}?after=${this.after}`);
      } catch (error) {
        if (this.closed) return;
        if (this.onerror) this.onerror(error);
        return;
      }
      if (this.closed) return;
      if (response.status === 204) continue;
      const sequence = Number(response.headers.get('X-Yardwatch-Sequence'));
      const track = response.headers.get('X-Yardwatch-Track');
      const bytes = await response.arrayBuffer();
      if (track !== this.track) {
        // The camera's stream changed: start over with the new init section.
        this.close();
        this.closed = false;
        await this.start();
        return;
      }
      const skipped = this.after !== 0 && sequence !== this.after + 1;
      this.after = sequence;
      await append(this.buffer, bytes);
      const ranges = this.video.buffered;
      if ((first || skipped) && ranges.length) {
        this.video.currentTime = ranges.start(ranges.length - 1);
        first = false;
        this.video.play().catch(() => {});
      }
      // Keep memory bounded: drop what lies more than 30 s behind.
      if (ranges.length && this.video.currentTime - ranges.start(0) > 30 && !this.buffer.updating) {
        this.buffer.remove(0, this.video.currentTime - 10);
        await waitForEvent(this.buffer, 'updateend');
      }
    }
  }

  close() {
    this.closed = true;
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.load();
  }
}
