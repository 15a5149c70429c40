#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "internal/httpapi/handler_slot.h"
#include "internal/httpapi/native_format.h"
#include "internal/llm/stop_matcher.h"
#include "internal/llm/utf8_stream.h"
#include "internal/manager/request.h"

namespace modeld::bench {

// The work modeld does per streamed token outside llama.cpp, wired the way
// the service wires it, minus the socket:
//   worker side (LlamaModel::TokenLoop): UTF-8 hold-back, stop matching, the
//     TextSink::Wants() check and Request::Deliver, whose notify posts one
//     handler to the io thread from a HandlerSlot (as InferExchange does);
//   io side (InferExchange::Pump): Request::Take, NativeFormat::AppendText,
//     HTTP/1.1 chunk framing into the write buffer, and, once the write has
//     completed, the second Take that parks the consumer again.
// Buffers get the capacities the real code reserves. The chunk framing is a
// copy of InferExchange::AppendFramed, which is private there.
// Thread-safety: single-threaded; the io_context is polled inline.
class ServingPath {
 public:
  ServingPath(httpapi::NativeFormat::Kind kind, const std::vector<std::string>& stops);
  ~ServingPath();
  ServingPath(const ServingPath&) = delete;
  ServingPath& operator=(const ServingPath&) = delete;

  // The worker produced one token piece. Returns true when a batch was
  // handed to the request (the consumer was idle).
  bool Produce(std::string_view piece);
  // Runs the io side for what was posted; returns the bytes of the write.
  size_t Consume();

  uint64_t events() const { return events_; }
  uint64_t bytes() const { return bytes_; }

 private:
  struct PumpHandler;
  void Pump();

  boost::asio::io_context io_{1};
  httpapi::HandlerSlot slot_;
  std::shared_ptr<manager::Request> request_;
  httpapi::NativeFormat format_;
  llm::Utf8Stream utf8_;
  llm::StopMatcher matcher_;

  // Worker side, as in LlamaModel.
  std::string piece_text_;
  std::string pending_;
  // io side, as in InferExchange.
  std::string text_;
  std::string body_;
  std::string out_;

  size_t written_ = 0;
  uint64_t events_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace modeld::bench
