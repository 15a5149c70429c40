#pragma once

// Raw HTTP for the black-box tests, as curl or a browser would put it on the
// wire: the test writes every byte of the request (or leaves out Host), and
// gets the response bytes read until the server closes. Every step has a
// deadline.

#include <chrono>
#include <string>

#include "tests/blackbox/http_client.h"

namespace modeld::blackbox {

struct RawReply {
  std::string error;  // empty when a response arrived
  int status = 0;
  Headers headers;   // lower-case names
  std::string body;  // as sent (chunked framing included)

  std::string Header(const std::string& lower_name) const;
  bool HasHeader(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
  nlohmann::json Json() const;  // discarded when the body is not JSON
};

// Sends `request` as is and reads until the server closes the connection
// (send "Connection: close" or HTTP/1.0).
RawReply RawRequest(int port, const std::string& request, Millis timeout = Millis(15000));

// "POST <path> HTTP/1.1" with Host 127.0.0.1:<port>, Connection: close, a
// Content-Length, and `headers` ("Name: value\r\n" lines, may be empty).
std::string RawPost(int port, const std::string& path, const std::string& headers,
                    const std::string& body);

}  // namespace modeld::blackbox
