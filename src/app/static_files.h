// Static mounts (server-features.md §10): stage 9 of the pipeline. The mount
// table is built once at startup (each mount's directory opened then) and
// shared, read-only, by all workers; a request a mount covers is answered
// with a file response value (http::BodyKind::kFile) whose bytes the
// connection sends with sendfile. Path safety, validators and ranges are
// http/static_file's.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "http/request.h"
#include "http/response.h"
#include "http/static_file.h"
#include "lua/vm.h"
#include "router/router.h"

namespace rover::app {

// Header values of the response being built (one at a time per worker).
struct StaticScratch {
  http::RelativePath path;
  char etag[http::kEtagSize];
  char last_modified[http::kHttpDateSize];
  char content_range[http::kContentRangeMax];
};

class StaticMounts {
 public:
  // *error: the startup message of §10 for a directory that cannot be opened.
  static std::unique_ptr<StaticMounts> create(const std::vector<lua::StaticMountInfo>& mounts,
                                              std::string* error);
  ~StaticMounts();
  bool empty() const { return mounts_.empty(); }
  // True when a mount covers the request's path: `out` is its response.
  bool serve(const http::Request& req, router::Method method, http::Response& out,
             StaticScratch& scratch) const;

 private:
  struct Mount {
    std::string prefix;  // "" for the root mount
    int dir_fd = -1;
    std::string cache;
  };
  void serveFile(const Mount& m, std::string_view rest, const http::Request& req,
                 router::Method method, http::Response& out, StaticScratch& scratch) const;
  std::vector<Mount> mounts_;  // longest prefix first
};

}  // namespace rover::app
