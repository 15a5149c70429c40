#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/optional/optional.hpp>

namespace modeld::httpapi {

// A request body held in a std::string that grows only with the bytes that
// arrive. Beast's string_body reserves the declared Content-Length as soon as
// the header is parsed, so a client that announces 1 MiB and sends nothing
// would cost 1 MiB per connection until its body deadline.
// Thread-safety: like std::string; one parser fills it on the io thread.
struct RequestBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) {
      ec = {};  // no reserve: the parser's body_limit bounds the size
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer b = *it;
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      return n;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };

  // Requests are never serialized by modeld; string_body's writer fits the
  // same value_type should anything do so.
  using writer = boost::beast::http::string_body::writer;
};

}  // namespace modeld::httpapi
