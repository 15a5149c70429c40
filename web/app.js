// modeld's status page and playground. Vanilla JS, no dependencies: the
// server embeds this file (cmake/embed_web.cmake). State comes from one
// GET /events stream (a snapshot, then changes), so the page never polls.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY_STORE = 'modeld-key';
const MAX_SWITCHES = 10;
const MAX_ACTIVITY = 200;

const view = {
  models: [],        // as GET /models lists them
  state: 'empty',    // of the model slot: empty, loading, warming, ready, failed
  loaded: null,      // the ready model
  target: null,      // the model being loaded
  progress: 0,
  errors: {},        // model id -> why its last load failed
  switches: [],      // the last switch events, oldest first
  requests: 0,
};
let apiKey = sessionStorage.getItem(KEY_STORE) || '';
let chatAbort = null;  // the AbortController of the reply streaming now
const history = [];    // the conversation sent with each message

class AuthError extends Error {}

// fetch with the API key; a 401 asks for a key and throws AuthError.
async function api(path, options = {}) {
  const headers = {...(options.headers || {})};
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const res = await fetch(path, {...options, headers});
  if (res.status === 401) {
    askForKey(apiKey ? 'The server refused this key; enter another.' : 'This server needs an API key.');
    throw new AuthError('API key needed');
  }
  return res;
}

function askForKey(message) {
  $('auth-msg').textContent = message;
  $('auth').hidden = false;
  $('key').focus();
}

function saveKey() {
  apiKey = $('key').value.trim();
  sessionStorage.setItem(KEY_STORE, apiKey);
  $('key').value = '';
  $('auth').hidden = true;
  connectEvents();
}

// Reads a text/event-stream body, calling onEvent(type, data) per event.
async function readSse(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buf += decoder.decode(value, {stream: true}).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;  // a comment: heartbeat
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) onEvent(type, data.join('\n'));
    }
  }
}

// ---- server state, from GET /events

let eventsAbort = null;

async function connectEvents() {
  if (eventsAbort) eventsAbort.abort();
  const abort = new AbortController();
  eventsAbort = abort;
  setConnection('connecting…', '');
  try {
    const res = await api('/events', {signal: abort.signal});
    if (!res.ok) throw new Error(`GET /events answered ${res.status}`);
    await readSse(res, onServerEvent);
    throw new Error('the event stream ended');
  } catch (e) {
    if (abort.signal.aborted) return;
    if (e instanceof AuthError) {
      setConnection('needs an API key', 'down');
      return;  // saveKey reconnects
    }
    setConnection('disconnected; reconnecting…', 'down');
    setTimeout(() => eventsAbort === abort && connectEvents(), 2000);
  }
}

function setConnection(text, cls) {
  $('conn').textContent = text;
  $('conn').className = `badge ${cls}`;
}

function onServerEvent(type, data) {
  const d = JSON.parse(data);
  switch (type) {
    case 'snapshot':
      setConnection('live', 'live');
      view.models = d.models;
      view.state = d.state;
      view.loaded = d.loaded;
      view.target = d.target;
      view.progress = d.progress;
      view.switches = d.switches;
      view.errors = {};
      if (d.last_error && d.last_error_model) view.errors[d.last_error_model] = d.last_error;
      view.requests = Object.values(d.requests.finished).reduce((a, b) => a + b, 0);
      setQueue(d.queued, d.running);
      showTps(Object.values(d.requests.tokens_per_second).pop());
      activity('snapshot', `connected: ${d.loaded || 'no model'} ${d.state}`, d);
      renderModelPicker();
      break;
    case 'state':
      view.state = d.state;
      if (d.state === 'ready') view.loaded = d.model;
      if (d.state === 'loading') {
        view.target = d.model;
        view.progress = 0;
        if (d.model) delete view.errors[d.model];
      }
      if (d.state === 'empty') view.loaded = null;
      activity('state', `${d.state}${d.model ? ' ' + d.model : ''}`, d);
      break;
    case 'progress':
      view.target = d.model;
      view.progress = d.progress;
      break;
    case 'switch':
      view.switches.push(d);
      view.switches.splice(0, view.switches.length - MAX_SWITCHES);
      if (d.outcome === 'failed') view.errors[d.to] = d.error || 'load failed';
      activity('switch', `switch ${d.from || '–'} → ${d.to}: ${d.outcome} in ${ms(d.total_ms)}`, d);
      refreshModels();  // standby and file state change with a switch
      break;
    case 'queue':
      setQueue(d.queued, d.running);
      break;
    case 'request':
      view.requests++;
      if (d.completion_tokens > 0) showTps(d.tokens_per_second);
      break;
  }
  render();
}

async function refreshModels() {
  try {
    const res = await api('/models');
    if (res.ok) {
      view.models = (await res.json()).models;
      render();
    }
  } catch {
    // The event stream reports a lost connection.
  }
}

function setQueue(queued, running) {
  $('queued').textContent = queued;
  $('running').textContent = running;
}

function showTps(tps) {
  $('tps').textContent = tps > 0 ? tps.toFixed(1) : '–';
}

const ms = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);

// The state a model row shows, from the slot's state and the last list.
function modelState(m) {
  const loadingNow = view.state === 'loading' || view.state === 'warming';
  if (loadingNow && m.id === view.target) return view.state;
  if (view.state === 'failed' && m.id === view.target) return 'failed';
  if (m.id === view.loaded && view.state === 'ready') return 'ready';
  if (view.errors[m.id] && m.state !== 'ready') return 'failed';
  if (m.state === 'ready' || m.state === 'loading') return m.id === view.loaded ? m.state : 'unloaded';
  return m.state;
}

function render() {
  $('current').textContent = view.loaded || '–';
  const target = view.target && view.target !== view.loaded ? ` → ${view.target}` : '';
  $('state').textContent = view.state + target;
  $('state').dataset.state = view.state;
  const loading = view.state === 'loading';
  $('progress').hidden = !loading;
  $('progress').value = view.progress;
  const failed = view.state === 'failed' ? view.errors[view.target] : '';
  $('error').hidden = !failed;
  $('error').textContent = failed ? `${view.target}: ${failed}` : '';
  $('requests').textContent = view.requests;

  const rows = view.models.map((m) => {
    const st = modelState(m);
    let text = st;
    if (st === 'loading') text += ` ${Math.round(view.progress * 100)}%`;
    if (st === 'failed' && view.errors[m.id]) text += `: ${view.errors[m.id]}`;
    if (!m.file_exists) text += ' (file missing)';
    const tr = row([m.id, m.name, m.quant, m.ctx_size, m.parallel ?? '–', text]);
    tr.dataset.model = m.id;
    tr.lastChild.dataset.state = st;
    return tr;
  });
  $('models').tBodies[0].replaceChildren(...rows);

  const switches = view.switches.slice().reverse().map((s) => {
    const tr = row([`${s.from || '–'} → ${s.to}${s.standby ? ' (standby)' : ''}`,
      s.outcome + (s.error ? `: ${s.error}` : ''), ms(s.free_ms), ms(s.model_ms),
      ms(s.context_ms), ms(s.warmup_ms), ms(s.total_ms)]);
    tr.dataset.outcome = s.outcome;
    return tr;
  });
  $('switches').tBodies[0].replaceChildren(...switches);

  // A reply waiting for its model shows the switch as it happens.
  for (const el of document.querySelectorAll('.msg.assistant[data-state=waiting]')) {
    const switching = el.dataset.model === view.target && view.target !== view.loaded &&
        (view.state === 'loading' || view.state === 'warming');
    const pct = view.state === 'loading' ? ` ${Math.round(view.progress * 100)}%` : '';
    el.querySelector('.stats').textContent =
        switching ? `switching to ${view.target}: ${view.state}${pct}` : 'waiting…';
  }
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

function activity(kind, text, data) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  if (data.state) li.dataset.state = data.state;
  if (data.model) li.dataset.model = data.model;
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  const list = $('activity');
  list.append(li);
  while (list.children.length > MAX_ACTIVITY) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
}

function renderModelPicker() {
  const select = $('model');
  const chosen = select.value || view.loaded;
  select.replaceChildren(...view.models.map((m) => new Option(`${m.id} (${m.name})`, m.id)));
  if (view.models.some((m) => m.id === chosen)) select.value = chosen;
}

// ---- playground

function addMessage(role, text) {
  const el = document.createElement('div');
  el.className = `msg ${role}`;
  el.append(document.createTextNode(text));
  $('chat').append(el);
  $('chat').scrollTop = $('chat').scrollHeight;
  return el;
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
}

async function send() {
  const text = $('prompt').value.trim();
  if (!text || chatAbort) return;
  const model = $('model').value;
  const maxTokens = Number($('max-tokens').value) || 256;
  $('prompt').value = '';
  history.push({role: 'user', content: text});
  addMessage('user', text);
  const el = addMessage('assistant', '');
  el.dataset.model = model;
  el.dataset.state = 'waiting';
  el.dataset.chunks = '0';
  const out = el.firstChild;
  const stats = document.createElement('span');
  stats.className = 'stats';
  el.append(stats);
  render();  // shows "waiting…" or the switch it waits for

  const abort = new AbortController();
  chatAbort = abort;
  setBusy(true);
  const t0 = performance.now();
  let tFirst = 0;
  let tokens = 0;
  try {
    const res = await api('/v1/chat/completions', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({model, messages: history, max_tokens: maxTokens, stream: true,
        stream_options: {include_usage: true}}),
      signal: abort.signal,
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(body?.error?.message || `HTTP ${res.status}`);
    }
    el.dataset.state = 'streaming';
    await readSse(res, (type, data) => {
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        if (!tFirst) tFirst = performance.now();
        out.data += delta;
        el.dataset.chunks = String(Number(el.dataset.chunks) + 1);
        $('chat').scrollTop = $('chat').scrollHeight;
      }
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    });
    history.push({role: 'assistant', content: out.data});
    el.dataset.state = 'done';
  } catch (e) {
    if (abort.signal.aborted) {
      el.dataset.state = 'stopped';
    } else {
      el.dataset.state = 'error';
      el.classList.add('error');
      out.data += (out.data ? '\n' : '') + `error: ${e.message}`;
    }
    history.pop();  // the message without a full reply is not sent again
  } finally {
    chatAbort = null;
    setBusy(false);
  }
  // TTFT and tok/s as this browser saw them; tok/s needs the final usage.
  const tEnd = performance.now();
  const parts = [];
  if (tFirst) parts.push(`TTFT ${ms(tFirst - t0)}`);
  if (tokens > 1 && tEnd > tFirst) parts.push(`${((tokens - 1) / ((tEnd - tFirst) / 1000)).toFixed(1)} tok/s`);
  if (tokens) parts.push(`${tokens} tokens`);
  if (el.dataset.state === 'stopped') parts.push('stopped');
  stats.textContent = parts.join(' · ');
}

function stop() {
  if (chatAbort) chatAbort.abort();  // closes the connection: the server cancels
}

document.addEventListener('DOMContentLoaded', () => {
  $('send').addEventListener('click', send);
  $('stop').addEventListener('click', stop);
  $('clear').addEventListener('click', () => {
    history.length = 0;
    $('chat').replaceChildren();
  });
  $('key-save').addEventListener('click', saveKey);
  $('key').addEventListener('keydown', (e) => e.key === 'Enter' && saveKey());
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  document.addEventListener('keydown', (e) => e.key === 'Escape' && stop());
  connectEvents();
});
