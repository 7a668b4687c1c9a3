// The public API, as the console uses it. Paths are relative to the page, so a central served under
// a path prefix works too. Errors carry the API's reason (its "detail").
import { authHeaders, refused } from './session.js';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function call(method, path, { params, body } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(params ?? {})) {
    for (const one of [value].flat()) if (one != null && one !== '') url.searchParams.append(name, one);
  }
  const headers = { ...authHeaders() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) refused();
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.json();
}

export const api = {
  map: () => call('GET', 'api/v1/map'),
  alarms: (params) => call('GET', 'api/v1/alarms', { params }),
  alarm: (id) => call('GET', `api/v1/alarms/${id}`),
  acknowledge: (id, note) => call('POST', `api/v1/alarms/${id}/acknowledge`, { body: { note } }),
  // force: the officer closes an alarm whose condition is still active (the timeline marks it forced_close)
  close: (id, handling, force = false) => call('POST', `api/v1/alarms/${id}/close`, { body: { handling, force } }),
  comment: (id, note) => call('POST', `api/v1/alarms/${id}/comment`, { body: { note } }),
  shelve: (id, durationS, reason) => call('POST', `api/v1/alarms/${id}/shelve`, { body: { duration_s: durationS, reason } }),
  unshelve: (id) => call('POST', `api/v1/alarms/${id}/unshelve`, { body: {} }),
  assign: (id, assignee) => call('POST', `api/v1/alarms/${id}/assign`, { body: { assignee: assignee || null } }),
  orgs: () => call('GET', 'api/v1/orgs'),
  gateways: () => call('GET', 'api/v1/gateways'),
  channels: (params) => call('GET', 'api/v1/channels', { params }),
  latest: (params) => call('GET', 'api/v1/latest', { params }),
  history: (params) => call('GET', 'api/v1/history', { params }),
};
