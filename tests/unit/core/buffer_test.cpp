#include "core/buffer.h"

#include <gtest/gtest.h>

namespace rover::core {

TEST(Buffer, AppendConsumeKeepsOrder) {
  Buffer b;
  b.append("hello ");
  b.append("world");
  EXPECT_EQ(b.view(), "hello world");
  b.consume(6);
  EXPECT_EQ(b.view(), "world");
  b.consume(100);
  EXPECT_TRUE(b.empty());
}

TEST(Buffer, PrepareCommitGrows) {
  Buffer b;
  char* p = b.prepare(10000);
  for (int i = 0; i < 10000; ++i) p[i] = static_cast<char>('a' + i % 26);
  b.commit(10000);
  EXPECT_EQ(b.size(), 10000u);
  EXPECT_EQ(b.data()[27], 'b');
}

}  // namespace rover::core
