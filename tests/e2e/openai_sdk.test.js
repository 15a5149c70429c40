// The official openai SDK against the real bin/modeld.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import OpenAI from 'openai';

import {metric, metricOr0, Modeld} from './lib/modeld.js';

const hello = [
  {role: 'system', content: 'You are terse.'},
  {role: 'user', content: 'Say hello.'},
];

describe('openai SDK against modeld', () => {
  let server;
  let client;

  before(async () => {
    server = await Modeld.start();
    client = server.client();
  });

  after(async () => {
    await server.stopAndCheck();
  });

  test('models.list names every registry model', async () => {
    const ids = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, 'model');
      assert.equal(m.owned_by, 'modeld');
      assert.equal(typeof m.created, 'number');
      ids.push(m.id);
    }
    assert.deepEqual(ids, ['tiny', 'tiny-b']);
    const one = await client.models.retrieve('tiny-b');
    assert.equal(one.id, 'tiny-b');
  });

  test('non-streamed chat returns a message and usage', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny',
      messages: hello,
      max_tokens: 12,
      temperature: 0,
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, 'tiny');
    assert.equal(r.choices.length, 1);
    const [choice] = r.choices;
    assert.equal(choice.message.role, 'assistant');
    assert.equal(typeof choice.message.content, 'string');
    assert.ok(['stop', 'length'].includes(choice.finish_reason), choice.finish_reason);
    assert.ok(r.usage.prompt_tokens > 5, 'the template wraps the messages');
    assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    if (choice.finish_reason === 'length') assert.equal(r.usage.completion_tokens, 12);
  });

  test(
      'streamed chat: role first, deltas, finish_reason, usage; same text as non-streamed',
      async () => {
        const params = {model: 'tiny', messages: hello, max_tokens: 24, temperature: 0};
        const whole = await client.chat.completions.create(params);
        const stream = await client.chat.completions.create({
          ...params,
          stream: true,
          stream_options: {include_usage: true},
        });
        const chunks = [];
        for await (const chunk of stream) chunks.push(chunk);
        assert.ok(chunks.length >= 3, `got ${chunks.length} chunks`);
        const id = chunks[0].id;
        for (const c of chunks) {
          assert.equal(c.object, 'chat.completion.chunk');
          assert.equal(c.id, id);
          assert.equal(c.model, 'tiny');
        }
        assert.equal(chunks[0].choices[0].delta.role, 'assistant');
        const usageChunk = chunks.at(-1);
        assert.deepEqual(usageChunk.choices, []);
        const finishChunk = chunks.at(-2);
        assert.equal(finishChunk.choices[0].finish_reason, whole.choices[0].finish_reason);
        const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
        assert.equal(
            text, whole.choices[0].message.content, 'greedy: streamed text equals non-streamed');
        assert.deepEqual(usageChunk.usage, whole.usage);
      });

  test('completion, streamed and not', async () => {
    const params = {model: 'tiny', prompt: 'Once upon a time', max_tokens: 6, temperature: 0};
    const r = await client.completions.create(params);
    assert.equal(r.object, 'text_completion');
    assert.match(r.id, /^cmpl-/);
    assert.equal(typeof r.choices[0].text, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 6);
    let text = '';
    let finish = null;
    for await (const c of await client.completions.create({...params, stream: true})) {
      assert.equal(c.object, 'text_completion');
      text += c.choices[0].text;
      finish = c.choices[0].finish_reason ?? finish;
    }
    assert.equal(text, r.choices[0].text);
    assert.equal(finish, r.choices[0].finish_reason);
  });

  test('naming another model switches between two calls', async () => {
    const before = await server.metrics();
    const a = await client.chat.completions.create({model: 'tiny', messages: hello, max_tokens: 4});
    assert.equal(a.model, 'tiny');
    const b =
        await client.chat.completions.create({model: 'tiny-b', messages: hello, max_tokens: 4});
    assert.equal(b.model, 'tiny-b');
    const ready = JSON.parse((await server.get('/readyz')).text);
    assert.deepEqual(ready, {status: 'ready', model: 'tiny-b'});
    // Without `model`, the current model answers.
    const c = await client.completions.create({prompt: 'Hi', max_tokens: 2});
    assert.equal(c.model, 'tiny-b');
    const m = await server.metrics();
    assert.equal(metric(m, 'modeld_model_info{model="tiny-b"}'), 1);
    assert.equal(metric(m, 'modeld_model_state{state="ready"}'), 1);
    assert.equal(
        metric(m, 'modeld_switches_total{outcome="ok"}'),
        metric(before, 'modeld_switches_total{outcome="ok"}') + 1);
    assert.equal(metric(m, 'modeld_load_duration_seconds_count{model="tiny-b"}'), 1);
    // Back to tiny for the tests that follow.
    await client.completions.create({model: 'tiny', prompt: 'Hi', max_tokens: 1});
  });

  test('bad requests raise the SDK error types', async () => {
    await assert.rejects(
        client.chat.completions.create({model: 'tiny', messages: hello, n: 2}), (e) => {
          assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
          assert.equal(e.status, 400);
          assert.equal(e.code, 'unsupported_parameter');
          assert.match(e.message, /'n'/);
          return true;
        });
    await assert.rejects(
        client.chat.completions.create(
            {model: 'tiny', messages: [{role: 'user', content: 'x'}], temperature: 7}),
        (e) => e instanceof OpenAI.BadRequestError && e.code === 'invalid_request' &&
            /'temperature'/.test(e.message));
    await assert.rejects(
        client.chat.completions.create(
            {model: 'tiny', messages: hello, tools: [{type: 'function', function: {name: 'f'}}],
             tool_choice: {type: 'function', function: {name: 'g'}}}),
        (e) => e instanceof OpenAI.BadRequestError && e.code === 'invalid_request' &&
            /'tool_choice'/.test(e.message));
    await assert.rejects(
        client.completions.create({model: 'no-such-model', prompt: 'x'}),
        (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' &&
            /tiny, tiny-b/.test(e.message));
  });

  test('a switch cancels a running stream with an error event', async () => {
    const before = await server.metrics();
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages: hello,
      max_tokens: 3000,
      stream: true,
      temperature: 0.8,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    const other = client.completions.create({model: 'tiny-b', prompt: 'Hi', max_tokens: 2});
    await assert.rejects(
        (async () => {
          for (let r = await iterator.next(); !r.done; r = await iterator.next())
            ;
        })(),
        (e) => {
          assert.ok(e instanceof OpenAI.APIError, e.constructor.name);
          assert.equal(e.code, 'cancelled');
          assert.match(e.message, /tiny-b/);
          return true;
        });
    assert.equal((await other).model, 'tiny-b');
    const m = await server.metrics();
    assert.equal(
        metric(m, 'modeld_cancellations_total{reason="switch"}'),
        metric(before, 'modeld_cancellations_total{reason="switch"}') + 1);
    await client.completions.create({model: 'tiny', prompt: 'Hi', max_tokens: 1});
  });

  test('AbortController mid-stream cancels the generation (metrics show it)', async () => {
    const before = await server.metrics();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
        {model: 'tiny', messages: hello, max_tokens: 3000, stream: true, temperature: 0.8},
        {signal: controller.signal});
    let chunks = 0;
    try {
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        if (++chunks === 2) controller.abort();
      }
    } catch (e) {
      assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', String(e));
    }
    // Chunks already in the client's buffer may still be yielded; what counts
    // is that the server stops generating.
    assert.ok(chunks >= 2, `got ${chunks} chunks`);
    const key = 'modeld_cancellations_total{reason="disconnect"}';
    const cut = 'modeld_requests_total{route="/v1/chat/completions",status="499"}';
    // The worker counts the cancel and the io thread counts the 499, each
    // when it gets there: wait for both. `before` may have no 499 series
    // yet (no request had been cut off).
    const m = await server.waitForMetrics(
        (s) => metric(s, key) > metric(before, key) && metric(s, 'modeld_inflight_requests') === 0 &&
            metricOr0(s, cut) > metricOr0(before, cut));
    assert.equal(metric(m, key), metric(before, key) + 1);
    assert.equal(metric(m, 'modeld_inflight_requests'), 0);
    assert.equal(metric(m, cut), metricOr0(before, cut) + 1);
    // The server is fine afterwards.
    const r = await client.completions.create({model: 'tiny', prompt: 'Hi', max_tokens: 2});
    assert.ok(r.usage.completion_tokens >= 1);
  });
});
