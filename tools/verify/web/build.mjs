// Builds verify.html: the template with libsodium.js (sumo build: Argon2id, secretstream,
// Ed25519, SHA-256) and verify.js inlined, so the page is one self-contained file that works
// from file:// without any network. Run by CMake (tools/verify/web/CMakeLists.txt):
//   node build.mjs OUTPUT
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const output = process.argv[2];
if (!output) {
  console.error('usage: node build.mjs OUTPUT');
  process.exit(2);
}

function source(path) {
  const text = readFileSync(path, 'utf8');
  // Inside <script>, "</script" would end the element and "<!--" changes how the parser reads
  // it; none of the inlined files has either, and the build refuses rather than guess.
  if (/<\/script|<!--/i.test(text)) {
    console.error(`build.mjs: ${path} contains </script or <!-- and cannot be inlined`);
    process.exit(1);
  }
  return text;
}

const sodium = source(join(modules, 'libsodium-sumo/dist/modules-sumo/libsodium-sumo.js'));
const wrappers = source(join(modules, 'libsodium-wrappers-sumo/dist/modules-sumo/libsodium-wrappers.js'));
const app = source(join(here, 'verify.js'));
const version = JSON.parse(readFileSync(join(modules, 'libsodium-wrappers-sumo/package.json'), 'utf8')).version;
const template = readFileSync(join(here, 'verify.template.html'), 'utf8');
if (!template.includes('<!--SODIUM-->') || !template.includes('<!--APP-->')) {
  console.error('build.mjs: the template lacks its <!--SODIUM--> / <!--APP--> markers');
  process.exit(1);
}
const page = template
  .replace('<!--SODIUM-->', () =>
    `<script>/* libsodium.js ${version} (ISC licence), https://github.com/jedisct1/libsodium.js */\n` +
    `${sodium}\n</script>\n<script>\n${wrappers}\n</script>`)
  .replace('<!--APP-->', () => `<script>\n${app}\n</script>`);
writeFileSync(output + '.partial', page);
renameSync(output + '.partial', output);
