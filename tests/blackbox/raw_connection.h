#pragma once

// A plain TCP client for tests that need control over the bytes: pipelined
// requests, HTTP/1.0, Expect: 100-continue, a request cut short, a client
// that stops reading. Every wait has a deadline, so no test can hang.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace modeld::blackbox {

using Millis = std::chrono::milliseconds;

// One response parsed from raw bytes.
struct RawResponse {
  int status = 0;
  unsigned version = 11;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // de-chunked
  std::string Header(const std::string& lower_name) const;
};

// One connection to 127.0.0.1:port. Not thread-safe.
class RawConnection {
 public:
  // Connects; `rcvbuf` > 0 sets SO_RCVBUF first (a small window makes the
  // server's writes block soon when this side does not read).
  explicit RawConnection(int port, int rcvbuf = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0 && error_.empty(); }
  const std::string& error() const { return error_; }

  // Sends all of `bytes`; false (see error()) when the connection failed.
  bool Send(std::string_view bytes, Millis timeout = Millis(15000));
  // Reads until the unread data contains `marker`; false on EOF, error or timeout.
  bool ReadUntil(std::string_view marker, Millis timeout);
  // Reads one complete response (HEAD: header only; a body without length
  // ends at EOF) and removes it from the unread data.
  std::optional<RawResponse> ReadResponse(Millis timeout, bool head = false);
  // Waits until the server closes the connection (EOF or reset), discarding
  // nothing: what came before stays in data(). False on timeout.
  bool WaitClosed(Millis timeout);
  // True when some bytes arrived or the peer closed within `timeout`.
  bool ReadSome(Millis timeout);

  // Sends FIN: the request is complete, the answer may still be read.
  void ShutdownSend();

  std::string& data() { return data_; }  // received, not yet taken
  bool eof() const { return eof_; }
  void Close();

 private:
  int fd_ = -1;
  std::string data_;
  std::string error_;
  bool eof_ = false;
};

// Parses a complete response from the front of `data` and removes it; nullopt
// when more bytes are needed (or they are not HTTP: see `problem`).
std::optional<RawResponse> TakeResponse(std::string& data, bool head, bool at_eof,
                                        std::string* problem);

}  // namespace modeld::blackbox
