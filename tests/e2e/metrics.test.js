// GET /metrics, scraped from a fresh modeld, checked against the requests
// this file makes.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import OpenAI from 'openai';

import {metric, Modeld} from './lib/modeld.js';

let server;
before(async () => {
  server = await Modeld.start();
});
after(async () => {
  await server.stop();
});

test('/metrics counts what the clients did', async () => {
  const res = await server.get('/metrics');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  for (const family
           of ['modeld_requests_total counter', 'modeld_time_to_first_token_seconds histogram',
               'modeld_model_state gauge', 'modeld_decode_tokens_per_second gauge']) {
    assert.ok(res.text.includes(`# TYPE ${family}\n`), family);
  }

  const client = server.client();
  const messages = [{role: 'user', content: 'Count to three.'}];
  const usages = [];
  for (let i = 0; i < 2; i++) {
    const r = await client.chat.completions.create({model: 'tiny', messages, max_tokens: 5 + i});
    usages.push(r.usage);
  }
  const stream = await client.completions.create({
    model: 'tiny',
    prompt: 'The sky',
    max_tokens: 7,
    stream: true,
    stream_options: {include_usage: true},
  });
  for await (const c of stream)
    if (c.usage) usages.push(c.usage);
  assert.equal(usages.length, 3);
  await assert.rejects(
      client.chat.completions.create({model: 'tiny', messages, logprobs: true}),
      OpenAI.BadRequestError);
  assert.equal((await server.get('/nope')).status, 404);
  // The native API shares the same manager and counters.
  const infer = await fetch(`${server.baseURL}/infer`, {
    method: 'POST',
    // fetch() would send text/plain, which modeld refuses (browser CSRF).
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({prompt: 'Hi', max_tokens: 3, stream: false}),
  });
  assert.equal(infer.status, 200);
  usages.push((await infer.json()).usage);

  const chatOk = 'modeld_requests_total{route="/v1/chat/completions",status="200"}';
  const m = await server.waitForMetrics(
      (s) => metric(s, 'modeld_requests_total{route="/infer",status="200"}') === 1);
  assert.equal(metric(m, chatOk), 2);
  assert.equal(metric(m, 'modeld_requests_total{route="/v1/chat/completions",status="400"}'), 1);
  assert.equal(metric(m, 'modeld_requests_total{route="/v1/completions",status="200"}'), 1);
  assert.equal(metric(m, 'modeld_requests_total{route="other",status="404"}'), 1);
  // The first scrape above and every earlier poll of waitForMetrics; a
  // scrape is counted once its response is written, so not itself.
  assert.equal(metric(m, 'modeld_requests_total{route="/metrics",status="200"}'), server.scrapes);
  assert.equal(metric(m, 'modeld_requests_total{route="/infer",status="200"}'), 1);

  const sum = (k) => usages.reduce((a, u) => a + u[k], 0);
  assert.equal(metric(m, 'modeld_prompt_tokens_total{model="tiny"}'), sum('prompt_tokens'));
  assert.equal(metric(m, 'modeld_generated_tokens_total{model="tiny"}'), sum('completion_tokens'));
  assert.equal(metric(m, 'modeld_time_to_first_token_seconds_count{model="tiny"}'), 4);
  assert.equal(metric(m, 'modeld_time_to_first_token_seconds_bucket{model="tiny",le="+Inf"}'), 4);
  assert.ok(metric(m, 'modeld_time_to_first_token_seconds_sum{model="tiny"}') > 0);
  assert.ok(metric(m, 'modeld_decode_tokens_per_second{model="tiny"}') > 0);

  assert.equal(metric(m, 'modeld_model_info{model="tiny"}'), 1);
  assert.equal(metric(m, 'modeld_model_state{state="ready"}'), 1);
  assert.equal(metric(m, 'modeld_model_state{state="loading"}'), 0);
  assert.equal(metric(m, 'modeld_switches_total{outcome="ok"}'), 1, 'the startup load');
  assert.equal(metric(m, 'modeld_load_duration_seconds_count{model="tiny"}'), 1);
  assert.equal(metric(m, 'modeld_switch_duration_seconds_count{model="tiny"}'), 1);
  assert.ok(
      metric(m, 'modeld_switch_duration_seconds_sum{model="tiny"}') >=
      metric(m, 'modeld_load_duration_seconds_sum{model="tiny"}'));
  assert.equal(metric(m, 'modeld_queue_depth'), 0);
  assert.equal(metric(m, 'modeld_inflight_requests'), 0);
  for (const reason of ['switch', 'disconnect', 'shutdown']) {
    assert.equal(metric(m, `modeld_cancellations_total{reason="${reason}"}`), 0, reason);
  }
});
