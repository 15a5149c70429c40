#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "internal/httpapi/client_paths.h"
#include "internal/httpapi/connection.h"
#include "internal/httpapi/handler_slot.h"
#include "internal/httpapi/stream_format.h"
#include "internal/manager/manager.h"

namespace modeld::httpapi {

// One inference request on one connection: submits it to the manager, sends
// nothing until generation starts (so early errors get a real status), then
// streams batches as the manager delivers them, and ends with a done or error
// event. Shared by /infer and the OpenAI endpoints; the format differs.
// Thread-safety: runs on the io thread; the manager's worker only posts to it.
class InferExchange final : public StreamingResponder,
                            public std::enable_shared_from_this<InferExchange> {
 public:
  // `paths` outlives the exchange (it lives in the ApiContext).
  InferExchange(std::shared_ptr<Connection> conn, manager::Manager& manager,
                const ClientPaths& paths, StreamFormatPtr format, bool stream,
                asio::io_context::executor_type executor);

  void Start(std::shared_ptr<manager::Request> request);
  void OnPeerGone() override;
  void OnWritten(bool ok) override;

 private:
  struct PumpHandler;
  void Pump();
  void Finish();
  void AppendFramed();  // frames body_ into out_ (chunked when HTTP/1.1)
  void AppendHeaders();
  void Write();

  std::shared_ptr<Connection> conn_;
  manager::Manager& manager_;
  const ClientPaths& paths_;  // error messages go through it
  StreamFormatPtr format_;
  const bool stream_;
  asio::io_context::executor_type executor_;
  std::shared_ptr<manager::Request> request_;
  HandlerSlot slot_;

  std::string text_;       // taken from the request
  std::string body_;       // one framed event
  std::string out_;        // bytes of one write
  std::string full_text_;  // "stream": false
  bool chunked_ = true;
  bool headers_sent_ = false;
  bool writing_ = false;
  bool final_written_ = false;
  bool done_ = false;
};

}  // namespace modeld::httpapi
