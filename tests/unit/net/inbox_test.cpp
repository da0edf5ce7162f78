#include "net/inbox.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <memory>
#include <thread>
#include <vector>

namespace rover::net {
namespace {

struct NumberMessage : InboxMessage {
  NumberMessage(int producer, int n) : producer(producer), n(n) { kind = 1; }
  int producer;
  int n;
};

struct CountedMessage : InboxMessage {
  explicit CountedMessage(int* destroyed) : destroyed(destroyed) {}
  ~CountedMessage() override { ++*destroyed; }
  int* destroyed;
};

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

using Drained = std::vector<std::unique_ptr<InboxMessage>>;

TEST(Inbox, PostDrainSingleThread) {
  Inbox inbox;
  EXPECT_GE(inbox.fd(), 0);
  Drained out;
  inbox.drain(&out);
  EXPECT_TRUE(out.empty());
  for (int i = 0; i < 3; ++i) inbox.post(std::make_unique<NumberMessage>(0, i));
  inbox.drain(&out);
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i]->kind, 1);
    EXPECT_EQ(static_cast<NumberMessage*>(out[i].get())->n, i);
  }
  // drain appends.
  inbox.post(std::make_unique<NumberMessage>(0, 3));
  inbox.drain(&out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(static_cast<NumberMessage*>(out[3].get())->n, 3);
}

TEST(Inbox, FdReadableOnlyWhileMessagesWait) {
  Inbox inbox;
  EXPECT_FALSE(readable(inbox.fd(), 0));
  inbox.post(std::make_unique<NumberMessage>(0, 0));
  inbox.post(std::make_unique<NumberMessage>(0, 1));
  EXPECT_TRUE(readable(inbox.fd(), 0));
  Drained out;
  inbox.drain(&out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_FALSE(readable(inbox.fd(), 0));
  inbox.post(std::make_unique<NumberMessage>(0, 2));
  EXPECT_TRUE(readable(inbox.fd(), 0));
}

TEST(Inbox, ManyProducersNoneLostInOrder) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 10000;
  Inbox inbox;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&inbox, p] {
      for (int i = 0; i < kPerProducer; ++i) inbox.post(std::make_unique<NumberMessage>(p, i));
    });
  }
  std::vector<int> next(kProducers, 0);
  int total = 0;
  Drained out;
  while (total < kProducers * kPerProducer) {
    // A lost wake-up shows as a timeout here rather than a hang.
    ASSERT_TRUE(readable(inbox.fd(), 10000)) << "stalled after " << total;
    out.clear();
    inbox.drain(&out);
    for (auto& m : out) {
      auto* msg = static_cast<NumberMessage*>(m.get());
      ASSERT_EQ(msg->n, next[msg->producer]) << "producer " << msg->producer;
      ++next[msg->producer];
      ++total;
    }
  }
  for (auto& t : producers) t.join();
  out.clear();
  inbox.drain(&out);
  EXPECT_TRUE(out.empty());
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
}

TEST(Inbox, DestructorFreesUndrainedMessages) {
  int destroyed = 0;
  {
    Inbox inbox;
    for (int i = 0; i < 5; ++i) inbox.post(std::make_unique<CountedMessage>(&destroyed));
    Drained out;
    inbox.drain(&out);
    inbox.post(std::make_unique<CountedMessage>(&destroyed));
    inbox.post(std::make_unique<CountedMessage>(&destroyed));
    out.clear();
    EXPECT_EQ(destroyed, 5);
  }
  EXPECT_EQ(destroyed, 7);
}

}  // namespace
}  // namespace rover::net
