// A growable contiguous byte buffer: the receive and send buffers of a
// connection, the JSON encoder's output. Owned by one thread; never shared.
// Pointers into it are invalidated by any call that may grow it.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace rover::core {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t capacity) { reserve(capacity); }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = o.data_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.data_ = nullptr;
      o.size_ = o.cap_ = 0;
    }
    return *this;
  }

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }

  void clear() { size_ = 0; }
  // The check is inline; growing is a call of its own, so append() and
  // prepare() stay small enough to inline everywhere (GCC's LTO inliner
  // outlined the whole append from the serializer once callers multiplied).
  void reserve(size_t n) {
    if (n > cap_) [[unlikely]] grow(n);
  }
  // Returns room for at least n bytes at the end; call commit() with what was written.
  char* prepare(size_t n) {
    reserve(size_ + n);
    return data_ + size_;
  }
  void commit(size_t n) { size_ += n; }
  size_t tailroom() const { return cap_ - size_; }

  [[gnu::always_inline]] void append(const char* p, size_t n) {
    if (n == 0) return;
    reserve(size_ + n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  [[gnu::always_inline]] void append(std::string_view s) { append(s.data(), s.size()); }
  void push_back(char c) {
    if (size_ == cap_) reserve(size_ + 1);
    data_[size_++] = c;
  }
  // Drops the first n bytes, moving the rest to the front.
  void consume(size_t n) {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_, data_ + n, size_ - n);
    size_ -= n;
  }
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  // Releases memory beyond `keep` bytes of capacity when the buffer is empty
  // (so one large request does not pin memory on an idle connection).
  void shrink_if_empty(size_t keep) {
    if (size_ == 0 && cap_ > keep) {
      std::free(data_);
      data_ = nullptr;
      cap_ = 0;
    }
  }

 private:
  [[gnu::noinline, gnu::cold]] void grow(size_t n) {
    size_t cap = cap_ ? cap_ : 256;
    while (cap < n) cap *= 2;
    char* p = static_cast<char*>(std::realloc(data_, cap));
    if (!p) throw std::bad_alloc();
    data_ = p;
    cap_ = cap;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace rover::core
