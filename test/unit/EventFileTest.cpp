// TensorBoard event files read back by our own TFRecord reader: framing,
// both CRCs of every record, and the Event protos inside.
#include "runtime/train/EventFile.h"
#include "runtime/train/Crc32c.h"
#include "runtime/train/TensorBoardEvent.pb.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <unistd.h>

using namespace var::train;

namespace {

std::string makeTempDir() {
  char pattern[] = "/tmp/var-eventfile-XXXXXX";
  const char *dir = ::mkdtemp(pattern);
  EXPECT_NE(dir, nullptr);
  return dir ? dir : "";
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace

TEST(EventFileTest, Crc32cCheckValues) {
  // The CRC catalogue's check value of CRC-32C, and RFC 3720's 32 zeros.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(maskCrc32c(0), 0xA282EAD8u);
}

TEST(EventFileTest, ScalarsReadBack) {
  std::string dir = makeTempDir() + "/run/a";
  std::unique_ptr<EventFileWriter> writer;
  ASSERT_EQ(EventFileWriter::open(dir, writer), "");
  std::string path = writer->getPath();
  EXPECT_EQ(path.rfind(dir + "/events.out.tfevents.", 0), 0u);
  ASSERT_EQ(writer->addScalars(7, {{"train/loss", 1.5}, {"train/lr", 0.25}}),
            "");
  ASSERT_EQ(writer->addScalars(8, {{"eval/top1", 0.75}}), "");
  writer.reset();

  std::vector<std::string> records;
  ASSERT_EQ(readTfRecords(path, records), "");
  ASSERT_EQ(records.size(), 3u);
  var::tensorboard::Event first;
  ASSERT_TRUE(first.ParseFromString(records[0]));
  EXPECT_EQ(first.file_version(), "brain.Event:2");
  EXPECT_GT(first.wall_time(), 1.6e9);

  var::tensorboard::Event second;
  ASSERT_TRUE(second.ParseFromString(records[1]));
  EXPECT_EQ(second.step(), 7);
  ASSERT_TRUE(second.has_summary());
  ASSERT_EQ(second.summary().value_size(), 2);
  EXPECT_EQ(second.summary().value(0).tag(), "train/loss");
  EXPECT_EQ(second.summary().value(0).simple_value(), 1.5f);
  EXPECT_EQ(second.summary().value(1).tag(), "train/lr");
  EXPECT_EQ(second.summary().value(1).simple_value(), 0.25f);

  var::tensorboard::Event third;
  ASSERT_TRUE(third.ParseFromString(records[2]));
  EXPECT_EQ(third.step(), 8);
  EXPECT_EQ(third.summary().value(0).simple_value(), 0.75f);

  // The framing by hand: the first record's length and its masked CRC.
  std::string bytes = readAll(path);
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  EXPECT_EQ(length, records[0].size());
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i)
    stored |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[8 + i]))
              << (8 * i);
  EXPECT_EQ(stored, maskCrc32c(crc32c(bytes.data(), 8)));
}

TEST(EventFileTest, CorruptionIsFound) {
  std::string dir = makeTempDir();
  std::unique_ptr<EventFileWriter> writer;
  ASSERT_EQ(EventFileWriter::open(dir, writer), "");
  ASSERT_EQ(writer->addScalars(1, {{"loss", 2.0}}), "");
  std::string path = writer->getPath();
  writer.reset();
  std::string bytes = readAll(path);
  std::vector<std::string> records;
  ASSERT_EQ(readTfRecords(path, records), "");
  size_t second = 12 + records[0].size() + 4;

  auto rewrite = [&](const std::string &content) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    records.clear();
    return readTfRecords(path, records);
  };
  std::string flipped = bytes;
  flipped[second + 14] ^= 1; // a payload byte of record 1
  EXPECT_EQ(rewrite(flipped), path + ": record 1 at byte " +
                                  std::to_string(second) +
                                  ": payload CRC mismatch");
  flipped = bytes;
  flipped[second] ^= 1; // its length
  EXPECT_EQ(rewrite(flipped), path + ": record 1 at byte " +
                                  std::to_string(second) +
                                  ": length CRC mismatch");
  EXPECT_EQ(rewrite(bytes.substr(0, bytes.size() - 2)),
            path + ": record 1 at byte " + std::to_string(second) +
                ": truncated payload (" +
                std::to_string(bytes.size() - second - 16) +
                " bytes announced)");
  EXPECT_EQ(rewrite(bytes.substr(0, second + 5)), path + ": record 1 at byte " +
                                                      std::to_string(second) +
                                                      ": truncated header");
}

TEST(EventFileTest, UnwritableDirectoryIsAnError) {
  std::unique_ptr<EventFileWriter> writer;
  std::string error = EventFileWriter::open("/proc/var-no-such/dir", writer);
  EXPECT_NE(error.find("/proc/var-no-such"), std::string::npos) << error;
}
