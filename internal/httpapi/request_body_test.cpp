#include "internal/httpapi/request_body.h"

#include <gtest/gtest.h>

#include <string>

#include <boost/beast/http/parser.hpp>

namespace modeld::httpapi {
namespace {

namespace http = boost::beast::http;

// A declared Content-Length must not be allocated before the bytes come.
TEST(RequestBodyTest, HeaderWithLargeContentLengthAllocatesNothing) {
  http::request_parser<RequestBody> parser;
  parser.body_limit(8 << 20);
  const std::string head = "POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n";
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_header_done());
  EXPECT_LT(parser.get().body().capacity(), 4096u);
  const std::string part = "{\"prompt\":";
  parser.put(boost::asio::buffer(part), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(parser.get().body(), part);
  EXPECT_LT(parser.get().body().capacity(), 4096u);
}

TEST(RequestBodyTest, ChunkedBodyIsJoined) {
  http::request_parser<RequestBody> parser;
  const std::string msg =
      "POST /infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  boost::beast::error_code ec;
  size_t used = 0;
  while (!parser.is_done() && !ec) {
    used += parser.put(boost::asio::buffer(msg.data() + used, msg.size() - used), ec);
  }
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(parser.get().body(), "abcde");
}

TEST(RequestBodyTest, BodyLimitStillApplies) {
  http::request_parser<RequestBody> parser;
  parser.body_limit(10);
  const std::string head = "POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  EXPECT_EQ(ec, http::error::body_limit);
}

}  // namespace
}  // namespace modeld::httpapi
