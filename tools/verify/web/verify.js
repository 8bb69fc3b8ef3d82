// verify.html's verifier: the browser twin of `yardwatch-verify BUNDLE_DIR`. It implements the
// same checks from the same specification (recorder/design/bundle.md) with libsodium.js, which
// build.mjs inlines into the page, so it runs offline from file://. The reference is the C++
// verifier; tests/browser/verify runs both on the same bundles and requires the same verdicts.
'use strict';

(function () {
  const FORMAT = 'yardwatch-police-bundle';
  // A subject access export (R7): same layout and checks, its own format name and kind.
  const SUBJECT_FORMAT = 'yardwatch-subject-bundle';
  const SUBJECT_KIND = 'subject_access';
  const FORMAT_VERSION = 1;
  const MANIFEST = 'manifest.json';
  const SIGNATURE = 'manifest.sig';
  const SUFFIX = '.mp4.enc';
  const CIPHER = 'xchacha20poly1305-secretstream';
  const KDF = 'argon2id13';
  const MAGIC = [0x89, 0x59, 0x57, 0x45, 0x0d, 0x0a, 0x1a, 0x0a];
  const FILE_VERSION = 1;
  const AD_BYTES = 36;
  const HEADER_BYTES = 60;
  const OVERHEAD = 17;
  const MIN_CHUNK = 4096;
  const MAX_CHUNK = 16 << 20;
  const MIN_OPS = 1, MAX_OPS = 16;
  const MIN_MEM = 8 << 10, MAX_MEM = 1 << 30;
  const MAX_MANIFEST = 8 << 20;
  const MAX_FILES = 4096;
  const MAX_TEXT = 2000;
  const MAX_INT = Number.MAX_SAFE_INTEGER;
  const KEY_CHECK_CONTEXT = 'yardwatch-bundle-key-check-v1';
  const READ_PIECE = 4 << 20;

  let sodium = null;
  const $ = (id) => document.getElementById(id);

  class Failure extends Error {
    constructor(file, message) {
      super(message);
      this.file = file;
    }
  }

  // ---- Formatting, as the appliance writes it ----

  function iso(us) {
    const seconds = Math.floor(us / 1e6);
    const fraction = us - seconds * 1e6;
    let text = new Date(seconds * 1000).toISOString().slice(0, 19);
    if (fraction !== 0) text += '.' + String(fraction).padStart(6, '0');
    return text + 'Z';
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function fromHex(text) {
    if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) return null;
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function fingerprint(publicKey) {
    const digest = sodium.crypto_hash_sha256(publicKey);
    const h = hex(digest.subarray(0, 16));
    return h.match(/.{4}/g).join(' ');
  }

  function normalizeFingerprint(text) {
    const stripped = text.replace(/[\s:-]/g, '').toLowerCase();
    return /^[0-9a-f]{32}$/.test(stripped) ? stripped : null;
  }

  function parseExportId(text) {
    if (typeof text !== 'string' ||
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)) return null;
    return fromHex(text.replace(/-/g, ''));
  }

  function validName(name) {
    return typeof name === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(name) && name[0] !== '.';
  }

  function encryptedSize(plain, chunk) {
    const messages = plain === 0 ? 1 : Math.ceil(plain / chunk);
    return HEADER_BYTES + plain + messages * OVERHEAD;
  }

  function duration(us) {
    const s = Math.floor(us / 1e6);
    const pad = (n) => String(n).padStart(2, '0');
    return Math.floor(s / 3600) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60) + '.' +
        String(Math.floor(us / 1000) % 1000).padStart(3, '0');
  }

  // ---- The manifest, checked as strictly as the C++ parser (bundle_format.cpp) ----

  function fields(object, path) {
    const at = (key) => (path ? path + '.' + key : key);
    const bad = (where, what) => new Failure(MANIFEST, 'manifest.json: ' + where + ' ' + what);
    if (object === null || typeof object !== 'object' || Array.isArray(object)) {
      throw bad(path, 'is not an object');
    }
    const member = (key) => {
      if (!Object.prototype.hasOwnProperty.call(object, key)) throw bad(at(key), 'is missing');
      return object[key];
    };
    const f = {
      at,
      bad,
      text(key, allowEmpty = true) {
        const v = member(key);
        if (typeof v !== 'string') throw bad(at(key), 'is not a string');
        if (new TextEncoder().encode(v).length > MAX_TEXT) throw bad(at(key), 'is too long');
        if (!allowEmpty && v === '') throw bad(at(key), 'is empty');
        return v;
      },
      integer(key, min, max) {
        const v = member(key);
        if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(at(key), 'is not an integer');
        if (v < min || v > max) throw bad(at(key), 'is out of range');
        return v;
      },
      hex(key, bytes) {
        const v = f.text(key);
        const decoded = fromHex(v);
        if (!decoded || decoded.length !== bytes) {
          throw bad(at(key), 'is not ' + bytes * 2 + ' lower-case hex digits');
        }
        return v;
      },
      time(key) {
        const us = f.integer(key + '_utc_us', 0, MAX_INT);
        const text = f.text(key);
        if (text !== iso(us)) throw bad(at(key), 'does not state the same time as ' + at(key + '_utc_us'));
        return us;
      },
      object(key) {
        const v = member(key);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(at(key), 'is not an object');
        return fields(v, at(key));
      },
      array(key, max) {
        const v = member(key);
        if (!Array.isArray(v)) throw bad(at(key), 'is not an array');
        if (v.length > max) throw bad(at(key), 'has too many items');
        return v;
      },
      timeSource(key) {
        const v = f.text(key);
        if (!['synchronised', 'unsynchronised', 'unknown'].includes(v)) {
          throw bad(at(key), 'is not synchronised, unsynchronised or unknown');
        }
        return v;
      },
    };
    return f;
  }

  function parseManifest(text) {
    let root;
    try {
      root = JSON.parse(text);
    } catch (e) {
      throw new Failure(MANIFEST, 'manifest.json is not a JSON object');
    }
    if (root === null || typeof root !== 'object' || Array.isArray(root)) {
      throw new Failure(MANIFEST, 'manifest.json is not a JSON object');
    }
    const top = fields(root, '');
    const m = {};
    const format = top.text('format');
    if (format === SUBJECT_FORMAT) {
      if (top.text('kind') !== SUBJECT_KIND) throw top.bad('kind', 'is not ' + SUBJECT_KIND);
      m.kind = SUBJECT_KIND;
      m.request_reference = top.text('request_reference', false);
    } else if (format === FORMAT) {
      if ('kind' in root || 'request_reference' in root) {
        throw top.bad('kind', 'is not part of a police bundle');
      }
      m.kind = 'police';
    } else {
      throw top.bad('format', 'is not ' + FORMAT + ' or ' + SUBJECT_FORMAT);
    }
    m.format_version = top.integer('format_version', 0, MAX_INT);
    if (m.format_version !== FORMAT_VERSION) {
      throw top.bad('format_version', 'is ' + m.format_version + '; this verifier reads ' + FORMAT_VERSION);
    }
    m.export_id = top.text('export_id');
    if (!parseExportId(m.export_id)) throw top.bad('export_id', 'is not a UUID');
    m.created = top.time('created');
    m.clock_at_export = top.timeSource('clock_at_export');
    const device = top.object('device');
    m.device = {
      id: device.text('id'),
      name: device.text('name'),
      public_key: device.hex('public_key', 32),
      fingerprint: device.text('fingerprint'),
    };
    if (m.device.fingerprint !== fingerprint(fromHex(m.device.public_key))) {
      throw top.bad('device.fingerprint', 'is not the fingerprint of device.public_key');
    }
    const c = top.object('case');
    const person = (key) => {
      const p = c.object(key);
      return { name: p.text('name', false), role: p.text('role', false) };
    };
    m.case = {
      reference: c.text('reference', false),
      legal_basis: c.text('legal_basis', false),
      recipient: c.text('recipient', false),
      requested_by: person('requested_by'),
      approved_by: person('approved_by'),
    };
    if (m.kind === SUBJECT_KIND && m.case.reference !== m.request_reference) {
      throw top.bad('case.reference', 'is not the request_reference');
    }
    const range = top.object('range');
    m.from = range.time('from');
    m.to = range.time('to');
    if (m.to <= m.from) throw top.bad('range', 'ends before it starts');
    const enc = top.object('encryption');
    if (enc.text('cipher') !== CIPHER) throw top.bad('encryption.cipher', 'is not ' + CIPHER);
    m.chunk_bytes = enc.integer('chunk_bytes', MIN_CHUNK, MAX_CHUNK);
    const kdf = enc.object('kdf');
    if (kdf.text('algorithm') !== KDF) throw top.bad('encryption.kdf.algorithm', 'is not ' + KDF);
    m.salt = kdf.hex('salt', 16);
    m.opslimit = kdf.integer('opslimit', MIN_OPS, MAX_OPS);
    m.memlimit = kdf.integer('memlimit', MIN_MEM, MAX_MEM);
    m.key_check = enc.hex('key_check', 32);

    const names = new Set([MANIFEST, SIGNATURE]);
    const claim = (where, name) => {
      if (!validName(name)) {
        throw top.bad(where, 'is not a plain file name ([A-Za-z0-9._-], not starting with .)');
      }
      if (names.has(name)) throw top.bad(where, 'names a file listed twice');
      names.add(name);
    };
    m.files = top.array('files', MAX_FILES).map((item, i) => {
      const f = fields(item, 'files[' + i + ']');
      const file = {};
      file.index = f.integer('index', 0, 0x7fffffff);
      if (file.index !== i) throw f.bad(f.at('index'), 'is out of order');
      file.name = f.text('name');
      claim(f.at('name'), file.name);
      if (!file.name.endsWith(SUFFIX)) throw f.bad(f.at('name'), 'does not end in ' + SUFFIX);
      file.camera = f.text('camera', false);
      file.zone = f.text('zone');
      file.location = f.text('location');
      file.start = f.time('start');
      file.end = f.time('end');
      if (file.end < file.start) throw f.bad(f.at('end'), 'is before start');
      file.duration_us = f.integer('duration_us', 0, MAX_INT);
      file.codec = f.text('codec');
      if (file.codec !== 'h264' && file.codec !== 'h265') throw f.bad(f.at('codec'), 'is not h264 or h265');
      file.width = f.integer('width', 0, 65535);
      file.height = f.integer('height', 0, 65535);
      file.frames = f.integer('frames', 0, MAX_INT);
      file.time_source = f.timeSource('time_source');
      file.mp4_bytes = f.integer('mp4_bytes', 0, 2 ** 50);
      file.mp4_sha256 = f.hex('mp4_sha256', 32);
      file.encrypted_bytes = f.integer('encrypted_bytes', 0, MAX_INT);
      if (file.encrypted_bytes !== encryptedSize(file.mp4_bytes, m.chunk_bytes)) {
        throw f.bad(f.at('encrypted_bytes'), 'does not match mp4_bytes and chunk_bytes');
      }
      file.encrypted_sha256 = f.hex('encrypted_sha256', 32);
      file.source_segments = f.array('source_segments', 1000000).map((s, j) => {
        const g = fields(s, f.at('source_segments[' + j + ']'));
        return {
          id: g.integer('id', 0, MAX_INT),
          start: g.time('start'),
          end: g.time('end'),
          sha256: g.hex('sha256', 32),
          time_source: g.timeSource('time_source'),
        };
      });
      return file;
    });
    const claimed = new Array(m.files.length).fill(false);
    m.cameras = top.array('cameras', MAX_FILES).map((item, i) => {
      const f = fields(item, 'cameras[' + i + ']');
      const camera = { name: f.text('name', false), zone: f.text('zone'), location: f.text('location') };
      camera.files = f.array('files', MAX_FILES).map((index) => {
        if (!Number.isInteger(index) || index < 0 || index >= m.files.length) {
          throw f.bad(f.at('files'), 'lists a file that is not in files');
        }
        if (m.files[index].camera !== camera.name || claimed[index]) {
          throw f.bad(f.at('files'), 'lists a file of another camera, or one twice');
        }
        claimed[index] = true;
        return index;
      });
      camera.gaps = f.array('gaps', 1000000).map((gap, j) => {
        const g = fields(gap, f.at('gaps[' + j + ']'));
        return { from: g.time('from'), to: g.time('to') };
      });
      return camera;
    });
    claimed.forEach((ok, i) => {
      if (!ok) throw top.bad('files[' + i + ']', 'belongs to no camera in cameras');
    });
    m.support_files = top.array('support_files', 64).map((item, i) => {
      const f = fields(item, 'support_files[' + i + ']');
      const file = { name: f.text('name') };
      claim(f.at('name'), file.name);
      file.bytes = f.integer('bytes', 0, 2 ** 40);
      file.sha256 = f.hex('sha256', 32);
      return file;
    });
    return m;
  }

  // ---- Files ----

  async function readAll(file) {
    return new Uint8Array(await file.arrayBuffer());
  }

  async function sha256File(file) {
    const state = sodium.crypto_hash_sha256_init();
    for (let at = 0; at < file.size; at += READ_PIECE) {
      const piece = new Uint8Array(await file.slice(at, at + READ_PIECE).arrayBuffer());
      sodium.crypto_hash_sha256_update(state, piece);
    }
    return hex(sodium.crypto_hash_sha256_final(state));
  }

  function deriveKeys(passphrase, m) {
    const derived = sodium.crypto_pwhash(64, new TextEncoder().encode(passphrase), fromHex(m.salt),
        m.opslimit, m.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
    return { fileKey: derived.subarray(0, 32), checkKey: derived.subarray(32, 64) };
  }

  function keyCheck(keys) {
    return hex(sodium.crypto_generichash(32, new TextEncoder().encode(KEY_CHECK_CONTEXT), keys.checkKey));
  }

  function u32le(bytes, at) {
    return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
  }

  // Decrypts one footage file: header, every message, the MP4's size and SHA-256. `sink`, if
  // given, receives each plaintext chunk (for playback); nothing is written anywhere.
  async function decryptFile(file, entry, m, keys, sink) {
    const fail = (message) => new Failure(entry.name, message);
    if (file.size < HEADER_BYTES) throw fail('is shorter than its header (truncated)');
    const header = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
    if (!MAGIC.every((b, i) => header[i] === b)) throw fail('is not a Yardwatch encrypted footage file (bad magic)');
    if (u32le(header, 8) !== FILE_VERSION) throw fail('has file format version ' + u32le(header, 8) + ', expected 1');
    const chunk = u32le(header, 12);
    if (chunk < MIN_CHUNK || chunk > MAX_CHUNK) throw fail('has an impossible chunk size ' + chunk);
    const exportId = parseExportId(m.export_id);
    if (!exportId.every((b, i) => header[16 + i] === b)) throw fail('belongs to another export');
    if (u32le(header, 32) !== entry.index) {
      throw fail('is entry ' + u32le(header, 32) + ' of the manifest, not entry ' + entry.index +
          ' (files swapped or renamed?)');
    }
    if (chunk !== m.chunk_bytes) throw fail('has another chunk size than the manifest states');
    const ad = header.slice(0, AD_BYTES);
    const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header.subarray(AD_BYTES, HEADER_BYTES), keys.fileKey);
    const hash = sodium.crypto_hash_sha256_init();
    let at = HEADER_BYTES;
    let plainBytes = 0;
    let index = 0;
    let final = false;
    while (at < file.size) {
      const size = Math.min(file.size - at, chunk + OVERHEAD);
      const message = new Uint8Array(await file.slice(at, at + size).arrayBuffer());
      if (message.length !== size) throw fail('is shorter than the manifest says (truncated)');
      if (final) throw fail('has data after its FINAL message');
      const pulled = size >= OVERHEAD ? sodium.crypto_secretstream_xchacha20poly1305_pull(state, message, ad) : false;
      if (!pulled) {
        throw fail('message ' + index + ' at byte offset ' + at +
            ' failed authentication (changed, truncated, or a wrong passphrase)');
      }
      if (pulled.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        final = true;
      } else if (pulled.tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ||
                 pulled.message.length !== chunk) {
        throw fail('ends without its FINAL message (truncated)');
      }
      sodium.crypto_hash_sha256_update(hash, pulled.message);
      plainBytes += pulled.message.length;
      if (sink) sink(pulled.message);
      at += size;
      index++;
    }
    const digest = hex(sodium.crypto_hash_sha256_final(hash));
    if (!final) throw fail('ends without its FINAL message (truncated)');
    if (plainBytes !== entry.mp4_bytes || digest !== entry.mp4_sha256) {
      throw fail('decrypts to an MP4 whose size or SHA-256 is not the signed one');
    }
  }

  // ---- The whole check: the same steps as tools/verify/bundle_check.cpp ----

  async function verifyBundle(fileList, passphrase, expectedText, progress) {
    const problems = [];
    const problem = (file, message) => problems.push({ file, message });
    const byName = new Map();
    for (const file of fileList) {
      const path = file.webkitRelativePath || file.name;
      const parts = path.split('/');
      // With a folder chosen, paths are "folder/name"; anything deeper is not part of a bundle.
      const name = parts.length > 2 ? parts.slice(1).join('/') : file.name;
      byName.set(name, file);
    }
    const result = { problems, manifest: null, keys: null, byName, proven: [], notProven: [] };
    const manifestFile = byName.get(MANIFEST);
    if (!manifestFile) {
      problem(MANIFEST, 'is missing or unreadable: this is not a complete bundle');
      return result;
    }
    const signatureFile = byName.get(SIGNATURE);
    if (!signatureFile) {
      problem(SIGNATURE, 'is missing: the bundle is incomplete (the export did not finish) or the signature was removed');
      return result;
    }
    if (manifestFile.size > MAX_MANIFEST) {
      problem(MANIFEST, 'manifest.json is larger than 8 MiB');
      return result;
    }
    const manifestBytes = await readAll(manifestFile);
    const signature = await readAll(signatureFile);
    let m;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes);
      m = parseManifest(text);
    } catch (e) {
      problem(MANIFEST, e instanceof Failure ? e.message : 'manifest.json is not a JSON object');
      return result;
    }
    let signatureValid = false;
    try {
      signatureValid = signature.length === 64 &&
          sodium.crypto_sign_verify_detached(signature, manifestBytes, fromHex(m.device.public_key));
    } catch (e) {
      signatureValid = false;
    }
    if (!signatureValid) {
      problem('manifest.json / manifest.sig', 'the signature does not match the manifest: manifest.json was changed or manifest.sig is damaged or belongs to another manifest. Nothing in this bundle can be trusted.');
      return result;
    }
    result.manifest = m;
    let expected = null;
    if (expectedText) {
      expected = normalizeFingerprint(expectedText);
      if (!expected) {
        problem('fingerprint', 'the expected fingerprint must be 32 hexadecimal digits');
      } else if (normalizeFingerprint(m.device.fingerprint) !== expected) {
        problem(SIGNATURE, 'signed by key ' + m.device.fingerprint + ', not by the expected ' + expectedText);
      }
    }
    const listed = new Set([MANIFEST, SIGNATURE]);
    m.files.forEach((f) => listed.add(f.name));
    m.support_files.forEach((f) => listed.add(f.name));
    for (const name of byName.keys()) {
      if (!listed.has(name)) problem(name, 'is not part of this bundle (added after the export?)');
    }
    const checkStored = async (name, bytes, sha256) => {
      const file = byName.get(name);
      if (!file) {
        problem(name, 'is missing');
        return false;
      }
      if (file.size !== bytes) {
        problem(name, 'is ' + file.size + ' bytes, the manifest says ' + bytes + ' (truncated or extended)');
        return false;
      }
      progress('SHA-256 ' + name);
      if (await sha256File(file) !== sha256) {
        problem(name, 'has a SHA-256 that does not match the manifest (changed or replaced)');
        return false;
      }
      return true;
    };
    const storedOk = [];
    for (const f of m.files) storedOk.push(await checkStored(f.name, f.encrypted_bytes, f.encrypted_sha256));
    for (const f of m.support_files) await checkStored(f.name, f.bytes, f.sha256);

    result.decrypted = false;
    if (passphrase) {
      progress('Argon2id…');
      const keys = deriveKeys(passphrase, m);
      if (keyCheck(keys) !== m.key_check) {
        problem('passphrase', 'wrong passphrase: it does not produce this bundle\'s key (check for typing errors; the passphrase was handed over separately from the stick)');
      } else {
        result.keys = keys;
        for (let i = 0; i < m.files.length; i++) {
          if (!storedOk[i]) continue;
          progress('decrypting ' + m.files[i].name);
          try {
            await decryptFile(byName.get(m.files[i].name), m.files[i], m, keys, null);
          } catch (e) {
            if (e instanceof Failure) problem(e.file, e.message);
            else throw e;
          }
        }
        result.decrypted = true;
      }
    }
    result.expectedMatched = expected !== null && normalizeFingerprint(m.device.fingerprint) === expected;
    return result;
  }

  // ---- The page ----

  function element(tag, attributes, ...children) {
    const e = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) e.setAttribute(key, value);
    for (const child of children) e.append(child);
    return e;
  }

  function render(result) {
    const report = $('report');
    report.replaceChildren();
    const problems = $('problems');
    problems.replaceChildren();
    for (const p of result.problems) {
      problems.append(element('li', { class: 'failed', 'data-file': p.file }, 'FAILED ' + p.file + ': ' + p.message));
    }
    const verdict = $('verdict');
    const ok = result.problems.length === 0;
    verdict.dataset.verdict = ok ? 'ok' : 'failed';
    verdict.className = ok ? 'ok' : 'failed';
    verdict.textContent = ok ? 'RESULT: OK — alle controles geslaagd / every check passed'
        : 'RESULT: FAILED (' + result.problems.length + ') — niet op vertrouwen / do not rely on this bundle';
    const m = result.manifest;
    const kind = $('bundle-kind');
    if (kind) {
      kind.replaceChildren();
      kind.dataset.kind = m ? m.kind : '';
    }
    if (!m) return;
    if (kind) {
      kind.append(m.kind === SUBJECT_KIND
          ? element('strong', { class: 'subject' },
              'INZAGE-EXPORT voor verzoek ' + m.request_reference +
              ' — geen politie-export; andere personen zijn vervaagd. / SUBJECT ACCESS EXPORT for request ' +
              m.request_reference + ' — not a police export; other people are blurred.')
          : element('strong', { class: 'police' }, 'Politie-export / police export'));
    }
    report.append(element('h2', {}, 'Apparaatsleutel / device key'));
    report.append(element('p', { class: 'fingerprint', id: 'device-fingerprint' }, m.device.fingerprint));
    report.append(element('p', {}, result.expectedMatched
        ? 'De sleutel komt overeen met de opgegeven vingerafdruk. / The key matches the fingerprint you entered.'
        : 'Alleen als deze vingerafdruk gelijk is aan die op het overdrachtsformulier is dit de sleutel van het apparaat. / The key is the device\'s only if this fingerprint matches the one on the handover form.'));
    const dl = element('dl');
    const row = (label, value) => { dl.append(element('dt', {}, label), element('dd', {}, value)); };
    row('Apparaat / device', m.device.name + ' (' + m.device.id + ')');
    row('Export', m.export_id + ', ' + iso(m.created) + ' (klok / clock: ' + m.clock_at_export + ')');
    if (m.kind === SUBJECT_KIND) {
      row('Soort / kind', 'inzage-export / subject access export');
      row('Verzoek / request reference', m.request_reference);
      row('Grondslag / legal basis', m.case.legal_basis);
    } else {
      row('Soort / kind', 'politie-export / police export');
      row('Zaak / case', m.case.reference);
      row('Vordering / legal basis', m.case.legal_basis);
    }
    row('Ontvanger / recipient', m.case.recipient);
    row('Aangevraagd door / requested by', m.case.requested_by.name + ' (' + m.case.requested_by.role + ')');
    row('Goedgekeurd door / approved by', m.case.approved_by.name + ' (' + m.case.approved_by.role + ')');
    row('Periode / range', iso(m.from) + ' – ' + iso(m.to));
    report.append(dl);
    report.append(element('h2', {}, 'Beelden / footage'));
    const list = element('ul', { id: 'file-list' });
    m.files.forEach((f) => {
      const failed = result.problems.some((p) => p.file === f.name);
      const item = element('li', { 'data-name': f.name },
          element('span', { class: failed ? 'failed' : 'ok' }, failed ? 'FAILED ' : 'OK '),
          element('code', {}, f.name), ' — camera ' + f.camera + (f.location ? ' (' + f.location + ')' : '') +
          ', ' + iso(f.start) + ' – ' + iso(f.end) + ', ' + duration(f.duration_us) + ', ' + f.codec + ' ' +
          f.width + 'x' + f.height + ', ' + f.frames + ' frames, tijdbron / time source: ' + f.time_source,
          element('br'), 'SHA-256 MP4: ', element('span', { class: 'hash' }, f.mp4_sha256));
      if (result.keys && !failed) {
        const play = element('button', { class: 'play', 'data-name': f.name }, 'Afspelen / play');
        play.addEventListener('click', () => playFile(result, f, false));
        const save = element('button', { class: 'save' }, 'MP4 opslaan / save MP4');
        save.addEventListener('click', () => playFile(result, f, true));
        item.append(' ', play, ' ', save);
      }
      list.append(item);
    });
    report.append(list);
    for (const camera of m.cameras) {
      for (const gap of camera.gaps) {
        report.append(element('p', { class: 'gap' }, 'Geen beelden / no footage: camera ' + camera.name + ', ' + iso(gap.from) + ' – ' + iso(gap.to)));
      }
    }
    if (ok) {
      report.append(element('h2', {}, 'Bewezen / proven'));
      const proven = element('ul');
      proven.append(element('li', {}, 'manifest.json is precies wat de houder van sleutel ' + m.device.fingerprint + ' ondertekende. / manifest.json is exactly what the holder of this key signed.'));
      proven.append(element('li', {}, 'Elk bestand is aanwezig en ongewijzigd, en er is niets bijgekomen. / Every file is present and unchanged, and nothing was added.'));
      if (result.decrypted) proven.append(element('li', {}, 'Elke MP4 is ontsleuteld en heeft de ondertekende SHA-256. / Every MP4 decrypts and has the signed SHA-256.'));
      report.append(proven);
      report.append(element('h2', {}, 'Niet bewezen / not proven'));
      const notProven = element('ul');
      if (!result.expectedMatched) notProven.append(element('li', {}, 'Dat de sleutel van dit apparaat is: vergelijk de vingerafdruk met het overdrachtsformulier. / That the key is this device\'s: compare the fingerprint with the handover form.'));
      if (!result.decrypted) notProven.append(element('li', {}, 'De inhoud van de beelden: vul de wachtwoordzin in. / The footage itself: enter the passphrase.'));
      notProven.append(element('li', {}, 'Dat de klok van het apparaat juist was, of dat de beelden alles tonen (gaten staan hierboven). / That the device clock was right, or that the footage shows everything (gaps are listed).'));
      report.append(notProven);
    }
  }

  let currentUrl = null;
  async function playFile(result, entry, save) {
    const chunks = [];
    $('status').textContent = 'ontsleutelen / decrypting ' + entry.name;
    try {
      await decryptFile(result.byName.get(entry.name), entry, result.manifest, result.keys, (c) => chunks.push(new Uint8Array(c)));
    } catch (e) {
      $('status').textContent = e.message;
      return;
    }
    if (currentUrl) URL.revokeObjectURL(currentUrl);
    currentUrl = URL.createObjectURL(new Blob(chunks, { type: 'video/mp4' }));
    $('status').textContent = '';
    if (save) {
      const a = element('a', { href: currentUrl, download: entry.name.slice(0, -4) });
      document.body.append(a);
      a.click();
      a.remove();
      return;
    }
    const player = $('player');
    player.dataset.name = entry.name;
    player.src = currentUrl;
    player.play().catch(() => {});
  }

  async function run() {
    const chosen = [...$('folder').files, ...$('files').files];
    $('verdict').dataset.verdict = 'running';
    $('verdict').textContent = 'bezig / checking…';
    const progress = (text) => { $('status').textContent = text; };
    try {
      const result = await verifyBundle(chosen, $('passphrase').value, $('fingerprint').value.trim(), progress);
      progress('');
      render(result);
    } catch (e) {
      $('verdict').dataset.verdict = 'error';
      $('verdict').textContent = 'error: ' + e.message;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('verify').disabled = true;
    $('status').textContent = 'libsodium laden / loading…';
    window.sodium.ready.then(() => {
      sodium = window.sodium;
      $('verify').disabled = false;
      $('status').textContent = '';
      document.body.dataset.ready = '1';
    });
    $('verify').addEventListener('click', run);
  });
})();
