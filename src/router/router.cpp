// Route table (see router.h). Every route is a leaf of a segment tree; fully
// static paths are also indexed in an open-addressing hash so that the common
// case is one probe. Leaves are per shape (parameter names erased), so
// GET /a/{x} and POST /a/{y} share a leaf but keep their own pattern and names.
#include "router/router.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "core/hex.h"

namespace rover::router {
namespace {

constexpr std::string_view kMethodNames[kMethodCount] = {"GET",   "HEAD",   "POST",   "PUT",
                                                         "PATCH", "DELETE", "OPTIONS"};

constexpr MethodMask bit(Method m) { return static_cast<MethodMask>(1u << static_cast<int>(m)); }

// A parameter must face a non-empty segment with well-formed %XX escapes
// (lua-api.md §5).
bool validParamSegment(std::string_view seg) {
  return !seg.empty() && core::isValidPercentEncoding(seg);
}

bool isParamSegment(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// Splits "/a/{x}" into {"a", "{x}"}; "/" has no segments. False for a pattern
// that no valid route tree can produce (the caller validates; this guards).
bool splitPattern(std::string_view pattern, std::vector<std::string_view>* segs) {
  if (pattern.empty() || pattern.front() != '/') return false;
  if (pattern.size() == 1) return true;
  size_t start = 1;
  while (true) {
    size_t end = pattern.find('/', start);
    if (end == std::string_view::npos) end = pattern.size();
    std::string_view seg = pattern.substr(start, end - start);
    if (seg.empty() || (seg.front() == '{' && !isParamSegment(seg))) return false;
    segs->push_back(seg);
    if (end == pattern.size()) return true;
    start = end + 1;
  }
}

// Pattern text with the names of its parameters as views into that text.
// Stored in a deque so that views into it stay valid as routes are added.
struct Pattern {
  std::string text;
  std::vector<std::string_view> names;
};

struct Leaf {
  int handler[kMethodCount] = {-1, -1, -1, -1, -1, -1, -1};
  const Pattern* pattern[kMethodCount] = {};
  MethodMask mask = 0;
};

struct Node {
  std::vector<std::pair<std::string, uint32_t>> statics;  // sorted by segment bytes
  int32_t param = -1;                                     // child for "{name}"
  int32_t leaf = -1;                                      // route ending here
};

// Open-addressing (linear probing) map from a full static path to its leaf.
class StaticIndex {
 public:
  void insert(std::string_view path, uint32_t leaf) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    entries_.emplace_back(std::string(path), leaf);
    place(std::hash<std::string_view>{}(path), static_cast<int32_t>(entries_.size() - 1));
  }

  int32_t find(std::string_view path) const {
    if (slots_.empty()) return -1;
    size_t h = std::hash<std::string_view>{}(path);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.entry < 0) return -1;
      if (s.hash == h && entries_[s.entry].first == path) return entries_[s.entry].second;
    }
  }

 private:
  struct Slot {
    size_t hash = 0;
    int32_t entry = -1;
  };

  void place(size_t h, int32_t entry) {
    size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i].entry >= 0) i = (i + 1) & mask;
    slots_[i] = Slot{h, entry};
  }

  void grow() {
    slots_.assign(std::max<size_t>(16, slots_.size() * 2), Slot{});
    for (size_t e = 0; e < entries_.size(); ++e) {
      place(std::hash<std::string_view>{}(entries_[e].first), static_cast<int32_t>(e));
    }
  }

  std::vector<Slot> slots_;
  std::vector<std::pair<std::string, uint32_t>> entries_;
};

}  // namespace

std::optional<Method> parseMethod(std::string_view text) {
  for (int i = 0; i < kMethodCount; ++i) {
    if (kMethodNames[i] == text) return static_cast<Method>(i);
  }
  return std::nullopt;
}

std::string_view methodName(Method m) {
  int i = static_cast<int>(m);
  return i < kMethodCount ? kMethodNames[i] : std::string_view("?");
}

std::string allowHeader(MethodMask mask) {
  if (mask & bit(Method::kGet)) mask |= bit(Method::kHead);
  mask |= bit(Method::kOptions);
  std::string out;
  for (int i = 0; i < kMethodCount; ++i) {
    if (!(mask & (1u << i))) continue;
    if (!out.empty()) out += ", ";
    out += kMethodNames[i];
  }
  return out;
}

struct Router::Impl {
  std::vector<Node> nodes{Node{}};  // nodes[0] is the root "/"
  std::vector<Leaf> leaves;
  std::deque<Pattern> patterns;
  StaticIndex statics;
  size_t entries = 0;

  uint32_t childFor(uint32_t node, std::string_view seg);
  const Pattern* storePattern(const Leaf& leaf, std::string_view text);
  bool search(uint32_t node, size_t start, std::string_view path, Method method, Match* out) const;
  bool takeLeaf(int32_t leaf_index, Method method, Match* out) const;
};

// Returns the child of `node` for pattern segment `seg`, creating it.
uint32_t Router::Impl::childFor(uint32_t node, std::string_view seg) {
  if (isParamSegment(seg)) {
    if (nodes[node].param < 0) {
      nodes[node].param = static_cast<int32_t>(nodes.size());
      nodes.emplace_back();
    }
    return static_cast<uint32_t>(nodes[node].param);
  }
  auto& kids = nodes[node].statics;
  auto it = std::lower_bound(kids.begin(), kids.end(), seg,
                             [](const auto& kid, std::string_view s) { return kid.first < s; });
  if (it != kids.end() && it->first == seg) return it->second;
  uint32_t child = static_cast<uint32_t>(nodes.size());
  kids.emplace(it, std::string(seg), child);
  nodes.emplace_back();  // after the insert: `kids` is a reference into `nodes`
  return child;
}

// Reuses the pattern of another method of the same leaf when the text is equal.
const Pattern* Router::Impl::storePattern(const Leaf& leaf, std::string_view text) {
  for (const Pattern* p : leaf.pattern) {
    if (p != nullptr && p->text == text) return p;
  }
  Pattern& p = patterns.emplace_back();
  p.text = std::string(text);
  std::vector<std::string_view> segs;
  splitPattern(p.text, &segs);
  for (std::string_view seg : segs) {
    if (isParamSegment(seg)) p.names.push_back(seg.substr(1, seg.size() - 2));
  }
  return &p;
}

Router::Router() : impl_(new Impl) {}
Router::~Router() { delete impl_; }

size_t Router::size() const { return impl_->entries; }

std::string Router::add(Method method, std::string_view pattern, int handler_id) {
  std::vector<std::string_view> segs;
  if (!splitPattern(pattern, &segs)) {
    return "Invalid route pattern '" + std::string(pattern) + "'";
  }
  size_t param_count = std::count_if(segs.begin(), segs.end(), isParamSegment);
  if (param_count > kMaxParams) {
    return "Too many parameters in route '" + std::string(pattern) + "' (at most " +
           std::to_string(kMaxParams) + ")";
  }
  uint32_t node = 0;
  for (std::string_view seg : segs) node = impl_->childFor(node, seg);

  if (impl_->nodes[node].leaf < 0) {
    impl_->nodes[node].leaf = static_cast<int32_t>(impl_->leaves.size());
    impl_->leaves.emplace_back();
    if (param_count == 0) impl_->statics.insert(pattern, impl_->nodes[node].leaf);
  }
  Leaf& leaf = impl_->leaves[impl_->nodes[node].leaf];
  int m = static_cast<int>(method);
  if (leaf.mask & bit(method)) {
    std::string name(methodName(method));
    return "Conflicting routes: " + name + " " + leaf.pattern[m]->text + " and " + name + " " +
           std::string(pattern);
  }
  leaf.pattern[m] = impl_->storePattern(leaf, pattern);
  leaf.handler[m] = handler_id;
  leaf.mask |= bit(method);
  ++impl_->entries;
  return "";
}

// Records the leaf's methods in out->allowed and, when it has a handler for
// `method` (HEAD falls back to GET), fills the match.
bool Router::Impl::takeLeaf(int32_t leaf_index, Method method, Match* out) const {
  if (leaf_index < 0) return false;
  const Leaf& leaf = leaves[leaf_index];
  out->allowed |= leaf.mask;
  Method chosen = method;
  if (!(leaf.mask & bit(chosen)) && method == Method::kHead) chosen = Method::kGet;
  if (!(leaf.mask & bit(chosen))) return false;
  int m = static_cast<int>(chosen);
  const Pattern* p = leaf.pattern[m];
  out->handler = leaf.handler[m];
  out->method = chosen;
  out->pattern = p->text;
  for (size_t i = 0; i < out->param_count; ++i) out->params[i].name = p->names[i];
  return true;
}

// Depth-first over the segment starting at `start`: the static child before
// the parameter child, which is the precedence of lua-api.md §5. Stops at the
// first leaf that has the method; a full miss has visited every matching leaf.
bool Router::Impl::search(uint32_t node, size_t start, std::string_view path, Method method,
                          Match* out) const {
  if (start > path.size()) return takeLeaf(nodes[node].leaf, method, out);
  size_t end = path.find('/', start);
  if (end == std::string_view::npos) end = path.size();
  std::string_view seg = path.substr(start, end - start);
  const Node& n = nodes[node];
  if (!seg.empty() && !n.statics.empty()) {
    auto it = std::lower_bound(n.statics.begin(), n.statics.end(), seg,
                               [](const auto& kid, std::string_view s) { return kid.first < s; });
    if (it != n.statics.end() && it->first == seg && search(it->second, end + 1, path, method, out))
      return true;
  }
  if (n.param >= 0 && validParamSegment(seg)) {
    out->params[out->param_count++].raw = seg;
    if (search(static_cast<uint32_t>(n.param), end + 1, path, method, out)) return true;
    --out->param_count;
  }
  return false;
}

bool Router::match(Method method, std::string_view path, Match* out) const {
  return matchImpl(method, path, out);
}

// The same lookup as a call of its own: the request path's one call of
// match() stays the only one, which LTO inlines into the dispatch.
bool Router::matchCold(Method method, std::string_view path, Match* out) const {
  return matchImpl(method, path, out);
}

bool Router::matchImpl(Method method, std::string_view path, Match* out) const {
  out->handler = -1;
  out->method = method;
  out->pattern = {};
  out->param_count = 0;
  out->allowed = 0;
  if (path.empty() || path.front() != '/') return false;
  // An all-static route beats every other route matching the same path.
  int32_t leaf = impl_->statics.find(path);
  if (leaf >= 0 && impl_->takeLeaf(leaf, method, out)) return true;
  out->allowed = 0;  // the search below visits that leaf again
  if (path.size() == 1) return impl_->takeLeaf(impl_->nodes[0].leaf, method, out);
  return impl_->search(0, 1, path, method, out);
}

}  // namespace rover::router
