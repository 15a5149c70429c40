// The official openai SDK against modeld with API keys: its apiKey option is
// the Bearer token modeld checks.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, test} from 'node:test';
import OpenAI from 'openai';

import {Modeld} from './lib/modeld.js';

let server;
let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modeld-e2e-keys-'));
  const keys = join(dir, 'keys.txt');
  writeFileSync(keys, '# e2e\nsk-e2e-key\n');
  server = await Modeld.start({args: ['--api-key-file', keys]});
});
after(async () => {
  await server.stop();
  rmSync(dir, {recursive: true, force: true});
});

test('the right apiKey is served', async () => {
  const client = server.client({apiKey: 'sk-e2e-key'});
  const r = await client.chat.completions.create(
      {model: 'tiny', messages: [{role: 'user', content: 'Hi'}], max_tokens: 3});
  assert.equal(r.object, 'chat.completion');
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['tiny', 'tiny-b']);
});

test('a wrong apiKey is an AuthenticationError with the OpenAI error shape', async () => {
  const client = server.client({apiKey: 'sk-wrong'});
  await assert.rejects(
      client.chat.completions.create(
          {model: 'tiny', messages: [{role: 'user', content: 'Hi'}], max_tokens: 3}),
      (e) => {
        assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
        assert.equal(e.status, 401);
        assert.equal(e.code, 'invalid_api_key');
        assert.equal(e.type, 'invalid_request_error');
        assert.equal(e.headers.get('www-authenticate'), 'Bearer');
        return true;
      });
});

test('probes need no key', async () => {
  assert.equal((await server.get('/healthz')).status, 200);
  assert.equal((await server.get('/readyz')).status, 200);
  assert.equal((await server.get('/metrics')).status, 401);
});
