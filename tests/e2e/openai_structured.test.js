// Structured output and tool calls through the official openai SDK against
// the real bin/modeld. The tiny model has random weights: only the grammar
// makes the replies valid, and the schemas are bounded (enums, integer
// ranges, maxLength) so that every reply completes within max_tokens.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import OpenAI from 'openai';

import {Modeld} from './lib/modeld.js';

const ask = [{role: 'user', content: 'Describe the weather.'}];

const weatherSchema = {
  type: 'object',
  properties: {
    city: {type: 'string', enum: ['Paris', 'Oslo', 'Lima']},
    celsius: {type: 'integer', minimum: -30, maximum: 45},
    note: {type: 'string', maxLength: 12},
  },
  required: ['city', 'celsius', 'note'],
  additionalProperties: false,
};

// The schema's rules, checked by hand (no validator package is pinned).
function assertWeather(v) {
  assert.equal(typeof v, 'object');
  assert.deepEqual(Object.keys(v).sort(), ['celsius', 'city', 'note']);
  assert.ok(['Paris', 'Oslo', 'Lima'].includes(v.city), v.city);
  assert.ok(Number.isInteger(v.celsius) && v.celsius >= -30 && v.celsius <= 45, String(v.celsius));
  assert.equal(typeof v.note, 'string');
  assert.ok([...v.note].length <= 12, v.note);
}

const weatherTool = {
  type: 'function',
  function: {name: 'get_weather', description: 'Current weather in a city', parameters: weatherSchema},
};
const otherTool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: {type: 'object', properties: {zone: {type: 'string', enum: ['utc', 'cet']}},
                 required: ['zone'], additionalProperties: false},
  },
};

describe('structured output and tools: openai SDK against modeld', () => {
  let server;
  let client;

  before(async () => {
    server = await Modeld.start();
    client = server.client();
  });

  after(async () => {
    await server.stopAndCheck();
  });

  test('response_format json_schema (strict) parses and validates, greedy and sampled', async () => {
    for (const [temperature, seed] of [[0, 1], [1, 7], [1, 8]]) {
      const r = await client.chat.completions.create({
        model: 'tiny', messages: ask, max_tokens: 200, temperature, seed,
        response_format: {type: 'json_schema', json_schema: {name: 'weather', strict: true, schema: weatherSchema}},
      });
      assert.equal(r.choices[0].finish_reason, 'stop');
      assertWeather(JSON.parse(r.choices[0].message.content));
    }
  });

  test('streamed json_schema output concatenates to valid JSON', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny', messages: ask, max_tokens: 200, temperature: 1, seed: 3, stream: true,
      response_format: {type: 'json_schema', json_schema: {name: 'weather', strict: true, schema: weatherSchema}},
    });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'stop');
    assertWeather(JSON.parse(text));
  });

  test('a reply cut by max_tokens ends with length', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', messages: ask, max_tokens: 3, temperature: 0,
      response_format: {type: 'json_schema', json_schema: {name: 'weather', schema: weatherSchema}},
    });
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 3);
  });

  test('an invalid schema is a 400 naming it, and no switch happens', async () => {
    await assert.rejects(
        client.chat.completions.create({
          model: 'tiny-b', messages: ask, max_tokens: 5,
          response_format: {type: 'json_schema', json_schema: {name: 'x', schema: {$ref: '#/definitions/missing'}}},
        }),
        (e) => e instanceof OpenAI.BadRequestError && e.code === 'invalid_request' &&
            /json_schema/.test(e.message));
    const ready = JSON.parse((await server.get('/readyz')).text);
    assert.equal(ready.model, 'tiny', 'the refused request did not switch');
  });

  test('a forced tool call comes back in tool_calls', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', messages: ask, max_tokens: 200, temperature: 0,
      tools: [weatherTool, otherTool],
      tool_choice: {type: 'function', function: {name: 'get_weather'}},
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.ok(choice.message.tool_calls.length >= 1);
    const ids = new Set();
    for (const call of choice.message.tool_calls) {  // parallel calls allowed: all the named one
      assert.match(call.id, /^call_/);
      ids.add(call.id);
      assert.equal(call.type, 'function');
      assert.equal(call.function.name, 'get_weather');
      assertWeather(JSON.parse(call.function.arguments));
    }
    assert.equal(ids.size, choice.message.tool_calls.length, 'ids are unique');
  });

  test('tool_choice required with parallel_tool_calls false makes exactly one call', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', messages: ask, max_tokens: 200, temperature: 1, seed: 5,
      tools: [weatherTool, otherTool], tool_choice: 'required', parallel_tool_calls: false,
    });
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    const calls = r.choices[0].message.tool_calls;
    assert.equal(calls.length, 1);
    assert.ok(['get_weather', 'get_time'].includes(calls[0].function.name));
    const args = JSON.parse(calls[0].function.arguments);
    if (calls[0].function.name === 'get_weather') assertWeather(args);
    else assert.ok(['utc', 'cet'].includes(args.zone));
  });

  test('a streamed forced tool call arrives as delta.tool_calls', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny', messages: ask, max_tokens: 200, temperature: 0, stream: true,
      tools: [weatherTool], tool_choice: {type: 'function', function: {name: 'get_weather'}},
      parallel_tool_calls: false,
    });
    const calls = [];
    let finish = null;
    let content = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta ?? {};
      content += delta.content ?? '';
      for (const tc of delta.tool_calls ?? []) {
        if (!calls[tc.index]) calls[tc.index] = {id: tc.id, type: tc.type, name: '', arguments: ''};
        calls[tc.index].name += tc.function?.name ?? '';
        calls[tc.index].arguments += tc.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(content, '');
    assert.equal(calls.length, 1);
    assert.match(calls[0].id, /^call_/);
    assert.equal(calls[0].type, 'function');
    assert.equal(calls[0].name, 'get_weather');
    assertWeather(JSON.parse(calls[0].arguments));
  });

  test('a conversation with tool calls and tool results is accepted', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', max_tokens: 8, temperature: 0,
      tools: [weatherTool],
      messages: [
        ...ask,
        {role: 'assistant', content: null, tool_calls: [{id: 'call_1', type: 'function',
          function: {name: 'get_weather', arguments: '{"city":"Oslo","celsius":3,"note":"snow"}'}}]},
        {role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}'},
      ],
      tool_choice: 'none',
    });
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
  });

  test('native /infer takes json_schema and grammar, and refuses a bad grammar', async () => {
    const post = async (body) => {
      const res = await fetch(server.baseURL + '/infer', {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({stream: false, temperature: 0, max_tokens: 100, ...body}),
      });
      return {status: res.status, body: await res.json()};
    };
    const s = await post({prompt: 'weather:', json_schema: weatherSchema});
    assert.equal(s.status, 200);
    assertWeather(JSON.parse(s.body.text));
    const g = await post({prompt: 'answer:', grammar: 'root ::= ("yes" | "no") "."'});
    assert.equal(g.status, 200);
    assert.ok(['yes.', 'no.'].includes(g.body.text), g.body.text);
    const bad = await post({prompt: 'x', grammar: 'answer ::= "yes"'});
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /grammar is invalid.*root/);
  });
});
