// The officer's actions on one alarm, as the API allows them (docs/api.md "Handling"): acknowledge with a
// note, comment, shelve for a while with a reason, unshelve, assign, and close with the handling (a
// forced close, confirmed, while the condition is still active). A refused action says why.
import { api } from './api.js';
import { html, useEffect, useState } from './html.js';
import { t } from './i18n.js';
import { isShelved } from './levels.js';
import { whoAmI } from './session.js';

const SHELVE_HOURS = [0.5, 1, 2, 4, 8, 24];

// One form: its fields are the children; `read` turns the form into the call's arguments, or throws
// the translation key of what is missing.
function Action({ name, label, enabled, read, act, children }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    setError(null);
    let args;
    try {
      args = read(new FormData(form));
    } catch (missing) {
      setError(t(missing.message));
      return;
    }
    setBusy(true);
    try {
      await act(...args);
      form.reset();
    } catch (e) {
      setError(e.status === 403 ? t('action.forbidden', { reason: e.message }) : e.message);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="action" data-action=${name} onSubmit=${submit}>
    <fieldset disabled=${!enabled}>${children}</fieldset>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button type="submit" class="primary" disabled=${!enabled || busy}>${label}</button>
  </form>`;
}

function text(form, name, missing) {
  const value = String(form.get(name) ?? '').trim();
  if (missing && !value) throw new Error(missing);
  return value;
}

// As central/alarms.py allows: not closed and not acknowledged since its last (re)raise or escalation.
function canAcknowledge(alarm) {
  return alarm.status === 'open' || (alarm.status === 'cleared' && alarm.acknowledged_ms == null);
}

// A warning still in force: closing it is a forced close (central/alarms.py).
function isActive(alarm) {
  return alarm.status === 'open' || alarm.status === 'acknowledged';
}

// A person's role is known (a token's is not: the API's 403 says it): a viewer gets no forms.
function useReadOnly() {
  const [readOnly, setReadOnly] = useState(false);
  useEffect(() => { whoAmI().then((who) => setReadOnly(who?.role === 'viewer')); }, []);
  return readOnly;
}

export function Actions({ alarm, onDone }) {
  const readOnly = useReadOnly();
  const id = alarm.id;
  const open = alarm.status !== 'closed';
  if (readOnly) {
    return html`<section class="card actions"><h2>${t('alarm.actions')}</h2>
      <p class="muted" data-read-only="true">${t('action.read_only')}</p></section>`;
  }
  const shelved = isShelved(alarm);
  const forced = isActive(alarm);
  const then = (call) => (...args) => call(...args).then(onDone);
  return html`<section class="card actions"><h2>${t('alarm.actions')}</h2>
    <${Action} name="acknowledge" label=${t('action.acknowledge')} enabled=${canAcknowledge(alarm)}
      read=${(f) => [id, text(f, 'note')]} act=${then(api.acknowledge)}>
      <label>${t('action.note')}<textarea name="note" rows="2"></textarea></label>
    <//>
    <${Action} name="comment" label=${t('action.comment')} enabled=${true}
      read=${(f) => [id, text(f, 'note', 'action.comment_required')]} act=${then(api.comment)}>
      <label>${t('action.comment_note')}<textarea name="note" rows="2"></textarea></label>
    <//>
    ${shelved
      ? html`<${Action} name="unshelve" label=${t('action.unshelve')} enabled=${open}
          read=${() => [id]} act=${then(api.unshelve)} />`
      : html`<${Action} name="shelve" label=${t('action.shelve')} enabled=${open}
          read=${(f) => [id, Math.round(Number(f.get('hours')) * 3600), text(f, 'reason', 'action.reason_required')]}
          act=${then(api.shelve)}>
          <label>${t('action.shelve_for')}<select name="hours">${SHELVE_HOURS.map((h) => html`
            <option value=${h} selected=${h === 1}>${t('action.hours', { n: h })}</option>`)}</select></label>
          <label>${t('action.shelve_reason')}<input name="reason" /></label>
        <//>`}
    <${Action} name="assign" label=${t('action.assign')} enabled=${open}
      read=${(f) => [id, text(f, 'assignee')]} act=${then(api.assign)}>
      <label>${t('action.assignee')}<input name="assignee" placeholder=${alarm.assignee ?? ''} /></label>
    <//>
    <${Action} name="close" label=${t(forced ? 'action.force_close' : 'action.close')} enabled=${open}
      read=${(f) => {
        const handling = text(f, 'handling', 'action.required');
        if (forced && f.get('force') !== 'yes') throw new Error('action.confirm_required');
        return [id, handling, forced];
      }} act=${then(api.close)}>
      <label>${t('action.handling')}<textarea name="handling" rows="2"></textarea></label>
      ${forced && html`<p class="warning">${t('action.still_active')}</p>
        <label class="check"><input type="checkbox" name="force" value="yes" />${t('action.confirm_force')}</label>`}
    <//>
  </section>`;
}
