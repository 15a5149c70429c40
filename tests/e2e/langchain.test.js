// LangChain's ChatOpenAI (@langchain/openai) against the real bin/modeld:
// structured output by all three methods, and a forced tool call. The tiny
// model has random weights, so only the grammar makes these valid; the
// schemas are bounded so that every reply completes within maxTokens.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {ChatOpenAI} from '@langchain/openai';

import {Modeld} from './lib/modeld.js';

const person = {
  title: 'person',
  description: 'A person',
  type: 'object',
  properties: {
    name: {type: 'string', enum: ['Ada', 'Alan', 'Grace']},
    age: {type: 'integer', minimum: 0, maximum: 120},
  },
  required: ['name', 'age'],
  additionalProperties: false,
};

function assertPerson(v) {
  assert.equal(typeof v, 'object', JSON.stringify(v));
  assert.deepEqual(Object.keys(v).sort(), ['age', 'name']);
  assert.ok(['Ada', 'Alan', 'Grace'].includes(v.name), v.name);
  assert.ok(Number.isInteger(v.age) && v.age >= 0 && v.age <= 120, String(v.age));
}

describe('LangChain ChatOpenAI against modeld', () => {
  let server;
  let chat;

  before(async () => {
    server = await Modeld.start();
    chat = new ChatOpenAI({
      model: 'tiny',
      apiKey: 'unused',
      configuration: {baseURL: `${server.baseURL}/v1`},
      temperature: 0,
      maxTokens: 120,
      maxRetries: 0,
    });
  });

  after(async () => {
    await server.stopAndCheck();
  });

  test('withStructuredOutput jsonSchema returns an object valid against the schema', async () => {
    const out = await chat.withStructuredOutput(person, {method: 'jsonSchema', strict: true})
        .invoke('Name a computer scientist.');
    assertPerson(out);
  });

  test('withStructuredOutput functionCalling returns the forced call\'s arguments', async () => {
    const out = await chat.withStructuredOutput(person, {method: 'functionCalling'})
        .invoke('Name a computer scientist.');
    assertPerson(out);
  });

  test('withStructuredOutput jsonMode returns a JSON object', async () => {
    const out = await chat.withStructuredOutput(person, {method: 'jsonMode'})
        .invoke('Name a computer scientist as JSON.');
    assert.equal(typeof out, 'object');
    assert.ok(out !== null && !Array.isArray(out), JSON.stringify(out));
  });

  test('bindTools with a forced tool_choice gives tool_calls, invoked and streamed', async () => {
    const tool = {
      type: 'function',
      function: {name: 'lookup_person', description: 'Looks a person up', parameters: person},
    };
    // One call: random weights could otherwise go on adding parallel calls
    // until maxTokens.
    const bound = chat.bindTools([tool], {tool_choice: 'lookup_person', parallel_tool_calls: false});
    const msg = await bound.invoke('Who wrote the first program?');
    assert.equal(msg.tool_calls.length, 1);
    assert.equal(msg.tool_calls[0].name, 'lookup_person');
    assert.match(msg.tool_calls[0].id, /^call_/);
    assertPerson(msg.tool_calls[0].args);
    assert.equal(msg.response_metadata.finish_reason, 'tool_calls');

    let merged;
    for await (const chunk of await bound.stream('Who wrote the first program?')) {
      merged = merged === undefined ? chunk : merged.concat(chunk);
    }
    assert.equal(merged.tool_calls.length, 1);
    assert.equal(merged.tool_calls[0].name, 'lookup_person');
    assertPerson(merged.tool_calls[0].args);
  });
});
