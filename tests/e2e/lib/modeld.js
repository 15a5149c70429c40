// Starts the real bin/modeld for a test file and talks to it over HTTP.
// MODELD_BIN and MODELD_MODELS_DIR come from CTest (tests/CMakeLists.txt);
// the defaults fit a checkout where `make` and `scripts/models.sh test` ran.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';

const repo = resolve(import.meta.dirname, '..', '..', '..');
export const modeldBin = process.env.MODELD_BIN || join(repo, 'bin', 'modeld');
export const modelsDir = process.env.MODELD_MODELS_DIR || join(repo, 'models');

// The registry every test server uses: two tiny models, tiny loaded at start,
// then `extra` ({id, file} entries, e.g. the embedding model).
function configYaml(extra = []) {
  const entry = (id, file) => `  - id: ${id}
    name: "${id} (e2e)"
    path: ${join(modelsDir, file)}
    quant: f16
    family: llama
    ctx_size: 4096
`;
  const more = extra.map((m) => entry(m.id, m.file)).join('');
  return `default_model: tiny\nmodels:\n${entry('tiny', 'tiny.gguf')}${entry('tiny-b', 'tiny-b.gguf')}${more}`;
}

export class Modeld {
  // Spawns modeld on an ephemeral port and waits until it is ready on tiny.
  // `args`: more command-line flags, e.g. ['--api-key-file', file].
  // `models`: more registry entries, {id, file} with file in models/.
  static async start({args = [], models = []} = {}) {
    for (const f of ['tiny.gguf', 'tiny-b.gguf', ...models.map((m) => m.file)]) {
      if (!existsSync(join(modelsDir, f))) {
        throw new Error(`${join(modelsDir, f)} is missing: run scripts/models.sh test`);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'modeld-e2e-'));
    const config = join(dir, 'models.yaml');
    writeFileSync(config, configYaml(models));
    const child = spawn(modeldBin, ['--config', config, '--host', '127.0.0.1', '--port', '0', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // One llama.cpp thread: the tiny models gain nothing from more, and a busy
      // CI machine makes spinning threads slow each other down.
      env: { ...process.env, MODELD_THREADS: '1' },
    });
    const server = new Modeld(child, dir);
    server.port = await server.#waitForPort(15000);
    server.baseURL = `http://127.0.0.1:${server.port}`;
    await server.waitReady('tiny', 20000);
    return server;
  }

  constructor(child, dir) {
    this.child = child;
    this.dir = dir;
    this.logs = [];  // parsed stderr lines
    this.scrapes = 0;  // GET /metrics made through metrics()
    this.exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    createInterface({ input: child.stderr }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line));
      } catch {
        this.logs.push({ unparsable: line });
      }
    });
  }

  async #waitForPort(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.logs.find((l) => l.msg === 'listening' && Number.isInteger(l.port));
      if (line) return line.port;
      if (this.child.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`modeld did not log "listening": ${JSON.stringify(this.logs)}`);
  }

  // An SDK client for this server; no retries, so every call is one request.
  client(options = {}) {
    return new OpenAI({ baseURL: `${this.baseURL}/v1`, apiKey: 'unused', maxRetries: 0, ...options });
  }

  async get(path) {
    const res = await fetch(this.baseURL + path);
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async waitReady(model, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      last = await this.get('/readyz');
      if (last.status === 200 && JSON.parse(last.text).model === model) return;
      await sleep(25);
    }
    throw new Error(`modeld not ready on ${model}: ${last && last.text}`);
  }

  // Samples of GET /metrics as {'name{labels}': value}.
  async metrics() {
    this.scrapes++;
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return parseMetrics(res.text);
  }

  // Polls /metrics until `check(samples)` is true (a request is counted when
  // its response is done, which can trail the client's last byte slightly).
  // A series that `check` reads with metric() and that does not exist yet
  // counts as "not yet". After the timeout it returns the last samples, so
  // the caller's assertions (and metric()) report what is wrong.
  async waitForMetrics(check, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    let samples;
    do {
      samples = await this.metrics();
      try {
        if (check(samples)) return samples;
      } catch (e) {
        if (!(e instanceof MissingMetricError)) throw e;
      }
      await sleep(25);
    } while (Date.now() < deadline);
    return samples;
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const result = await Promise.race([this.exited, sleep(8000).then(() => null)]);
    if (result === null) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    return result;
  }

  // stop(), then what every suite expects of a clean stop: exit 0 on
  // SIGTERM, and only JSON lines on stderr.
  async stopAndCheck() {
    const exit = await this.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, 'modeld exits 0 on SIGTERM');
    const bad = this.logs.filter((l) => l.unparsable !== undefined);
    assert.deepEqual(bad, [], 'every stderr line is JSON');
  }
}

// Parses Prometheus text format 0.0.4 samples; comments are skipped.
export function parseMetrics(text) {
  const samples = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = line.slice(space + 1);
    samples[line.slice(0, space)] = value === '+Inf' ? Infinity : Number(value);
  }
  return samples;
}

// Thrown by metric() for a series that /metrics does not have.
export class MissingMetricError extends Error {}

// A sample's value. A series that is not there throws MissingMetricError,
// naming the series and listing those of its family that are present (or the
// families present, when the family is missing altogether): a missing series
// must fail the test, never read as 0.
export function metric(samples, key) {
  if (Object.hasOwn(samples, key)) return samples[key];
  const family = (k) => k.split('{')[0].replace(/_(bucket|sum|count)$/, '');
  const keys = Object.keys(samples);
  const same = keys.filter((k) => family(k) === family(key));
  const present = same.length > 0 ?
      `present in ${family(key)}: ${same.join(', ')}` :
      `family ${family(key)} has no series; families present: ${[...new Set(keys.map(family))].join(', ')}`;
  throw new MissingMetricError(`/metrics has no series ${key} (${present})`);
}

// metric(), or 0 when the series does not exist. Only for a counter read
// before the event that creates its series (e.g. the first 499), where
// "absent" legitimately means "never happened yet"; never for the value a
// test asserts after the event.
export function metricOr0(samples, key) {
  return Object.hasOwn(samples, key) ? samples[key] : 0;
}
