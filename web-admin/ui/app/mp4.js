// Just enough of ISO BMFF to feed Media Source Extensions: the codec string of an init section
// and the media time of a fragment (the server sends the recorder's fMP4 unchanged).

const containers = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'moof', 'traf', 'mvex']);

function* boxes(view, start, end) {
  let offset = start;
  while (offset + 8 <= end) {
    let size = view.getUint32(offset);
    const type = String.fromCharCode(
      view.getUint8(offset + 4),
      view.getUint8(offset + 5),
      view.getUint8(offset + 6),
      view.getUint8(offset + 7),
    );
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < header || offset + size > end) return;
    yield { type, start: offset, header, end: offset + size };
    offset += size;
  }
}

function find(view, start, end, path) {
  for (const box of boxes(view, start, end)) {
    if (box.type !== path[0]) continue;
    if (path.length === 1) return box;
    if (containers.has(box.type)) return find(view, box.start + box.header, box.end, path.slice(1));
  }
  return null;
}

const hex = (value) => value.toString(16).padStart(2, '0');

export function describeInit(buffer) {
  const view = new DataView(buffer);
  const mdhd = find(view, 0, view.byteLength, ['moov', 'trak', 'mdia', 'mdhd']);
  let timescale = 90000;
  if (mdhd) {
    const version = view.getUint8(mdhd.start + 8);
    timescale = view.getUint32(mdhd.start + 8 + (version === 1 ? 20 : 12));
  }
  const stsd = find(view, 0, view.byteLength, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd']);
  let codec = 'avc1.640028';
  if (stsd) {
    const entry = stsd.start + stsd.header + 8; // version/flags + entry count
    const format = String.fromCharCode(...new Uint8Array(buffer, entry + 4, 4));
    // Visual sample entry: 8 header + 78 bytes, then its boxes (avcC / hvcC).
    for (const box of boxes(view, entry + 8 + 78, view.getUint32(entry) + entry)) {
      if (box.type === 'avcC') {
        const p = box.start + box.header;
        codec = `avc1.${hex(view.getUint8(p + 1))}${hex(view.getUint8(p + 2))}${hex(view.getUint8(p + 3))}`;
      } else if (box.type === 'hvcC') {
        const p = box.start + box.header;
        const profile = view.getUint8(p + 1);
        const space = ['', 'A', 'B', 'C'][profile >> 6];
        const tier = (profile >> 5) & 1 ? 'H' : 'L';
        const idc = profile & 0x1f;
        let compat = view.getUint32(p + 2);
        let reversed = 0;
        for (let i = 0; i < 32; i += 1) {
          reversed = (reversed << 1) | (compat & 1);
          compat >>>= 1;
        }
        const level = view.getUint8(p + 12);
        codec = `${format}.${space}${idc}.${(reversed >>> 0).toString(16)}.${tier}${level}.B0`;
      }
    }
  }
  const moov = find(view, 0, view.byteLength, ['moov']);
  return { codec, timescale, initEnd: moov ? moov.end : 0 };
}

// baseMediaDecodeTime of the first fragment at or after `start`, in track timescale units.
export function firstDecodeTime(buffer, start = 0) {
  const view = new DataView(buffer);
  for (const box of boxes(view, start, view.byteLength)) {
    if (box.type !== 'moof') continue;
    const tfdt = find(view, box.start + box.header, box.end, ['traf', 'tfdt']);
    if (!tfdt) return 0;
    const version = view.getUint8(tfdt.start + 8);
    return version === 1 ? Number(view.getBigUint64(tfdt.start + 12)) : view.getUint32(tfdt.start + 12);
  }
  return 0;
}
