#include "bench/serving_path.h"

#include <charconv>
#include <utility>

#include <boost/asio/post.hpp>

namespace modeld::bench {

// Like InferExchange::PumpHandler: its memory comes from the slot.
struct ServingPath::PumpHandler {
  ServingPath* self;
  using allocator_type = httpapi::SlotAllocator<void>;
  allocator_type get_allocator() const noexcept { return allocator_type(&self->slot_); }
  void operator()() { self->Pump(); }
};

ServingPath::ServingPath(httpapi::NativeFormat::Kind kind, const std::vector<std::string>& stops)
    : request_(std::make_shared<manager::Request>("bench", llm::GenerateParams{})),
      format_(kind),
      matcher_(stops) {
  piece_text_.reserve(1024);
  pending_.reserve(size_t{16} * 1024);
  text_.reserve(4096);
  body_.reserve(8192);
  out_.reserve(8192);
  request_->SetNotify([this] { boost::asio::post(io_, PumpHandler{this}); });
  // As InferExchange::Start: the first pump reports the start (the headers
  // would go out here, once per request) and parks the consumer.
  request_->Started();
  Pump();
  events_ = bytes_ = 0;
}

ServingPath::~ServingPath() { request_->SetNotify(nullptr); }

bool ServingPath::Produce(std::string_view piece) {
  piece_text_.clear();
  utf8_.Push(piece, piece_text_);
  matcher_.Push(piece_text_, pending_);
  if (pending_.empty() || !request_->Wants()) return false;
  request_->Deliver(pending_);
  pending_.clear();
  return true;
}

size_t ServingPath::Consume() {
  written_ = 0;
  io_.poll();
  io_.restart();
  return written_;
}

void ServingPath::Pump() {
  out_.clear();
  const manager::Request::Update u = request_->Take(text_);
  if (!text_.empty()) {
    body_.clear();
    format_.AppendText(body_, text_);
    char hex[16];
    auto [end, ec] = std::to_chars(hex, hex + sizeof(hex), body_.size(), 16);
    out_.append(hex, end).append("\r\n").append(body_).append("\r\n");
    text_.clear();
    ++events_;
  }
  written_ += out_.size();
  bytes_ += out_.size();
  // The write completed (OnWritten): pump again, which parks the consumer.
  if (!u.finished) request_->Take(text_);
}

}  // namespace modeld::bench
