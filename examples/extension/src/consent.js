// The consent window the service worker opens on a site's first request: allow / allow once / deny.
// Closing it without an answer counts as "not now" (the request falls back; nothing is stored).
const origin = new URL(location.href).searchParams.get('origin') ?? '';
let host = origin;
try { host = new URL(origin).host; } catch { /* shown as given */ }
document.getElementById('site').textContent = host;
document.title = `Attune: ${host} asks to personalize`;

// Keep the service worker awake while the person reads (it waits for this answer).
const keepAlive = setInterval(() => chrome.runtime.sendMessage({ kind: 'ping' }).catch(() => {}), 20000);

for (const decision of ['allow', 'once', 'deny']) {
  document.getElementById(decision).addEventListener('click', async () => {
    clearInterval(keepAlive);
    await chrome.runtime.sendMessage({ kind: 'consent', origin, decision });
    window.close();
  });
}
document.getElementById('allow').focus();
