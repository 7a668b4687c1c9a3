// Follows the central's event stream (api/v1/stream, server-sent events) and reconnects when it breaks.
//
// EventSource cannot send an Authorization header, so this reads the stream with fetch; with the
// accounts issue's session cookie, fetch sends the cookie and the header is simply empty. The server
// sends ": fieldwatch: subscribed" first, so onSubscribed() is the moment to (re)read the state: no
// change after it is missed. A ping comes every 15 s; silence for SILENT_MS means a dead connection.
import { authHeaders, refused } from './session.js';

const SILENT_MS = 40_000;
const BACKOFF_MS = [500, 1000, 2000, 5000];

// Parses text/event-stream chunks into {event, data} messages and {comment} lines.
export function sseParser(onMessage) {
  let buffer = '';
  let event = null;
  let data = [];
  return (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (data.length) onMessage({ event: event ?? 'message', data: data.join('\n') });
        event = null;
        data = [];
      } else if (line.startsWith(':')) {
        onMessage({ comment: line.slice(1).trim() });
      } else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// follow({onEvent(kind, payload), onSubscribed(), onDown(sinceMs)}) -> stop()
export function follow({ onEvent, onSubscribed, onDown }) {
  let stopped = false;
  let controller = null;
  let attempt = 0;
  let downSince = null;

  function subscribed() {
    attempt = 0;
    downSince = null;
    onSubscribed();
  }

  // One connection, until it ends; false when the API refused the credentials (stop trying).
  async function once() {
    controller = new AbortController();
    let watchdog = setTimeout(() => controller.abort(), SILENT_MS);
    try {
      const response = await fetch('api/v1/stream', {
        headers: { ...authHeaders(), Accept: 'text/event-stream' }, credentials: 'same-origin',
        cache: 'no-store', signal: controller.signal,
      });
      if (response.status === 401) {
        refused();
        return false;
      }
      if (!response.ok) return true;
      let cut = false;
      const feed = sseParser((message) => {
        if (message.comment?.startsWith('fieldwatch: subscribed')) subscribed();
        else if (message.event === 'cut') cut = true;
        else if (message.event) onEvent(message.event, JSON.parse(message.data));
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      while (!cut) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), SILENT_MS);
        feed(value);
      }
    } catch {
      // a network error, or the watchdog's abort: connect again
    } finally {
      clearTimeout(watchdog);
      controller.abort();
    }
    return true;
  }

  (async () => {
    while (!stopped && (await once()) && !stopped) {
      downSince ??= Date.now();
      onDown(downSince);
      await sleep(BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)]);
    }
  })();

  return () => {
    stopped = true;
    controller?.abort();
  };
}
