// The status line: device and why, model sizes and load times, the last rank / track / embed
// times and the last reply's tokens per second. Values are set as they become known.
import { $, formatBytes, formatMs } from './dom.js';

export const status = {
  device: null, embedder: null, assistant: null, rank: null, track: null, embed: null, reply: null,

  set(values) {
    Object.assign(this, values);
    render(this);
  },
};

function deviceText(d) {
  if (!d) return 'device: starting…';
  const name = d.used === 'webgpu' ? `WebGPU${d.adapter ? ` (${d.adapter})` : ''}` : 'CPU (WebAssembly SIMD)';
  return `device: <b>${esc(name)}</b>${d.why ? ` — ${esc(d.why)}` : ''}`;
}

function modelText(label, m) {
  if (!m) return `${label}: —`;
  if (m.state === 'idle') return `${label}: loads on first question`;
  if (m.state === 'loading') return `${label}: loading…`;
  return `${label}: <b>${formatBytes(m.bytes)}</b> in ${formatMs(m.ms)}${m.fromCache ? ' (cached)' : ''}`;
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function render(s) {
  const parts = [
    deviceText(s.device),
    modelText('embedder', s.embedder),
    modelText('chat model', s.assistant),
    `rank <b>${formatMs(s.rank)}</b>`,
    `track <b>${formatMs(s.track)}</b>`,
    `embed <b>${formatMs(s.embed)}</b>`,
    s.reply ? `reply <b>${s.reply.toFixed(1)} tokens/s</b>` : 'reply —',
  ];
  $('status-line').innerHTML = parts.join(' · ');
}
