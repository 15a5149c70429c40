// Embeddings through the official openai SDK and LangChain's OpenAIEmbeddings
// against the real bin/modeld (issue 15, requirements 5 and 6).
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {OpenAIEmbeddings} from '@langchain/openai';

import {Modeld} from './lib/modeld.js';

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));

describe('embeddings against modeld', () => {
  let server;
  let client;

  before(async () => {
    server = await Modeld.start({models: [{id: 'embed', file: 'embed.gguf'}]});
    client = server.client();
  });

  after(async () => {
    await server.stopAndCheck();
  });

  test('openai SDK: float vectors, normalized, with usage; the request switches models', async () => {
    const r = await client.embeddings.create({
      model: 'embed',
      input: ['hello world', 'the quick brown fox'],
      encoding_format: 'float',
    });
    assert.equal(r.object, 'list');
    assert.equal(r.model, 'embed');
    assert.equal(r.data.length, 2);
    r.data.forEach((d, i) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.ok(Array.isArray(d.embedding) && d.embedding.length > 8);
      assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-4, `norm ${norm(d.embedding)}`);
    });
    assert.ok(r.usage.prompt_tokens > 2);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens);
    // tiny was loaded; embed is loaded now.
    await server.waitReady('embed', 20000);
  });

  test('openai SDK: base64 (its default) decodes to the same vectors', async () => {
    const input = 'the same text twice';
    const floats = await client.embeddings.create({model: 'embed', input, encoding_format: 'float'});
    // Without encoding_format the SDK asks for base64 and decodes it.
    const decoded = await client.embeddings.create({model: 'embed', input});
    // JSON numbers are the shortest text of each float32: round them back.
    const asF32 = Array.from(Float32Array.from(floats.data[0].embedding));
    assert.equal(decoded.data.length, 1);
    assert.deepEqual(Array.from(decoded.data[0].embedding), asF32);
    const raw = await client.embeddings.create({model: 'embed', input, encoding_format: 'base64'});
    assert.equal(typeof raw.data[0].embedding, 'string');
    const bytes = Buffer.from(raw.data[0].embedding, 'base64');
    const view = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    assert.deepEqual(Array.from(view), asF32);
  });

  test('openai SDK: a bad request is a 400 with the OpenAI error shape', async () => {
    await assert.rejects(
        client.embeddings.create({model: 'embed', input: ''}),
        (e) => e.status === 400 && /empty/.test(e.message));
    await assert.rejects(
        client.embeddings.create({model: 'embed', input: 'x', dimensions: 8}),
        (e) => e.status === 400 && /dimensions/.test(e.message));
  });

  test('LangChain OpenAIEmbeddings: embedQuery and embedDocuments', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'embed',
      apiKey: 'unused',
      maxRetries: 0,
      configuration: {baseURL: `${server.baseURL}/v1`},
    });
    const query = await embeddings.embedQuery('what does the fox do');
    assert.ok(query.length > 8);
    assert.ok(Math.abs(norm(query) - 1) < 1e-4);
    const docs = await embeddings.embedDocuments(['the fox jumps', 'what does the fox do', 'zebra']);
    assert.equal(docs.length, 3);
    for (const d of docs) assert.equal(d.length, query.length);
    // The same text embeds the same, whether as a query or a document.
    assert.ok(cosine(docs[1], query) > 0.99999);
    assert.ok(cosine(docs[0], docs[2]) < 0.99999);
  });
});
