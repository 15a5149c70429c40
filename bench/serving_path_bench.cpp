// modeld-serving-path-bench: heap allocations (counted, not timed) and CPU
// cost of the per-token work modeld does outside llama.cpp on the streaming
// path. See serving_path.h for what one token goes through.
//
//   modeld-serving-path-bench [--benchmark_format=json ...]
//       Google Benchmark; counters allocs_per_token and allocs_per_event are
//       measured in steady state (after a warm-up), target 0.
//   valgrind --tool=callgrind --instr-atstart=no
//       modeld-serving-path-bench --callgrind-events=N [--batch=K]
//       Streams N events of K tokens with callgrind instrumentation on only
//       around them; instructions per SSE event = Ir / N.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/counting_alloc.h"
#include "bench/serving_path.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

namespace modeld::bench {
namespace {

using Kind = httpapi::NativeFormat::Kind;

// Pieces shaped like the generated models' tokens, with a quote, a newline
// and a multi-byte character split over two pieces, so escaping and UTF-8
// hold-back are on the path.
constexpr std::array<std::string_view, 8> kPieces = {" barcaind", " bandsor", "dol",  " \"quoted\"",
                                                     "\n",        " caf\xC3", "\xA9", " balour"};

constexpr int kWarmupTokens = 4096;

// Produces `tokens` pieces (continuing at piece `next`) and lets the io side
// run after every `batch` of them: batch 1 is the fast client that takes each
// token as its own event, larger batches a client that is still writing.
void Stream(ServingPath& path, size_t& next, size_t tokens, size_t batch) {
  for (size_t i = 0; i < tokens; ++i, ++next) {
    path.Produce(kPieces[next % kPieces.size()]);
    if ((i + 1) % batch == 0) benchmark::DoNotOptimize(path.Consume());
  }
}

void RunPath(benchmark::State& state, Kind kind, const std::vector<std::string>& stops) {
  const auto batch = static_cast<size_t>(state.range(0));
  ServingPath path(kind, stops);
  size_t next = 0;
  Stream(path, next, kWarmupTokens, batch);  // reach steady state: buffers sized
  const uint64_t events0 = path.events(), bytes0 = path.bytes();
  uint64_t tokens = 0, counted = 0;
  for (auto _ : state) {
    // Counted around our code only, not the benchmark loop's own bookkeeping.
    const uint64_t a0 = CurrentAllocs().allocs;
    Stream(path, next, batch, batch);
    counted += CurrentAllocs().allocs - a0;
    tokens += batch;
  }
  const double events = static_cast<double>(path.events() - events0);
  const double allocs = static_cast<double>(counted);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["events"] = events;
  state.counters["allocs"] = allocs;
  state.counters["allocs_per_token"] = tokens ? allocs / static_cast<double>(tokens) : 0;
  state.counters["allocs_per_event"] = events > 0 ? allocs / events : 0;
  state.counters["wire_bytes_per_event"] =
      events > 0 ? static_cast<double>(path.bytes() - bytes0) / events : 0;
  state.SetItemsProcessed(static_cast<int64_t>(tokens));
}

void BM_SsePerToken(benchmark::State& state) { RunPath(state, Kind::kSse, {}); }
void BM_NdjsonPerToken(benchmark::State& state) { RunPath(state, Kind::kNdjson, {}); }
void BM_SseWithStops(benchmark::State& state) { RunPath(state, Kind::kSse, {"</s>", "\n\nUser:"}); }

// N sequences streaming at once, as the serving engine runs them: each step
// gives every sequence one token, then every client takes its event. The
// per-token cost per sequence must stay that of one stream (0 allocations).
void BM_SseSequences(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<std::unique_ptr<ServingPath>> paths;
  for (size_t i = 0; i < n; ++i)
    paths.push_back(std::make_unique<ServingPath>(Kind::kSse, std::vector<std::string>{}));
  std::vector<size_t> next(n, 0);
  for (size_t i = 0; i < n; ++i) Stream(*paths[i], next[i], kWarmupTokens, 1);
  uint64_t tokens = 0, counted = 0;
  for (auto _ : state) {
    const uint64_t a0 = CurrentAllocs().allocs;
    for (size_t i = 0; i < n; ++i) paths[i]->Produce(kPieces[next[i]++ % kPieces.size()]);
    for (size_t i = 0; i < n; ++i) benchmark::DoNotOptimize(paths[i]->Consume());
    counted += CurrentAllocs().allocs - a0;
    tokens += n;
  }
  state.counters["sequences"] = static_cast<double>(n);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["allocs"] = static_cast<double>(counted);
  state.counters["allocs_per_token"] =
      tokens ? static_cast<double>(counted) / static_cast<double>(tokens) : 0;
  state.SetItemsProcessed(static_cast<int64_t>(tokens));
}

// Proves the counting allocator sees allocations: exactly 1 per iteration.
void BM_CountingAllocatorCheck(benchmark::State& state) {
  uint64_t counted = 0, iterations = 0;
  for (auto _ : state) {
    const uint64_t a0 = CurrentAllocs().allocs;
    auto p = std::make_unique<int>(1);
    benchmark::DoNotOptimize(p.get());
    p.reset();
    counted += CurrentAllocs().allocs - a0;
    ++iterations;
  }
  state.counters["allocs_per_iteration"] =
      iterations ? static_cast<double>(counted) / static_cast<double>(iterations) : 0;
}
BENCHMARK(BM_CountingAllocatorCheck);

// Batch size 1: every token is its own event; 8 and 64: a slower client.
BENCHMARK(BM_SsePerToken)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK(BM_NdjsonPerToken)->Arg(1)->Arg(8);
BENCHMARK(BM_SseWithStops)->Arg(1);
BENCHMARK(BM_SseSequences)->Arg(4)->Arg(8);

// Streams `events` events of `batch` tokens with callgrind counting only them.
int CallgrindEvents(long events, long batch) {
  ServingPath path(Kind::kSse, {});
  size_t next = 0;
  Stream(path, next, kWarmupTokens, static_cast<size_t>(batch));
  const uint64_t e0 = path.events();
  const AllocCounts a0 = CurrentAllocs();
  CALLGRIND_START_INSTRUMENTATION;
  Stream(path, next, static_cast<size_t>(events * batch), static_cast<size_t>(batch));
  CALLGRIND_STOP_INSTRUMENTATION;
  const AllocCounts a1 = CurrentAllocs();
  std::printf("{\"events\":%llu,\"tokens\":%ld,\"allocs\":%llu}\n",
              static_cast<unsigned long long>(path.events() - e0), events * batch,
              static_cast<unsigned long long>(a1.allocs - a0.allocs));
  return 0;
}

bool OptionValue(const char* arg, const char* name, long& out) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0) return false;
  out = std::strtol(arg + n, nullptr, 10);
  return true;
}

}  // namespace
}  // namespace modeld::bench

int main(int argc, char** argv) {
  long events = 0, batch = 1;
  for (int i = 1; i < argc; ++i) {
    modeld::bench::OptionValue(argv[i], "--callgrind-events=", events);
    modeld::bench::OptionValue(argv[i], "--batch=", batch);
  }
  if (events > 0) return modeld::bench::CallgrindEvents(events, batch < 1 ? 1 : batch);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
