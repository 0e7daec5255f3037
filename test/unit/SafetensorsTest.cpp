// safetensors I/O: round trips, the exact bytes of small files against the
// reference implementation's own test vectors and the format description,
// and the reader on truncated, corrupted and hostile files: always an error
// naming the problem, never a crash.
#include "runtime/train/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace var::train;

namespace {

std::vector<uint8_t> floatBytes(std::initializer_list<float> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

std::vector<uint8_t> patternBytes(size_t size, uint8_t start) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>(start + 7 * i);
  return bytes;
}

/// A file from a header written by hand: length prefix, header, data.
std::string makeFile(const std::string &header, const std::string &data) {
  std::string file;
  uint64_t n = header.size();
  for (int k = 0; k < 8; ++k)
    file += static_cast<char>((n >> (8 * k)) & 0xff);
  return file + header + data;
}

std::string decodeError(const std::string &file) {
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  return decodeSafetensors(file, tensors, metadata);
}

class TempDir {
public:
  TempDir() {
    char pattern[] = "/tmp/var-safetensors-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<SafetensorsTensor> someTensors() {
  return {
      {"layer.weight", "F32", {2, 3}, floatBytes({1, 2, 3, 4, 5, 6})},
      {"layer.bias", "BF16", {3}, patternBytes(6, 1)},
      {"step", "I64", {}, patternBytes(8, 9)},
      {"empty", "F16", {0, 4}, {}},
      {"mask", "BOOL", {5}, {1, 0, 1, 1, 0}},
      {"moments", "F64", {2}, patternBytes(16, 3)},
  };
}

} // namespace

TEST(Safetensors, DTypeSizes) {
  EXPECT_EQ(getSafetensorsDTypeBytes("F32"), 4);
  EXPECT_EQ(getSafetensorsDTypeBytes("BF16"), 2);
  EXPECT_EQ(getSafetensorsDTypeBytes("I64"), 8);
  EXPECT_EQ(getSafetensorsDTypeBytes("BOOL"), 1);
  EXPECT_EQ(getSafetensorsDTypeBytes("F8_E4M3"), 1);
  EXPECT_EQ(getSafetensorsDTypeBytes("f32"), 0);
  EXPECT_EQ(getSafetensorsDTypeBytes("F4"), 0);
}

TEST(Safetensors, RoundTripThroughAFile) {
  TempDir dir;
  std::string path = dir.path + "/model.safetensors";
  std::vector<SafetensorsTensor> tensors = someTensors();
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"step", "1200"}};
  ASSERT_EQ(writeSafetensors(path, tensors, metadata), "");

  std::vector<SafetensorsTensor> back;
  std::map<std::string, std::string> metadataBack;
  ASSERT_EQ(readSafetensors(path, back, metadataBack), "");
  EXPECT_EQ(metadataBack, metadata);
  ASSERT_EQ(back.size(), tensors.size());
  for (const SafetensorsTensor &t : tensors) {
    auto it = std::find_if(back.begin(), back.end(),
                           [&](const auto &b) { return b.name == t.name; });
    ASSERT_NE(it, back.end()) << t.name;
    EXPECT_EQ(it->dtype, t.dtype);
    EXPECT_EQ(it->shape, t.shape);
    EXPECT_EQ(it->bytes, t.bytes);
  }
  // File order: the reference's dtype order, descending (U64, I64, F64, C64,
  // F32, ..., BF16, F16, ..., BOOL), then by name, so that each tensor's data
  // starts at a multiple of its element size.
  std::vector<std::string> names;
  for (const auto &t : back)
    names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"step", "moments", "layer.weight",
                                             "layer.bias", "empty", "mask"}));

  // Overwriting replaces the file and leaves no temporary behind.
  tensors.resize(1);
  ASSERT_EQ(writeSafetensors(path, tensors, {}), "");
  ASSERT_EQ(readSafetensors(path, back, metadataBack), "");
  EXPECT_EQ(back.size(), 1u);
  EXPECT_TRUE(metadataBack.empty());
  EXPECT_EQ(
      std::system(("test $(ls -A '" + dir.path + "' | wc -l) = 1").c_str()), 0);
}

// The reference implementation's test_serialization vector: one F32 [1,2,3]
// tensor "attn.0" holding 0..5, a 64-byte header that needs no padding.
TEST(Safetensors, BytesMatchTheReferenceVector) {
  std::string out;
  ASSERT_EQ(encodeSafetensors(
                {{"attn.0", "F32", {1, 2, 3}, floatBytes({0, 1, 2, 3, 4, 5})}},
                {}, out),
            "");
  std::string expected =
      std::string("\x40\0\0\0\0\0\0\0", 8) +
      R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" +
      std::string("\0\0\0\0"
                  "\0\0\x80\x3f"
                  "\0\0\0\x40"
                  "\0\0\x40\x40"
                  "\0\0\x80\x40"
                  "\0\0\xa0\x40",
                  24);
  EXPECT_EQ(out, expected);
}

// The reference's test_empty vectors: "{}" padded to 8, and the metadata
// alone, padded from 35 to 40 bytes.
TEST(Safetensors, BytesOfEmptyFiles) {
  std::string out;
  ASSERT_EQ(encodeSafetensors({}, {}, out), "");
  EXPECT_EQ(out, std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  ASSERT_EQ(encodeSafetensors({}, {{"framework", "pt"}}, out), "");
  EXPECT_EQ(out, std::string("\x28\0\0\0\0\0\0\0", 8) +
                     R"({"__metadata__":{"framework":"pt"}})" + "     ");
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  EXPECT_EQ(decodeSafetensors(out, tensors, metadata), "");
  EXPECT_TRUE(tensors.empty());
  EXPECT_EQ(metadata.at("framework"), "pt");
}

// Several dtypes: I64 before F32 before BF16 whatever the input order, the
// header in that order after the metadata, padding to 8 with spaces, and
// names escaped as serde_json escapes them.
TEST(Safetensors, BytesOfMixedDTypesWithEscapes) {
  std::string out;
  ASSERT_EQ(encodeSafetensors({{"b", "BF16", {2}, {0x80, 0x3f, 0x00, 0x40}},
                               {"a\"\n\x01", "F32", {1}, {0, 0, 0x80, 0x3f}},
                               {"c", "I64", {1}, {5, 0, 0, 0, 0, 0, 0, 0}}},
                              {{"k", "v/\\"}}, out),
            "");
  std::string header =
      R"({"__metadata__":{"k":"v/\\"},)"
      R"("c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("a\"\n\u0001":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}})";
  ASSERT_EQ(header.size(), 202u);
  header += "      "; // to 208
  std::string data("\x05\0\0\0\0\0\0\0"
                   "\0\0\x80\x3f"
                   "\x80\x3f\x00\x40",
                   16);
  EXPECT_EQ(out, makeFile(header, data));

  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  ASSERT_EQ(decodeSafetensors(out, tensors, metadata), "");
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[1].name, "a\"\n\x01");
  EXPECT_EQ(metadata.at("k"), "v/\\");
}

TEST(Safetensors, ReaderAcceptsOtherValidSpellings) {
  // Whitespace between tokens, keys in another order, tensors listed out of
  // offset order, \u escapes (a surrogate pair), no padding.
  std::string header = "{ \"z\" : { \"data_offsets\" : [ 4 , 8 ] , \"shape\" :"
                       " [ 1 ] , \"dtype\" : \"F32\" } ,\n\t\"\\u00e9\\ud83d"
                       "\\ude00\" : {\"shape\":[],\"dtype\":\"I32\","
                       "\"data_offsets\":[0,4]}}";
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  ASSERT_EQ(decodeSafetensors(makeFile(header, std::string(8, 'x')), tensors,
                              metadata),
            "");
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].name, "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(tensors[0].shape.empty());
  EXPECT_EQ(tensors[1].name, "z");
}

TEST(Safetensors, WriterRejectsBadTensors) {
  std::string out;
  auto error = [&](std::vector<SafetensorsTensor> tensors) {
    return encodeSafetensors(tensors, {}, out);
  };
  EXPECT_NE(error({{"a", "F32", {2}, {0, 0, 0}}}).find("need 8 bytes"),
            std::string::npos);
  EXPECT_NE(error({{"a", "F31", {0}, {}}}).find("unknown dtype"),
            std::string::npos);
  EXPECT_NE(error({{"a", "F32", {-1}, {}}}).find("negative"),
            std::string::npos);
  EXPECT_NE(
      error({{"a", "U8", {}, {1}}, {"a", "U8", {}, {2}}}).find("duplicate"),
      std::string::npos);
  EXPECT_NE(error({{"__metadata__", "U8", {}, {1}}}).find("reserved"),
            std::string::npos);
  EXPECT_NE(error({{"\xff", "U8", {}, {1}}}).find("UTF-8"), std::string::npos);
  EXPECT_NE(error({{"a", "U8", {1LL << 62, 1LL << 62}, {}}}).find("overflows"),
            std::string::npos);
  EXPECT_NE(writeSafetensors("/nonexistent-dir/x.safetensors",
                             {{"a", "U8", {}, {1}}}, {}),
            "");
}

TEST(Safetensors, ReaderReportsFileErrors) {
  TempDir dir;
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  std::string missing = dir.path + "/missing.safetensors";
  std::string error = readSafetensors(missing, tensors, metadata);
  EXPECT_NE(error.find(missing), std::string::npos) << error;
  EXPECT_NE(readSafetensors(dir.path, tensors, metadata), "");
}

TEST(Safetensors, TruncatedFilesFail) {
  std::string file;
  ASSERT_EQ(encodeSafetensors(someTensors(), {{"a", "b"}}, file), "");
  for (size_t size = 0; size < file.size(); ++size)
    EXPECT_NE(decodeError(file.substr(0, size)), "") << size;
  EXPECT_NE(decodeError(file.substr(0, 5)).find("too short"),
            std::string::npos);
  EXPECT_NE(decodeError(file.substr(0, file.size() - 1)).find("past the"),
            std::string::npos);
  // Extra bytes at the end belong to no tensor either.
  EXPECT_NE(decodeError(file + "x").find("cover only"), std::string::npos);
}

TEST(Safetensors, BadHeaderLengths) {
  std::string valid = makeFile(
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "xy");
  auto withLength = [&](uint64_t n) {
    std::string file = valid;
    for (int k = 0; k < 8; ++k)
      file[k] = static_cast<char>((n >> (8 * k)) & 0xff);
    return decodeError(file);
  };
  EXPECT_EQ(decodeError(valid), "");
  EXPECT_NE(withLength(~0ULL).find("exceeds the limit"), std::string::npos);
  EXPECT_NE(withLength(kSafetensorsMaxHeaderBytes + 1).find("limit"),
            std::string::npos);
  EXPECT_NE(withLength(valid.size()).find("runs past the end"),
            std::string::npos);
  EXPECT_NE(withLength(0).find("must start with '{'"), std::string::npos);
  EXPECT_NE(withLength(10), ""); // cuts the JSON short
}

TEST(Safetensors, BadOffsets) {
  auto tensorEntry = [](const char *name, const char *dtype, const char *shape,
                        const char *offsets) {
    return std::string("\"") + name + "\":{\"dtype\":\"" + dtype +
           "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  };
  // Past the end of the data.
  EXPECT_NE(decodeError(
                makeFile("{" + tensorEntry("a", "F32", "[25]", "[0,100]") + "}",
                         std::string(24, '\0')))
                .find("past the 24-byte data section"),
            std::string::npos);
  // Overlapping.
  EXPECT_NE(
      decodeError(makeFile("{" + tensorEntry("a", "F32", "[2]", "[0,8]") + "," +
                               tensorEntry("b", "F32", "[2]", "[4,12]") + "}",
                           std::string(12, '\0')))
          .find("overlaps tensor 'a'"),
      std::string::npos);
  // The same range twice.
  EXPECT_NE(
      decodeError(makeFile("{" + tensorEntry("a", "F32", "[2]", "[0,8]") + "," +
                               tensorEntry("b", "F32", "[2]", "[0,8]") + "}",
                           std::string(8, '\0')))
          .find("overlaps"),
      std::string::npos);
  // A gap.
  EXPECT_NE(
      decodeError(makeFile("{" + tensorEntry("a", "F32", "[2]", "[0,8]") + "," +
                               tensorEntry("b", "F32", "[2]", "[12,20]") + "}",
                           std::string(20, '\0')))
          .find("belong to no tensor"),
      std::string::npos);
  // End before begin.
  EXPECT_NE(
      decodeError(makeFile("{" + tensorEntry("a", "F32", "[0]", "[8,0]") + "}",
                           std::string(8, '\0')))
          .find("end before they begin"),
      std::string::npos);
  // Shape and offsets disagree.
  EXPECT_NE(
      decodeError(makeFile("{" + tensorEntry("a", "F32", "[3]", "[0,8]") + "}",
                           std::string(8, '\0')))
          .find("need 12 bytes"),
      std::string::npos);
  // A shape whose byte size overflows 64 bits.
  EXPECT_NE(
      decodeError(makeFile("{" +
                               tensorEntry("a", "F32",
                                           "[4294967296,4294967296]", "[0,8]") +
                               "}",
                           std::string(8, '\0')))
          .find("overflows"),
      std::string::npos);
  // Unknown dtype.
  EXPECT_NE(
      decodeError(makeFile("{" + tensorEntry("a", "F33", "[2]", "[0,8]") + "}",
                           std::string(8, '\0')))
          .find("unknown dtype 'F33'"),
      std::string::npos);
}

TEST(Safetensors, BadJson) {
  const std::string good = R"("dtype":"U8","shape":[1],"data_offsets":[0,1])";
  struct Case {
    std::string header, expected;
  };
  std::vector<Case> cases = {
      {"", "must start with '{'"},
      {" {}", "must start with '{'"},
      {"{", "expected a string"},
      {"{\"a\":{" + good + "}", "expected ',' or '}'"},
      {"{\"a\":{" + good + "},}", "expected a string"},
      {"{a:{" + good + "}}", "expected a string"},
      {"{\"a\" {" + good + "}}", "expected ':'"},
      {"{\"a\":{" + good + "},\"a\":{" + good + "}}", "duplicate key 'a'"},
      {"{\"a\":{" + good + ",\"dtype\":\"U8\"}}", "duplicate key 'dtype'"},
      {"{\"a\":{" + good + ",\"extra\":1}}", "unknown key 'extra'"},
      {R"({"a":{"dtype":"U8","shape":[1]}})", "needs dtype, shape"},
      {R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "negative"},
      {R"({"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}})",
       "must be an integer"},
      {R"({"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}})",
       "must be an integer"},
      {R"({"a":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}})",
       "leading zero"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})",
       "must be [begin, end]"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,)"
       R"(99999999999999999999]}})",
       "overflows 64 bits"},
      {R"({"a":{"dtype":8,"shape":[1],"data_offsets":[0,1]}})",
       "expected a string"},
      {R"({"a":{"dtype":"U8","shape":1,"data_offsets":[0,1]}})",
       "expected '['"},
      {R"({"a":{"dtype":"U8","shape":[1,],"data_offsets":[0,1]}})",
       "expected an integer"},
      {R"({"__metadata__":{"k":1}})", "must be a string"},
      {R"({"__metadata__":{"k":"v","k":"w"}})", "duplicate metadata key"},
      {R"({"__metadata__":[]})", "expected '{'"},
      {"{\"a\":{" + good + "}} x", "unexpected bytes after"},
      {"{\"a\xff\":{" + good + "}}", "invalid UTF-8"},
      {"{\"a\xc0\x80\":{" + good + "}}", "invalid UTF-8"},
      {"{\"a\xed\xa0\x80\":{" + good + "}}", "invalid UTF-8"},
      {"{\"a\n\":{" + good + "}}", "control character"},
      {R"({"a\q":{)" + good + "}}", "invalid escape"},
      {R"({"a\u12":{)" + good + "}}", "\\u escape"},
      {R"({"a\ud800":{)" + good + "}}", "lone leading surrogate"},
      {R"({"a\udc00":{)" + good + "}}", "lone trailing surrogate"},
      {R"({"a\ud800\u0041":{)" + good + "}}", "not followed by a trailing"},
      {"{\"a", "unterminated string"},
  };
  for (const Case &c : cases) {
    std::string error = decodeError(makeFile(c.header, "x"));
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "header: " << c.header << "\nerror: " << error;
    EXPECT_EQ(error.rfind("safetensors: ", 0), 0u) << error;
  }
}

// Random byte flips and random lengths over a valid file: the reader may
// accept a flip that keeps the file valid (a data byte), but never crashes
// or reads out of bounds (run under ASan/UBSan to check the latter).
TEST(Safetensors, CorruptedFilesNeverCrash) {
  std::string valid;
  ASSERT_EQ(encodeSafetensors(someTensors(), {{"k", "v"}}, valid), "");
  uint64_t state = 12345;
  auto next = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string file = valid;
    int flips = 1 + next() % 4;
    for (int f = 0; f < flips; ++f)
      file[next() % file.size()] = static_cast<char>(next());
    if (trial % 3 == 0)
      file.resize(next() % (file.size() + 1));
    std::vector<SafetensorsTensor> tensors;
    std::map<std::string, std::string> metadata;
    if (!decodeSafetensors(file, tensors, metadata).empty())
      ++rejected;
  }
  EXPECT_GT(rejected, 1000);
}

// When the reference implementation is installed, it must read our file
// (names, shapes and bytes). Skipped where `import safetensors` fails.
TEST(Safetensors, ReferenceImplementationReadsOurFile) {
  if (std::system("python3 -c 'import safetensors' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 safetensors is not installed";
  TempDir dir;
  std::string path = dir.path + "/ours.safetensors";
  std::vector<SafetensorsTensor> tensors = someTensors();
  ASSERT_EQ(writeSafetensors(path, tensors, {{"format", "pt"}}), "");
  std::string script = dir.path + "/check.py";
  std::ofstream(script)
      << "import sys\n"
         "from safetensors import deserialize\n"
         "for name, t in sorted(deserialize(open(sys.argv[1], 'rb').read())):\n"
         "    shape = ','.join(str(d) for d in t['shape'])\n"
         "    print(name, '[' + shape + ']', bytes(t['data']).hex())\n";
  std::string listing = dir.path + "/listing.txt";
  ASSERT_EQ(std::system(
                ("python3 '" + script + "' '" + path + "' > '" + listing + "'")
                    .c_str()),
            0);
  std::sort(tensors.begin(), tensors.end(),
            [](const auto &a, const auto &b) { return a.name < b.name; });
  std::string expected;
  for (const auto &t : tensors) {
    expected += t.name + " [";
    for (size_t d = 0; d < t.shape.size(); ++d)
      expected += (d ? "," : "") + std::to_string(t.shape[d]);
    expected += "] ";
    for (uint8_t b : t.bytes) {
      char hex[3];
      std::snprintf(hex, sizeof(hex), "%02x", b);
      expected += hex;
    }
    expected += "\n";
  }
  EXPECT_EQ(readFile(listing), expected);
}
