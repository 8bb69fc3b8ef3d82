// Camera management (admins): the placement plan. Zones outside the permitted list are refused
// by the appliance (R1); retention at most 28 days (R2).
import { api } from '/ui/public/js/api.js';
import { field, h, replace } from '/ui/public/js/dom.js';
import { t } from '/ui/public/js/i18n.js';
import { notify } from '/ui/public/js/notice.js';

function cameraForm(zones, camera, onSaved) {
  const name = h('input', { required: true, maxlength: '64', pattern: '[A-Za-z0-9._-]+', value: camera ? camera.name : '', disabled: Boolean(camera) });
  const url = h('input', { required: true, type: 'url', maxlength: '1024', value: camera ? camera.url || '' : '', placeholder: 'rtsp://…' });
  const zone = h('select', { required: true }, zones.map((z) => h('option', { value: z, selected: camera && camera.zone === z }, t(`zone.${z}`))));
  const location = h('input', { maxlength: '200', value: camera ? camera.location : '' });
  const retention = h('input', { type: 'number', min: '1', max: '28', required: true, value: camera ? camera.retention_days : 28 });
  const transport = h('select', {}, ['tcp', 'udp'].map((v) => h('option', { value: v, selected: camera ? camera.transport === v : v === 'tcp' }, v.toUpperCase())));
  const submit = h('button', { type: 'submit', class: 'primary' }, camera ? t('cameras.save') : t('cameras.add'));
  return h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        const body = {
          url: url.value.trim(),
          zone: zone.value,
          location: location.value.trim(),
          retention_days: Number(retention.value),
          transport: transport.value,
        };
        try {
          if (camera) {
            await api('PUT', `/api/v1/cameras/${camera.id}`, body);
          } else {
            await api('POST', '/api/v1/cameras', { name: name.value.trim(), ...body });
          }
          notify(t('cameras.saved'), 'ok');
          await onSaved();
        } catch (error) {
          notify(error.message, 'error');
        }
      },
    },
    h('h2', {}, camera ? t('cameras.edit_title', { name: camera.name }) : t('cameras.add_title')),
    field(t('cameras.name'), name),
    field(t('cameras.url'), url, t('cameras.url_hint')),
    field(t('cameras.zone'), zone, t('cameras.zone_hint')),
    field(t('cameras.location'), location),
    field(t('cameras.retention'), retention, t('cameras.retention_hint')),
    field(t('cameras.transport'), transport),
    submit,
  );
}

export async function render(main) {
  document.title = `${t('cameras.title')} – Yardwatch`;
  const draw = async () => {
    const { cameras, permitted_zones: zones } = await api('GET', '/api/v1/cameras');
    const formArea = h('div', {});
    const rows = cameras.map((camera) =>
      h('tr', {},
        h('th', { scope: 'row' }, camera.name),
        h('td', {}, t(`zone.${camera.zone}`)),
        h('td', {}, camera.location),
        h('td', {}, String(camera.retention_days)),
        h('td', {},
          h('button', { type: 'button', class: 'link', onclick: () => replace(formArea, cameraForm(zones, camera, draw)) }, t('cameras.edit', { name: camera.name })),
          ' ',
          h('button', {
            type: 'button',
            class: 'link danger',
            onclick: async () => {
              if (!window.confirm(t('cameras.remove_confirm', { name: camera.name }))) return;
              try {
                await api('DELETE', `/api/v1/cameras/${camera.id}`);
                notify(t('cameras.removed'), 'ok');
                await draw();
              } catch (error) {
                notify(error.message, 'error');
              }
            },
          }, t('cameras.remove', { name: camera.name })),
          ' ',
          h('a', { href: `#/camera/${camera.id}` }, t('cameras.preview', { name: camera.name })))));
    replace(
      main,
      h('h1', {}, t('cameras.title')),
      h('p', {}, t('cameras.intro')),
      h('table', {},
        h('caption', {}, t('cameras.caption')),
        h('thead', {}, h('tr', {}, ['cameras.name', 'cameras.zone', 'cameras.location', 'cameras.retention', 'cameras.actions'].map((key) => h('th', { scope: 'col' }, t(key))))),
        h('tbody', {}, rows)),
      formArea,
      cameraForm(zones, null, draw),
    );
  };
  await draw();
}
